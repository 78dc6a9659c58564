package fly

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
)

// TestEngineAgainstTheFake runs the real engine over the real client and
// the fake: canaries to promotion (with and without a rollback window)
// and a gate failure rolled back. After every shift, the weight the
// provider reports, the weight the engine set and the fake's routable
// machines agree.
func TestEngineAgainstTheFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failAt  int
		window  time.Duration
		outcome engine.Outcome
		shifts  []string
		after   map[string]int // the fake's routable machines by image at the end
		left    int            // machines left
	}{
		{"promoted", 0, 0, engine.OutcomePromoted,
			[]string{"25: 25 1/4", "50: 50 4/8", "75: 75 3/4"}, map[string]int{nextImage: 4}, 4},
		{"promoted, previous kept", 0, time.Hour, engine.OutcomePromoted,
			[]string{"25: 25 1/4", "50: 50 4/8", "75: 75 3/4"}, map[string]int{nextImage: 4}, 8},
		{"rolled back at 50%", 50, time.Hour, engine.OutcomeRolledBack,
			[]string{"25: 25 1/4", "50: 50 4/8"}, map[string]int{stableImage: 4}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, 4, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				var mu sync.Mutex
				var shifts []string
				sink := func(ev engine.Event) {
					s, ok := ev.(*engine.Shifted)
					if !ok {
						return
					}
					st, err := p.Status(t.Context())
					r := e.w.Routable("web")
					mu.Lock()
					defer mu.Unlock()
					if err != nil || st.Weight != e.routedWeight(nextImage) {
						t.Errorf("after shift to %d%%: status weight %d (%v), the fake routes %v", s.Weight, st.Weight, err, r)
					}
					shifts = append(shifts, fmt.Sprintf("%d: %d %d/%d", s.Weight, st.Weight, r[nextImage], r[nextImage]+r[stableImage]))
				}
				res := newEngine(p, stepGate{failAt: tc.failAt}, tc.window, sink).Deploy(t.Context(), canary(t, 25, 50, 75, 100),
					providers.Artifact{Image: nextImage, Revision: "c0ffee1"}, providers.Rollout{ID: "r1", Commit: "c0ffee1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.outcome)
				}
				if diff := cmp.Diff(tc.shifts, shifts); diff != "" {
					t.Errorf("shifts (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.after, e.w.Routable("web")); diff != "" {
					t.Errorf("routable at the end (-want +got):\n%s", diff)
				}
				if n := len(e.w.Machines("web")); n != tc.left {
					t.Errorf("%d machines left, want %d", n, tc.left)
				}
				st, err := p.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if len(providers.Diagnose(st, time.Now())) != 0 || st.Candidate != nil || st.Rollout.Intent != nil {
					t.Errorf("status after: %+v, drift %+v", st, providers.Diagnose(st, time.Now()))
				}
				switch want := "c0ffee1"; {
				case tc.outcome == engine.OutcomePromoted && (st.Stable == nil || st.Stable.ID != want):
					t.Errorf("stable %+v, want %s", st.Stable, want)
				case tc.window > 0 && tc.outcome == engine.OutcomePromoted && st.Previous == nil:
					t.Errorf("no previous revision kept warm: %+v", st)
				}
			})
		})
	}
}

