package engine_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// TestLowTrafficIsInconclusiveNotADeadline: the judge does not hold a
// canary that sees almost no traffic until the progress deadline: each step
// ends on time, inconclusive, and on-inconclusive decides.
func TestLowTrafficIsInconclusiveNotADeadline(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		policy  string
		outcome engine.Outcome
		reason  string
	}{
		{"", engine.OutcomePromoted, "promoted without evidence: 0 errors seen"},
		{"promote", engine.OutcomePromoted, "promoted without evidence: 0 errors seen"},
		{"hold", engine.OutcomePaused, "on-inconclusive is hold"},
		{"rollback", engine.OutcomeRolledBack, "on-inconclusive is rollback"},
	} {
		t.Run(c.policy, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				p.SetTraffic(1)
				rec := &recorder{}
				e := newEngine(p, rec)
				e.Metrics.OnInconclusive, e.Metrics.Guardrails = c.policy, nil
				start := time.Now()
				res := e.Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome || !strings.Contains(res.Reason, c.reason) || res.Verdict != gates.VerdictInconclusive {
					t.Fatalf("outcome %s verdict %s (%s), want %s saying %q", res.Outcome, res.Verdict, res.Reason, c.outcome, c.reason)
				}
				if got := time.Since(start); got != 20*time.Second {
					t.Errorf("took %s, want the two 10s holds", got)
				}
				if c.outcome == engine.OutcomePaused && p.Snapshot().Weight != 50 {
					t.Errorf("held at %d%%, want 50%%", p.Snapshot().Weight)
				}
			})
		})
	}
}

// TestGuardrailWithoutDataHoldsTheStep: a guardrail must judge once per
// step; its windows pool until they hold min-requests, and a step that
// never gets there rolls back at the progress deadline, saying why.
func TestGuardrailWithoutDataHoldsTheStep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		p.SetTraffic(1) // one candidate request per 10s window at 10%
		rec := &recorder{}
		e := newEngine(p, rec)
		e.Metrics.Judge = nil
		start := time.Now()
		res := e.Deploy(t.Context(), canaryPlan(t, "10,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeRolledBack || !strings.Contains(res.Reason, "progress-deadline") ||
			!strings.Contains(res.Reason, "6 requests over 6 windows, a verdict needs 10") {
			t.Fatalf("outcome %s (%s), want a rollback naming the deadline and the pooled requests", res.Outcome, res.Reason)
		}
		if got := time.Since(start); got != time.Minute {
			t.Errorf("failed after %s, want the 1m progress deadline", got)
		}
		if !slices.Contains(rec.types(), "holding") {
			t.Error("no holding event: the user is not told why the step waits")
		}
		p.SetTraffic(10) // ten a window: the second window completes the pool
		res = newEngine(p, rec).Deploy(t.Context(), canaryPlan(t, "10,100"), providers.Artifact{Image: "app:v3", Revision: "v3"},
			providers.Rollout{ID: "r2"})
		if res.Outcome != engine.OutcomePromoted {
			t.Errorf("with 10 requests a window: %s (%s), want promoted", res.Outcome, res.Reason)
		}
	})
}

// TestPromotedWithEvidence: enough errors split as the traffic is show the
// candidate no worse, and the promotion says so.
func TestPromotedWithEvidence(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		p.SetTraffic(1000)
		p.SetHealth("v1", providertest.Health{ErrorRate: 0.02, LatencyMS: 40})
		p.SetHealth("v2", providertest.Health{ErrorRate: 0.02, LatencyMS: 40})
		rec := &recorder{}
		plan := canaryPlan(t, "10,50,100")
		plan.Steps[3].Hold = time.Minute
		res := newEngine(p, rec).Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted || res.Verdict != gates.VerdictPromote ||
			!strings.Contains(res.Reason, "promoted with evidence: error-rate") {
			t.Fatalf("outcome %s verdict %s (%s), want promoted with evidence", res.Outcome, res.Verdict, res.Reason)
		}
		if res.Evidence == nil || res.Evidence.Errors.For < 100 || res.Evidence.Windows != 7 {
			t.Errorf("evidence %+v, want at least 100 for the candidate over 7 windows", res.Evidence)
		}
		judged := 0
		for _, ty := range rec.types() {
			if ty == "judged" {
				judged++
			}
		}
		if judged != 7 {
			t.Errorf("%d judged events, want one per window (7)", judged)
		}
	})
}

// TestSharedIncidentDoesNotRollBack: both versions failing alike is not the
// candidate's fault, for the judge and for the guardrail.
func TestSharedIncidentDoesNotRollBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		p.SetTraffic(50)
		for _, v := range []string{"v1", "v2"} {
			p.SetHealth(v, providertest.Health{ErrorRate: 0.1})
		}
		res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
	})
}

func TestMetricErrorsAreToleratedUpToTheLimit(t *testing.T) {
	t.Parallel()
	outage := errors.New("metrics backend timeout")
	for _, c := range []struct {
		errs    int
		outcome engine.Outcome
	}{{2, engine.OutcomePromoted}, {3, engine.OutcomeRolledBack}} {
		t.Run(fmt.Sprint(c.errs), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				fails := make([]error, c.errs)
				for i := range fails {
					fails[i] = outage
				}
				p.FailNext("Observe", fails...)
				res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome {
					t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, c.outcome)
				}
			})
		})
	}
}
