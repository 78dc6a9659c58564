package flag

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	ld "github.com/ramp-deploy/ramp/internal/fakes/launchdarkly"
	"github.com/ramp-deploy/ramp/providers"
)

const ldToken = "api-0123-test"

// ldWorld is a fake LaunchDarkly holding boolean flag checkout in project
// shop, environments test and production.
func ldWorld() *ld.World {
	w := ld.New(ldToken)
	w.AddFlag("shop", "checkout", "test", "production")
	return w
}

// ldProvider is a provider (a process) talking to w in process.
func ldProvider(w *ld.World, token, env string) *Provider {
	be := NewLaunchDarkly(providers.FlagTarget{Name: "checkout", Backend: "launchdarkly", Environment: env, Project: "shop",
		URL: "http://ld.invalid", Token: token}, &http.Client{Transport: inProcess{w}})
	return NewWithBackend("checkout", be)
}

// TestLaunchDarklyRollout runs the real engine over the LaunchDarkly
// backend and the fake: a rollout promoted (the flag serves true to
// everyone) and one rolled back at 50% (back to 0%), the percentage the
// fake serves agreeing with each shift, and the other environment
// untouched.
func TestLaunchDarklyRollout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failAt  int
		outcome engine.Outcome
		shifts  []string
		end     int // thousandths of a percent served true at the end
	}{
		{"promoted", 0, engine.OutcomePromoted, []string{"10:10", "50:50"}, 100000},
		{"rolled back at 50%", 50, engine.OutcomeRolledBack, []string{"10:10", "50:50"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				w := ldWorld()
				p := ldProvider(w, ldToken, "production")
				var got []string
				sink := shifts(func() int { return w.Percent("shop", "checkout", "production") / 1000 }, &got)
				res := newEngine(p, stepGate{failAt: tc.failAt}, sink).Deploy(t.Context(), canary(t, time.Minute, 10, 50, 100),
					providers.Artifact{Image: "shop:v2", Revision: "c0ffee1"}, providers.Rollout{ID: "r1", Commit: "c0ffee1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.outcome)
				}
				if diff := cmp.Diff(tc.shifts, got); diff != "" {
					t.Errorf("shifts weight:percent (-want +got):\n%s", diff)
				}
				if n := w.Percent("shop", "checkout", "production"); n != tc.end {
					t.Errorf("serves %d/100000 at the end, want %d", n, tc.end)
				}
				if n := w.Percent("shop", "checkout", "test"); n != 0 {
					t.Errorf("environment test serves %d/100000, want it untouched", n)
				}
				st, err := p.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if d := providers.Diagnose(st, time.Now()); len(d) != 0 || st.Candidate != nil || st.Rollout.Intent != nil {
					t.Errorf("status after: %+v, drift %+v", st, d)
				}
				want := "checkout-at-0"
				if tc.outcome == engine.OutcomePromoted {
					want = "c0ffee1"
				}
				if st.Stable == nil || st.Stable.ID != want {
					t.Errorf("stable %+v, want %s", st.Stable, want)
				}
			})
		})
	}
}