// TestCandidateNeverHealthy deploys an image whose checks never pass: a
// clear ErrNotReady, its machines destroyed, and every stable machine
// still routable.
func TestCandidateNeverHealthy(t *testing.T) {
	t.Parallel()
	bubble(t, 3, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		shifted := false
		sink := func(ev engine.Event) {
			if _, ok := ev.(*engine.Shifted); ok {
				shifted = true
			}
		}
		res := newEngine(p, stepGate{}, 0, sink).Deploy(t.Context(), canary(t, 50, 100),
			providers.Artifact{Image: "registry.fly.io/web:unhealthy", Revision: "bad1"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeRolledBack || !errors.Is(res.Err, providers.ErrNotReady) || !strings.Contains(res.Reason, "check") {
			t.Fatalf("outcome %s: %s (%v)", res.Outcome, res.Reason, res.Err)
		}
		if shifted {
			t.Error("traffic shifted")
		}
		if diff := cmp.Diff(map[string]int{stableImage: 3}, e.w.Routable("web")); diff != "" || len(e.w.Machines("web")) != 3 {
			t.Errorf("routable (-want +got):\n%s; %d machines", diff, len(e.w.Machines("web")))
		}
	})
}

// TestLeaseHeldElsewhere holds the lease of the machine ramp locks, as a
// flyctl deploy would: every write is a clear ErrConflict naming the
// holder, and nothing changes.
func TestLeaseHeldElsewhere(t *testing.T) {
	t.Parallel()
	bubble(t, 2, func(t *testing.T, e *testEnv) {
		first := slices.Min(e.ids) // the stable revision's first machine, which ramp locks
		if _, err := e.w.HoldLease("web", first, "flyctl deploy by ops@example.com", 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		p := e.provider(t)
		_, err := p.Apply(t.Context(), providers.Transition{Action: providers.ActionRecord, Record: providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing}})
		if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "ops@example.com") || !strings.Contains(err.Error(), first) {
			t.Fatalf("Apply: %v", err)
		}
		st, err := p.Status(t.Context())
		if err != nil || st.Rollout.Phase != providers.PhaseNone {
			t.Errorf("status %+v, %v", st, err)
		}
	})
}

// TestApplyRefuses refuses, before any write, a weight the machine counts
// cannot give (naming the smallest step), and an app whose machines
// mount volumes (naming the strategy that works).
func TestApplyRefuses(t *testing.T) {
	t.Parallel()
	t.Run("weight", func(t *testing.T) {
		t.Parallel()
		bubble(t, 4, func(t *testing.T, e *testEnv) {
			p := e.provider(t)
			rev, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
			if err != nil {
				t.Fatal(err)
			}
			before := e.w.Calls()
			_, err = p.Apply(t.Context(), providers.Transition{Action: providers.ActionShift, Revision: rev.ID, Weight: 10,
				Record: providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: rev.ID, Weight: 10}})
			if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "smallest step it can is 20%") {
				t.Fatalf("Apply: %v", err)
			}
			after := e.w.Calls()
			if after["metadata.set"] != before["metadata.set"] || after["uncordon"] != before["uncordon"] {
				t.Errorf("writes made: %v then %v", before, after)
			}
		})
	})
	t.Run("volumes", func(t *testing.T) {
		t.Parallel()
		bubble(t, 2, func(t *testing.T, e *testEnv) {
			p := e.provider(t)
			_, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage})
			if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "strategy rolling") {
				t.Fatalf("Deploy: %v", err)
			}
			if err := p.Preflight(t.Context()); !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("Preflight: %v", err)
			}
			if n := len(e.w.Machines("web")); n != 2 {
				t.Errorf("%d machines", n)
			}
		}, func(c map[string]any) { c["mounts"] = []any{map[string]any{"volume": "vol_1", "path": "/data"}} })
	})
}

// TestDeployRefusesAPlanTheMachinesCannotGive: with the plan's weights
// given, a step the machine count cannot express is refused before any
// machine is created, naming the smallest step it can.
func TestDeployRefusesAPlanTheMachinesCannotGive(t *testing.T) {
	t.Parallel()
	bubble(t, 4, func(t *testing.T, e *testEnv) {
		p := newTestEnvProvider(t, e, []int{10, 50, 100})
		_, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
		if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "cannot give 10%; the smallest step it can is 20%") {
			t.Errorf("Deploy = %v, want the 10%% step refused naming 20%%", err)
		}
		if n := e.w.Calls()["machines.create"]; n != 0 {
			t.Errorf("%d machines created, want none", n)
		}
		ok := newTestEnvProvider(t, e, []int{25, 50, 75, 100})
		if _, err := ok.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"}); err != nil {
			t.Errorf("Deploy with steps the machines can give: %v", err)
		}
	})
}

// newTestEnvProvider is e.provider with the plan's weights.
func newTestEnvProvider(t *testing.T, e *testEnv, weights []int) *Provider {
	t.Helper()
	c, err := NewClient("http://fake.invalid", "tok", fake.Doer{W: e.w})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewWithClient(providers.Config{Service: "web", ReadyTimeout: 2 * time.Minute, Weights: weights}, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
