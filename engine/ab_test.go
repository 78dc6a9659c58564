package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
	"github.com/ramp-deploy/ramp/strategies"
)

func abPlan(t *testing.T, onFinish string) strategies.Plan {
	t.Helper()
	p, err := strategies.New(strategies.Spec{Strategy: strategies.AB, Match: []string{"header:X-Variant=b"}, ABWeight: 50,
		Duration: 10 * time.Minute, OnFinish: onFinish, Interval: time.Minute, FailureThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestABTestConcludes runs A/B tests for their duration on a platform
// that routes by request and checks what on-finish makes of the
// comparison: a winning candidate promoted, a winning stable or on-finish
// rollback rolled back, and no difference, or keep, paused with both
// variants serving and the routing in place.
func TestABTestConcludes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name             string
		onFinish         string
		candErr, stabErr float64
		outcome          engine.Outcome
		winner, reason   string
	}{
		{"candidate wins", strategies.OnFinishPromoteWinner, 0, 0.05, engine.OutcomePromoted, gates.VariantCandidate, "the candidate wins: error-rate"},
		{"stable wins", strategies.OnFinishPromoteWinner, 0.05, 0, engine.OutcomeRolledBack, gates.VariantStable, "the stable wins: error-rate"},
		{"no winner", strategies.OnFinishPromoteWinner, 0.01, 0.01, engine.OutcomePaused, "", "no difference found"},
		{"keep", strategies.OnFinishKeep, 0, 0.05, engine.OutcomePaused, gates.VariantCandidate, "on-finish keep"},
		{"rollback", strategies.OnFinishRollback, 0, 0.05, engine.OutcomeRolledBack, gates.VariantCandidate, "on-finish rollback"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				p.SetTraffic(50)
				p.SetHealth("v1", providertest.Health{ErrorRate: c.stabErr, LatencyMS: 20})
				p.SetHealth("v2", providertest.Health{ErrorRate: c.candErr, LatencyMS: 20})
				rec := &recorder{}
				e := newEngine(p, rec)
				e.Provider = providertest.Routing{Fake: providertest.Fake{P: p}}
				e.Metrics = gates.Metrics{Source: providertest.Fake{P: p}, AB: &gates.ABSpec{Alpha: 0.01, Errors: true, Latency: true}}
				start := time.Now()
				res := e.Deploy(t.Context(), abPlan(t, c.onFinish), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome || !strings.Contains(res.Reason, c.reason) {
					t.Fatalf("outcome %s (%s), want %s saying %q", res.Outcome, res.Reason, c.outcome, c.reason)
				}
				if took := time.Since(start); took < 10*time.Minute {
					t.Errorf("concluded after %s, before the 10m duration", took)
				}
				if res.AB == nil || res.AB.Winner != c.winner {
					t.Fatalf("result's verdict %+v, want winner %q", res.AB, c.winner)
				}
				if !slices.Contains(p.Calls(), "Apply shift v2 to 50% (header:X-Variant=b, sticky) progressing") {
					t.Errorf("no shift with the routing among the calls:\n%s", strings.Join(p.Calls(), "\n"))
				}
				st := p.Snapshot()
				if c.outcome == engine.OutcomePaused && (st.Weight != 50 || st.Routing.Empty() || st.Rollout.Phase != providers.PhasePaused) {
					t.Errorf("a kept test: weight %d routing %v phase %s; want 50%%, routed, paused", st.Weight, st.Routing, st.Rollout.Phase)
				}
				if c.outcome != engine.OutcomePaused && (st.Candidate != nil || st.Routing != nil) {
					t.Errorf("an ended test left candidate %v, routing %v", st.Candidate, st.Routing)
				}
			})
		})
	}
}

// TestABRefusedWithoutRequestRouting: a provider that cannot route by
// request is refused before anything is deployed.
func TestABRefusedWithoutRequestRouting(t *testing.T) {
	t.Parallel()
	p := providertest.NewPlatform("http://svc", "v1")
	res := newEngine(p, &recorder{}).Deploy(t.Context(), abPlan(t, ""), art, providers.Rollout{ID: "r1"})
	if res.Outcome != engine.OutcomeFailed || !errors.Is(res.Err, providers.ErrInvalid) || !strings.Contains(res.Reason, "cannot route by request") {
		t.Fatalf("outcome %s (%v), want an invalid-input failure", res.Outcome, res.Err)
	}
	if calls := p.Calls(); len(calls) != 0 {
		t.Errorf("calls made: %q", calls)
	}
}
