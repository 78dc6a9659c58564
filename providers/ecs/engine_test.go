package ecs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
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

// callCounter records the AWS calls (ECS, ELBv2 and CloudWatch together)
// made during each step of the plan, from the start of one step to the
// start of the next (or the end of the run), and before the first step as
// "deploy".
type callCounter struct {
	mu     sync.Mutex
	w      *fake.World
	start  int
	step   string
	counts []string
	calls  map[string]int // the calls of the step counted now, by operation
	detail []string
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func (c *callCounter) sink(ev engine.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s := ev.(type) {
	case *engine.StepStarted:
		c.close()
		c.calls, c.step = c.w.Calls(), fmt.Sprintf("%s %d", s.Step.Kind, s.Step.Weight)
	case *engine.Finished:
		c.close()
	}
}

func (c *callCounter) close() {
	if c.step != "" {
		now := c.w.Calls()
		var ops []string
		for op, n := range now {
			if d := n - c.calls[op]; d > 0 {
				ops = append(ops, fmt.Sprintf("%s×%d", op, d))
			}
		}
		c.counts = append(c.counts, fmt.Sprintf("%s: %d", c.step, total(now)-total(c.calls)))
		c.detail = append(c.detail, fmt.Sprintf("%s: %v", c.step, ops))
	}
	c.step = ""
}

// canary is a canary plan through weights, checking every minute and
// holding each step for hold (a minute when zero).
func canary(t *testing.T, hold time.Duration, weights ...int) strategies.Plan {
	t.Helper()
	var steps []strategies.Target
	for _, w := range weights {
		steps = append(steps, strategies.Target{Weight: w})
	}
	spec := strategies.Spec{Strategy: "canary", Steps: steps, Interval: time.Minute, FailureThreshold: 1}
	if hold > 0 {
		spec.Holds = []time.Duration{hold}
	}
	plan, err := strategies.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestEngineAgainstTheFake runs the real engine over the real SDK clients
// and the fake: a canary to promotion, and a probe failure rolled back,
// each step's AWS calls pinned. A check is two reads (the service with
// its tags, the listener). A shift makes no read (the check's is a moment
// old): its intent and its outcome are three calls each (the claim, its
// check, the head; see writeState) around one ModifyListener, and every
// few writes one UntagResource sweeps the stale tags. A promotion also
// swaps the primary task set; a rollback deletes the candidate's.
func TestEngineAgainstTheFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failAt  int
		outcome engine.Outcome
		calls   []string
	}{
		{"promoted", 0, engine.OutcomePromoted,
			[]string{"shift 10: 4", "analyze 10: 2", "shift 50: 4", "analyze 50: 2", "promote 100: 10"}},
		{"rolled back at 50%", 50, engine.OutcomeRolledBack,
			[]string{"shift 10: 4", "analyze 10: 2", "shift 50: 4", "analyze 50: 11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				counter := &callCounter{w: e.w}
				eng := &engine.Engine{Provider: p, Service: "web", Gates: []gates.Gate{stepGate{failAt: tc.failAt}},
					Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute, RollbackWindow: time.Hour,
					Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second}, Events: counter.sink}
				res := eng.Deploy(t.Context(), canary(t, 0, 10, 50, 100), providers.Artifact{Image: nextImage, Revision: "c0ffee1"},
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
					if st.Stable == nil || st.Stable.ID != "c0ffee1" || st.Candidate != nil || st.Previous == nil || e.weights() != [2]int{0, 100} {
						t.Errorf("after promotion: %+v, weights %v", st, e.weights())
					}
				case engine.OutcomeRolledBack:
					if st.Stable == nil || st.Candidate != nil || st.Rollout.Phase != providers.PhaseRolledBack || e.weights() != [2]int{100, 0} {
						t.Errorf("after rollback: %+v, weights %v", st, e.weights())
					}
				}
				if diff := cmp.Diff(tc.calls, counter.counts); diff != "" {
					t.Errorf("AWS calls per step (-want +got):\n%s\n%s", diff, strings.Join(counter.detail, "\n"))
				}
			})
		})
	}
}
