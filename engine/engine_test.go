package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
	"github.com/ramp-deploy/ramp/strategies"
)

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
}

func (r *recorder) sink(e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// types lists the event types, without warnings.
func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type() != "warning" {
			out = append(out, e.Type())
		}
	}
	return out
}

// warnings joins the warning messages.
func (r *recorder) warnings() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if w, ok := e.(*engine.Warning); ok {
			out = append(out, w.Message)
		}
	}
	return strings.Join(out, "\n")
}

func newEngine(p *providertest.Platform, rec *recorder) *engine.Engine {
	f := providertest.Fake{P: p}
	return &engine.Engine{
		Provider: f,
		Service:  "web",
		Metrics: gates.Metrics{Source: f, Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true, Latency: true},
			Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 10}}},
		Limits:           gates.Limits{Failures: 2, Errors: 3},
		ProgressDeadline: time.Minute,
		RollbackWindow:   10 * time.Minute,
		Retry:            engine.DefaultBackoff,
		Events:           rec.sink,
	}
}

func canaryPlan(t *testing.T, steps string) strategies.Plan {
	t.Helper()
	ts, err := strategies.ParseSteps(steps)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: ts, Interval: 10 * time.Second, FailureThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

var art = providers.Artifact{Image: "app:v2", Revision: "v2"}

// healthy sends 50 requests a second to the service, which rev answers as
// the stable does: in 20ms, failing none.
func healthy(p *providertest.Platform, rev string) {
	p.SetTraffic(50)
	p.SetHealth(rev, providertest.Health{LatencyMS: 20})
	if st := p.Snapshot(); st.Stable != nil {
		p.SetHealth(st.Stable.ID, providertest.Health{LatencyMS: 20})
	}
}

func TestDeployPromotes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		rec := &recorder{}
		start := time.Now()
		res := newEngine(p, rec).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome = %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if got, want := time.Since(start), 20*time.Second; got != want {
			t.Errorf("took %s, want %s (two holds of one interval)", got, want)
		}
		st := p.Snapshot()
		if st.Stable.ID != "v2" || st.Previous.ID != "v1" || st.Rollout.Phase != providers.PhasePromoted {
			t.Errorf("after promotion: stable %v previous %v phase %s", st.Stable, st.Previous, st.Rollout.Phase)
		}
		var shifts []string
		for _, c := range p.Calls() {
			if strings.HasPrefix(c, "Apply shift") || strings.HasPrefix(c, "Apply promote") {
				shifts = append(shifts, c)
			}
		}
		if diff := cmp.Diff([]string{"Apply shift v2 to 10% progressing", "Apply shift v2 to 50% progressing", "Apply promote v2 promoted"}, shifts); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})
}

func TestGateFailureAtStepRollsBack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		failAt int
		judge  bool
		want   []string
	}{
		{10, false, []string{"guardrail", "error-rate", "20%", "≤ 1%", "2 times in a row"}},
		{50, false, []string{"guardrail", "error-rate", "20%", "≤ 1%", "2 times in a row"}},
		{10, true, []string{"worse than the stable", "error-rate: evidence against the candidate", "candidate 10/50 errors, stable 0/450"}},
		{50, true, []string{"worse than the stable", "candidate 50/300 errors, stable 0/700"}},
	} {
		t.Run(fmt.Sprintf("at %d%% judge %v", c.failAt, c.judge), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				e := newEngine(p, &recorder{})
				if !c.judge {
					e.Metrics.Judge = nil
				}
				p.OnCall("Observe", func() {
					if p.Snapshot().Weight == c.failAt {
						p.SetHealth("v2", providertest.Health{ErrorRate: 0.2})
					}
				})
				res := e.Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != engine.OutcomeRolledBack || res.Verdict != gates.VerdictRollback {
					t.Fatalf("outcome = %s verdict %s (%s), want rolled_back", res.Outcome, res.Verdict, res.Reason)
				}
				for _, want := range c.want {
					if !strings.Contains(res.Reason, want) {
						t.Errorf("reason %q lacks %q", res.Reason, want)
					}
				}
				st := p.Snapshot()
				if st.Candidate != nil || st.Weight != 0 || st.Stable.ID != "v1" || st.Rollout.Phase != providers.PhaseRolledBack {
					t.Errorf("after rollback: %+v", st)
				}
			})
		})
	}
}

