package cloudrun

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// stepGate passes, or fails once the candidate holds failAt percent.
type stepGate struct{ failAt int }

func (g stepGate) Name() string { return "probe" }

func (g stepGate) Check(_ context.Context, t gates.Target) gates.Result {
	r := gates.Result{Gate: "probe", Outcome: gates.Successful, Value: 100, Unit: "%", Threshold: ">= 99", Samples: 10}
	if g.failAt > 0 && t.Weight >= g.failAt {
		r.Outcome, r.Value = gates.Failed, 40
	}
	return r
}

// callCounter records the Admin API calls made during each shift-and-check
// pair of steps, from one shift to the next (or to the promotion).
type callCounter struct {
	mu     sync.Mutex
	admin  *fakeAdmin
	start  int
	open   bool
	counts []int
}

func (c *callCounter) sink(ev engine.Event) {
	s, ok := ev.(*engine.StepStarted)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.admin.adminCalls()
	if c.open && (s.Step.Kind == strategies.KindShift || s.Step.Kind == strategies.KindPromote) {
		c.counts = append(c.counts, now-c.start)
		c.open = false
	}
	if s.Step.Kind == strategies.KindShift {
		c.start, c.open = now, true
	}
}

// TestEngineAgainstTheFake runs the real engine over the real Google client
// and the fake Admin API: a canary to promotion costing at most three Admin
// API calls a step, and a gate failure rolled back.
func TestEngineAgainstTheFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failAt  int
		outcome engine.Outcome
	}{
		{"promoted", 0, engine.OutcomePromoted},
		{"rolled back at 50%", 50, engine.OutcomeRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			stable := env.stable()
			p := env.provider(t)
			counter := &callCounter{admin: env.admin}
			e := &engine.Engine{Provider: p, Service: "api", Gates: []gates.Gate{stepGate{failAt: tc.failAt}},
				Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: time.Minute, RollbackWindow: time.Hour,
				Retry: engine.Backoff{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond}, Events: counter.sink}
			plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: []strategies.Target{{Weight: 10}, {Weight: 50}, {Weight: 100}},
				Interval: 100 * time.Millisecond, FailureThreshold: 1})
			if err != nil {
				t.Fatal(err)
			}
			res := e.Deploy(t.Context(), plan, providers.Artifact{Image: nextImage, Revision: "c0ffee1"},
				providers.Rollout{ID: "r1", Commit: "c0ffee1"})
			if res.Outcome != tc.outcome {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
			}
			st, err := p.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			switch tc.outcome {
			case engine.OutcomePromoted:
				if st.Stable == nil || st.Stable.ID != "api-c0ffee1" || st.Weight != 0 || st.Rollout.Phase != providers.PhasePromoted {
					t.Errorf("after promotion: %+v", st)
				}
			case engine.OutcomeRolledBack:
				if st.Stable == nil || st.Stable.ID != stable || st.Candidate != nil || st.Rollout.Phase != providers.PhaseRolledBack {
					t.Errorf("after rollback: %+v", st)
				}
			}
			if len(counter.counts) == 0 {
				t.Fatal("no step was counted")
			}
			for i, n := range counter.counts {
				if n > 3 {
					t.Errorf("step %d cost %d Admin API calls, want at most 3", i+1, n)
				}
			}
			t.Logf("Admin API calls per step: %v", counter.counts)
		})
	}
}
