package cloudrun

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
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

// callCounter records the Admin API calls made during each step of the
// plan, from the start of one step to the start of the next (or the end
// of the run), and before the first step as "deploy".
type callCounter struct {
	mu     sync.Mutex
	admin  *fake.Admin
	start  int
	step   string   // the step counted now, e.g. "shift 10"
	counts []string // "<step>: <calls>"
}

func (c *callCounter) sink(ev engine.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s := ev.(type) {
	case *engine.StepStarted:
		c.close()
		c.start, c.step = c.admin.AdminCalls(), fmt.Sprintf("%s %d", s.Step.Kind, s.Step.Weight)
	case *engine.Finished:
		c.close()
	}
}

func (c *callCounter) close() {
	if c.step != "" {
		c.counts = append(c.counts, fmt.Sprintf("%s: %d", c.step, c.admin.AdminCalls()-c.start))
	}
	c.step = ""
}

// newEngine is the real engine over the provider p, checking stepGate.
func newEngine(p *Provider, failAt int, sink engine.Sink) *engine.Engine {
	return &engine.Engine{Provider: p, Service: testService, Gates: []gates.Gate{stepGate{failAt: failAt}},
		Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute, RollbackWindow: time.Hour,
		Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second}, Events: sink}
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

// TestEngineAgainstTheFake runs the real engine over the real Google client
// and the fake Admin API: a canary to promotion, and a gate failure rolled
// back, each step's Admin API calls pinned.
func TestEngineAgainstTheFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		failAt       int
		hold         time.Duration
		trafficPolls int // polls before a traffic update's operation is done
		outcome      engine.Outcome
		// calls are the Admin API calls of each step: a shift is one
		// UpdateService (traffic and record) and its polls, an analysis
		// one read of the service, a promotion a read and a write.
		calls []string
	}{
		{"promoted, operations done in the response", 0, 0, 0, engine.OutcomePromoted,
			[]string{"deploy: 5", "shift 10: 1", "analyze 10: 1", "shift 50: 1", "analyze 50: 1", "promote 100: 2"}},
		{"promoted, operations done on the first poll", 0, 0, 1, engine.OutcomePromoted,
			[]string{"deploy: 5", "shift 10: 2", "analyze 10: 1", "shift 50: 2", "analyze 50: 1", "promote 100: 3"}},
		// Ten checks a step, each one read, and every other one renews the
		// lease (2.5 minutes at a one-minute interval) with one write.
		{"held ten minutes a step", 0, 10 * time.Minute, 1, engine.OutcomePromoted,
			[]string{"deploy: 5", "shift 10: 2", "analyze 10: 15", "shift 50: 2", "analyze 50: 15", "promote 100: 3"}},
		{"rolled back at 50%", 50, 0, 1, engine.OutcomeRolledBack,
			[]string{"deploy: 5", "shift 10: 2", "analyze 10: 1", "shift 50: 2", "analyze 50: 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, env *testEnv) {
				env.admin.SetTrafficPolls(tc.trafficPolls)
				p := env.provider(t)
				counter := &callCounter{admin: env.admin, step: "deploy"}
				res := newEngine(p, tc.failAt, counter.sink).Deploy(t.Context(), canary(t, tc.hold, 10, 50, 100),
					providers.Artifact{Image: nextImage, Revision: "c0ffee1"}, providers.Rollout{ID: "r1", Commit: "c0ffee1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
				}
				st, err := p.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				switch tc.outcome {
				case engine.OutcomePromoted:
					if st.Stable == nil || st.Stable.ID != "api-c0ffee1" || st.Candidate != nil || st.Rollout.Phase != providers.PhasePromoted {
						t.Errorf("after promotion: %+v", st)
					}
				case engine.OutcomeRolledBack:
					if st.Stable == nil || st.Stable.ID != seedRevision || st.Candidate != nil || st.Rollout.Phase != providers.PhaseRolledBack {
						t.Errorf("after rollback: %+v", st)
					}
				}
				if diff := cmp.Diff(tc.calls, counter.counts); diff != "" {
					t.Errorf("Admin API calls per step (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestEngineRevertsAPromotion promotes with the engine, then has another
// process roll back: inside the rollback window the traffic goes back to
// the previous revision (a revert); after it, nothing is left to go back to.
func TestEngineRevertsAPromotion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		later   time.Duration
		outcome engine.Outcome
	}{
		{"inside the rollback window", 10 * time.Minute, engine.OutcomeRolledBack},
		{"after the rollback window", 2 * time.Hour, engine.OutcomeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, env *testEnv) {
				ctx := t.Context()
				res := newEngine(env.provider(t), 0, nil).Deploy(ctx, canary(t, 0, 50, 100),
					providers.Artifact{Image: nextImage, Revision: "v2"}, providers.Rollout{ID: "r1"})
				if res.Outcome != engine.OutcomePromoted {
					t.Fatalf("deploy: outcome %s (%s)", res.Outcome, res.Reason)
				}
				time.Sleep(tc.later)
				other := env.provider(t)
				before := env.admin.Service(testName)
				res = newEngine(other, 0, nil).Rollback(ctx, "by carol")
				if res.Outcome != tc.outcome {
					t.Fatalf("rollback: outcome %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
				}
				if tc.outcome != engine.OutcomeRolledBack {
					env.unchanged(t, before, "a refused rollback")
					return
				}
				if diff := cmp.Diff([]route{{seedRevision, 100, "stable"}}, env.routes()); diff != "" {
					t.Errorf("traffic after the revert (-want +got):\n%s", diff)
				}
				st, err := other.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rec := st.Rollout
				if st.Stable.ID != seedRevision || st.Previous != nil || rec.Phase != providers.PhaseRolledBack || rec.Stable != seedRevision || rec.Reason != "by carol" {
					t.Errorf("after the revert: stable %v, previous %v, record %+v", st.Stable, st.Previous, rec)
				}
				if res := newEngine(other, 0, nil).Rollback(ctx, "again"); res.Outcome != engine.OutcomeFailed {
					t.Errorf("a second rollback: outcome %s (%s), want failed: nothing is left to go back to", res.Outcome, res.Reason)
				}
			})
		})
	}
}

// TestEngineRepairsASplitEditedByHand pauses a rollout at 10%, has someone
// move the split in the console, then has another process reconcile (the
// split goes back to 10% with the record, in one write) and resume it to
// promotion.
func TestEngineRepairsASplitEditedByHand(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, env *testEnv) {
		ctx := t.Context()
		plan := canary(t, 0, 10, 100)
		plan.Steps = slices.Insert(plan.Steps, 2, strategies.Step{Kind: strategies.KindPause, Weight: 10})
		res := newEngine(env.provider(t), 0, nil).Deploy(ctx, plan, providers.Artifact{Image: nextImage, Revision: "v2"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePaused {
			t.Fatalf("deploy: outcome %s (%s), want paused", res.Outcome, res.Reason)
		}
		env.edit(func(svc *runpb.Service) {
			svc.Traffic = split{stable: seedRevision, candidate: candidateRevision, weight: 30}.targets(svc.Traffic)
		})
		var warnings []string
		sink := func(ev engine.Event) {
			if w, ok := ev.(*engine.Warning); ok {
				warnings = append(warnings, w.Message)
			}
		}
		other := env.provider(t)
		st, err := newEngine(other, 0, sink).Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Weight != 10 || st.Rollout.Phase != providers.PhasePaused || len(st.Drift) != 0 {
			t.Errorf("after reconcile: weight %d, phase %s, drift %+v; want 10%%, paused, none", st.Weight, st.Rollout.Phase, st.Drift)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "repaired") {
			t.Errorf("warnings %q, want one saying what was repaired", warnings)
		}
		res = newEngine(other, 0, nil).Resume(ctx, plan)
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("resume: outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if diff := cmp.Diff([]route{{candidateRevision, 100, "stable"}, {seedRevision, 0, "previous"}}, env.routes()); diff != "" {
			t.Errorf("traffic after the promotion (-want +got):\n%s", diff)
		}
	})
}