func TestCancelMidHold(t *testing.T) {
	t.Parallel()
	for _, leave := range []bool{false, true} {
		t.Run(fmt.Sprintf("leave=%v", leave), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				e := newEngine(p, &recorder{})
				e.LeaveOnCancel = leave
				ctx, cancel := context.WithCancelCause(t.Context())
				p.OnCall("Observe", func() {
					if p.Snapshot().Weight == 50 {
						cancel(errors.New("SIGTERM"))
					}
				})
				res := e.Deploy(ctx, canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != engine.OutcomeCancelled {
					t.Fatalf("outcome = %s, want cancelled", res.Outcome)
				}
				st := p.Snapshot()
				wantWeight, wantPhase := 0, providers.PhaseRolledBack
				if leave {
					wantWeight, wantPhase = 50, providers.PhaseCancelled
				}
				if st.Weight != wantWeight || st.Rollout.Phase != wantPhase {
					t.Errorf("weight %d phase %s, want %d %s", st.Weight, st.Rollout.Phase, wantWeight, wantPhase)
				}
				if !strings.Contains(st.Rollout.Reason, "SIGTERM") {
					t.Errorf("recorded reason %q does not name the cause", st.Rollout.Reason)
				}
			})
		})
	}
}

func TestPauseThenResumeFromAnotherProcess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		plan := canaryPlan(t, "10,50,100")
		plan.Steps[3].Hold = time.Minute
		other := newEngine(p, &recorder{}) // a second process sharing the service
		paused := false
		p.OnCall("Observe", func() {
			if p.Snapshot().Weight == 50 && !paused {
				paused = true
				go other.Pause(context.Background(), "paused by alice")
			}
		})
		res := newEngine(p, &recorder{}).Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePaused || res.Reason != "paused by alice" {
			t.Fatalf("outcome = %s (%s), want paused by alice", res.Outcome, res.Reason)
		}
		synctest.Wait()
		if st := p.Snapshot(); st.Weight != 50 || st.Rollout.Phase != providers.PhasePaused {
			t.Fatalf("paused at weight %d phase %s, want 50 paused", st.Weight, st.Rollout.Phase)
		}
		time.Sleep(3 * time.Hour) // the paused rollout outlives the process
		res = newEngine(p, &recorder{}).Resume(t.Context(), plan)
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("resume: outcome = %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if st := p.Snapshot(); st.Stable.ID != "v2" {
			t.Errorf("stable = %s, want v2", st.Stable.ID)
		}
	})
}

func TestPauseStepThenPromoteFromAnotherProcess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,pause,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePaused {
			t.Fatalf("outcome = %s, want paused", res.Outcome)
		}
		rec := &recorder{}
		res = newEngine(p, rec).Promote(t.Context(), "promoted by bob")
		if res.Outcome != engine.OutcomePromoted || res.Stable != "v2" {
			t.Fatalf("promote: %s stable %s (%s)", res.Outcome, res.Stable, res.Reason)
		}
		if st := p.Snapshot(); st.Stable.ID != "v2" || st.Rollout.Phase != providers.PhasePromoted || st.Rollout.Reason != "promoted by bob" {
			t.Errorf("after promote: %+v", st)
		}
		if diff := cmp.Diff([]string{"promoted", "finished"}, rec.types()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestProviderErrorWhileShifting(t *testing.T) {
	t.Parallel()
	transient := errors.New("503 backend unavailable")
	cases := []struct {
		name    string
		fails   []error
		outcome engine.Outcome
	}{
		{"retried then shifted", []error{transient, transient}, engine.OutcomePromoted},
		{"retries exhausted then rolled back", []error{transient, transient, transient, transient, transient}, engine.OutcomeRolledBack},
		{"permanent error rolls back at once", []error{fmt.Errorf("quota: %w", providers.ErrPermission)}, engine.OutcomeRolledBack},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				p.FailNext("Apply shift", c.fails...)
				res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome {
					t.Fatalf("outcome = %s (%s), want %s", res.Outcome, res.Reason, c.outcome)
				}
				if c.outcome == engine.OutcomeRolledBack && !strings.Contains(res.Reason, "could not shift to 10%") {
					t.Errorf("reason %q does not say the shift failed", res.Reason)
				}
			})
		})
	}
}

func TestFirstDeploySkipsTrafficSteps(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "")
		rec := &recorder{}
		res := newEngine(p, rec).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
		}
		for _, c := range p.Calls() {
			if strings.HasPrefix(c, "Apply shift") {
				t.Errorf("first deploy shifted traffic: %s", c)
			}
		}
		started := rec.events[0].(*engine.Started)
		if !started.FirstDeploy {
			t.Error("Started.FirstDeploy = false; the user is not told")
		}
	})
}

func TestRollbackAfterPromotionInsideWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		e := newEngine(p, &recorder{})
		if res := e.Deploy(t.Context(), canaryPlan(t, "100"), art, providers.Rollout{ID: "r1"}); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("deploy: %s (%s)", res.Outcome, res.Reason)
		}
		time.Sleep(5 * time.Minute)
		res := e.Rollback(t.Context(), "rolled back by carol")
		if res.Outcome != engine.OutcomeRolledBack || res.Stable != "v1" {
			t.Fatalf("rollback: %s stable %s (%s)", res.Outcome, res.Stable, res.Reason)
		}
		if st := p.Snapshot(); st.Stable.ID != "v1" {
			t.Errorf("stable %s, want v1 back", st.Stable.ID)
		}
		if res := e.Rollback(t.Context(), "again"); res.Outcome != engine.OutcomeFailed || !errors.Is(res.Err, providers.ErrNoCandidate) {
			t.Errorf("second rollback: %s %v, want failed with ErrNoCandidate", res.Outcome, res.Err)
		}
	})
}

func TestEveryStepKindRuns(t *testing.T) {
	t.Parallel()
	for _, kind := range strategies.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				steps := map[strategies.Kind][]strategies.Step{
					strategies.KindShift:   {{Kind: strategies.KindShift, Weight: 30}},
					strategies.KindReplace: {{Kind: strategies.KindReplace, Weight: 50, Instances: 1, Surge: 1}},
					strategies.KindAnalyze: {{Kind: strategies.KindShift, Weight: 30}, {Kind: strategies.KindAnalyze, Weight: 30, Hold: time.Minute}},
					strategies.KindPause:   {{Kind: strategies.KindPause}},
					strategies.KindPromote: nil,
					strategies.KindBake:    nil,
				}[kind]
				steps = append(steps, strategies.Step{Kind: strategies.KindPromote, Weight: 100}, strategies.Step{Kind: strategies.KindBake, Weight: 100, Hold: time.Minute})
				plan := strategies.Plan{Strategy: "test", Steps: steps, Interval: 10 * time.Second, FailureThreshold: 1}
				if err := plan.Validate(); err != nil {
					t.Fatal(err)
				}
				e := newEngine(p, &recorder{})
				if kind == strategies.KindReplace {
					e.Provider = providertest.Replacing{Fake: providertest.Fake{P: p.WithInstances(2)}}
				}
				e.WaitBake = true
				res := e.Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
				want := engine.OutcomePromoted
				if kind == strategies.KindPause {
					want = engine.OutcomePaused
				}
				if res.Outcome != want {
					t.Errorf("outcome %s (%s), want %s", res.Outcome, res.Reason, want)
				}
			})
		})
	}
}

// TestCallsPerStep pins the provider calls of a rollout: a step with one
// poll costs one Apply (the shift and its record) and one Status, so a
// cloud provider stays within three API calls a step.
func TestCallsPerStep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		var calls []string
		for _, c := range p.Calls() {
			if !strings.HasPrefix(c, "Observe") {
				calls = append(calls, c)
			}
		}
		want := []string{
			"Status", "Apply record the rollout progressing", "Deploy app:v2", "Apply record the rollout progressing",
			"Apply shift v2 to 10% progressing", "Status",
			"Apply shift v2 to 50% progressing", "Status",
			"Status", "Apply promote v2 promoted",
		}
		if diff := cmp.Diff(want, calls); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})
}

func TestSplitChangedElsewhereIsSetAgain(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		plan := canaryPlan(t, "50,100")
		plan.Steps[1].Hold = 30 * time.Second
		edited := false
		p.OnCall("Observe", func() {
			if !edited {
				edited = true
				go p.SetWeight(5) // someone else's edit
			}
		})
		rec := &recorder{}
		res := newEngine(p, rec).Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
		}
		var setAgain bool
		for _, e := range rec.events {
			if w, ok := e.(*engine.Warning); ok && strings.Contains(w.Message, "reports 5% to the candidate, not the 50%") {
				setAgain = true
			}
		}
		if !setAgain {
			t.Error("no warning that the split was corrected")
		}
		if n := strings.Count(strings.Join(p.Calls(), "\n"), "Apply shift v2 to 50%"); n != 2 {
			t.Errorf("shift to 50%% made %d times, want 2 (the shift and the correction)", n)
		}
	})
}