// TestLaunchDarklyCommandFromAnotherProcess pauses a rollout from another
// process, then rolls it back from a third: the driver stops at the pause,
// and the rollback puts the flag back to 0%.
func TestLaunchDarklyCommandFromAnotherProcess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := ldWorld()
		driver, other := ldProvider(w, ldToken, "production"), ldProvider(w, ldToken, "production")
		paused := false
		sink := func(ev engine.Event) {
			if s, ok := ev.(*engine.Shifted); ok && s.Weight == 50 && !paused {
				paused = true
				if res := newEngine(other, stepGate{}, nil).Pause(t.Context(), "looking at it"); res.Err != nil {
					t.Errorf("pause: %v", res.Err)
				}
			}
		}
		res := newEngine(driver, stepGate{}, sink).Deploy(t.Context(), canary(t, time.Minute, 10, 50, 100),
			providers.Artifact{Image: "shop:v2", Revision: "c0ffee1"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePaused {
			t.Fatalf("driver's outcome %s (%s, %v), want paused", res.Outcome, res.Reason, res.Err)
		}
		if n := w.Percent("shop", "checkout", "production"); n != 50000 {
			t.Errorf("paused at %d/100000, want 50000", n)
		}
		if res := newEngine(ldProvider(w, ldToken, "production"), stepGate{}, nil).Rollback(t.Context(), "not today"); res.Outcome != engine.OutcomeRolledBack {
			t.Fatalf("rollback: %s (%s, %v)", res.Outcome, res.Reason, res.Err)
		}
		if n := w.Percent("shop", "checkout", "production"); n != 0 {
			t.Errorf("after the rollback %d/100000, want 0", n)
		}
	})
}

// TestLaunchDarklyRefusals: what LaunchDarkly refuses is a clear,
// permanent error naming the cause, and nothing is written.
func TestLaunchDarklyRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, env string
		want             error
		says             string
	}{
		{"no token", "", "production", providers.ErrPermission, "401"},
		{"wrong token", "api-wrong", "production", providers.ErrPermission, "401"},
		{"unknown environment", ldToken, "staging", providers.ErrNotFound, "staging"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := ldWorld()
			p := ldProvider(w, tc.token, tc.env)
			err := p.Preflight(t.Context())
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || !providers.Permanent(err) {
				t.Errorf("Preflight = %v, want %v saying %q", err, tc.want, tc.says)
			}
			if strings.Contains(err.Error(), ldToken) {
				t.Errorf("the error shows the token: %v", err)
			}
			if w.Writes() != 0 {
				t.Errorf("%d writes", w.Writes())
			}
		})
	}
	t.Run("unknown flag", func(t *testing.T) {
		t.Parallel()
		w := ld.New(ldToken)
		w.AddFlag("shop", "other", "production")
		if err := ldProvider(w, ldToken, "production").Preflight(t.Context()); !errors.Is(err, providers.ErrNotFound) || !strings.Contains(err.Error(), "checkout") {
			t.Errorf("Preflight = %v", err)
		}
	})
}

// TestLaunchDarklyRevertAfterPromotion: within the rollback window, a
// rollback from another process after the promotion puts the flag back
// to the percentage it had before the rollout.
func TestLaunchDarklyRevertAfterPromotion(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := ldWorld()
		p := ldProvider(w, ldToken, "production")
		if err := p.be.SetPercent(t.Context(), 30); err != nil { // a rollout made before, by hand
			t.Fatal(err)
		}
		e := newEngine(p, stepGate{}, nil)
		e.RollbackWindow = time.Hour
		res := e.Deploy(t.Context(), canary(t, time.Minute, 50, 100), providers.Artifact{Image: "shop:v2", Revision: "c0ffee1"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted || w.Percent("shop", "checkout", "production") != 100000 {
			t.Fatalf("outcome %s (%s, %v), serving %d", res.Outcome, res.Reason, res.Err, w.Percent("shop", "checkout", "production"))
		}
		if res := newEngine(ldProvider(w, ldToken, "production"), stepGate{}, nil).Rollback(t.Context(), "conversion fell"); res.Outcome != engine.OutcomeRolledBack {
			t.Fatalf("rollback after promotion: %s (%s, %v)", res.Outcome, res.Reason, res.Err)
		}
		if n := w.Percent("shop", "checkout", "production"); n != 30000 {
			t.Errorf("after the revert %d/100000, want 30000", n)
		}
		st, err := p.Status(t.Context())
		if err != nil || revID(st.Stable) != "checkout-at-30" || st.Candidate != nil || len(providers.Diagnose(st, time.Now())) != 0 {
			t.Errorf("status %+v (%v), drift %+v", st, err, providers.Diagnose(st, time.Now()))
		}
	})
}
