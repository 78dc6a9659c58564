package fly

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// strategyProvider is e.provider for a rollout of the strategy.
func strategyProvider(t *testing.T, e *testEnv, strategy string) *Provider {
	t.Helper()
	c, err := NewClient("http://fake.invalid", "tok", fake.Doer{W: e.w})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewWithClient(providers.Config{Service: "web", ReadyTimeout: 2 * time.Minute, Strategy: strategy}, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// planOf is the strategy's plan, holding a minute.
func planOf(t *testing.T, spec strategies.Spec) strategies.Plan {
	t.Helper()
	spec.Interval, spec.FailureThreshold = time.Minute, 1
	plan, err := strategies.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestBlueGreen runs strategy bluegreen as flyctl does it: the green
// machines take no traffic through the test at 0% (created without
// service registration), then the switch routes green only; blue is
// stopped and destroyed (no rollback window) or kept cordoned and
// running through the window; a gate failure at 0% kills and destroys
// green, and blue never stopped taking the traffic.
func TestBlueGreen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fail    bool
		window  time.Duration
		outcome engine.Outcome
		routed  map[string]int // the fake's routable machines by image at the end
		running map[string]int // machines by image, not destroyed
		stops   int
	}{
		{"promoted", false, 0, engine.OutcomePromoted, map[string]int{nextImage: 3}, map[string]int{nextImage: 3}, 3},
		{"promoted, blue kept warm", false, time.Hour, engine.OutcomePromoted, map[string]int{nextImage: 3}, map[string]int{nextImage: 3, stableImage: 3}, 0},
		{"rolled back", true, time.Hour, engine.OutcomeRolledBack, map[string]int{stableImage: 3}, map[string]int{stableImage: 3}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, 3, func(t *testing.T, e *testEnv) {
				p := strategyProvider(t, e, "bluegreen")
				var mu sync.Mutex
				var atZero []map[string]int
				sink := func(ev engine.Event) {
					if _, ok := ev.(*engine.Started); ok {
						mu.Lock()
						atZero = append(atZero, e.w.Routable("web"))
						mu.Unlock()
					}
				}
				res := newEngine(p, zeroGate{fail: tc.fail}, tc.window, sink).Deploy(t.Context(), planOf(t, strategies.Spec{Strategy: "bluegreen"}),
					providers.Artifact{Image: nextImage, Revision: "green1"}, providers.Rollout{ID: "r1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.outcome)
				}
				if diff := cmp.Diff([]map[string]int{{stableImage: 3}}, atZero); diff != "" {
					t.Errorf("routable while green is tested (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.routed, e.w.Routable("web")); diff != "" {
					t.Errorf("routable at the end (-want +got):\n%s", diff)
				}
				running := map[string]int{}
				for _, m := range e.w.Machines("web") {
					running[m.Image]++
				}
				if diff := cmp.Diff(tc.running, running); diff != "" {
					t.Errorf("machines at the end (-want +got):\n%s", diff)
				}
				if n := e.w.Calls()["stop"]; n != tc.stops {
					t.Errorf("%d machines stopped before they were destroyed, want %d", n, tc.stops)
				}
			})
		})
	}
}

// zeroGate passes, or fails every check.
type zeroGate struct{ fail bool }

func (g zeroGate) Name() string { return "probe" }

func (g zeroGate) Check(ctx context.Context, t gates.Target) gates.Result {
	r := stepGate{}.Check(ctx, t)
	if g.fail {
		r.Outcome, r.Value = gates.Failed, 40
	}
	return r
}

// TestBlueGreenRefuses refuses, as flyctl does and before any machine is
// made, blue-green for an app whose machines have no health check, and
// blue-green and canary for machines with volumes, naming rolling.
func TestBlueGreenRefuses(t *testing.T) {
	t.Parallel()
	noChecks := func(c map[string]any) {
		for _, s := range c["services"].([]any) {
			delete(s.(map[string]any), "checks")
		}
	}
	volume := func(c map[string]any) { c["mounts"] = []any{map[string]any{"volume": "vol_1", "path": "/data"}} }
	for _, tc := range []struct {
		name, strategy, want string
		mod                  func(map[string]any)
	}{
		{"no checks", "bluegreen", "at least 1", noChecks},
		{"volumes, bluegreen", "bluegreen", "strategy bluegreen starts the candidate's machines beside", volume},
		{"volumes, canary", "canary", "use strategy rolling", volume},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, 2, func(t *testing.T, e *testEnv) {
				p := strategyProvider(t, e, tc.strategy)
				if err := p.Preflight(t.Context()); !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Preflight = %v, want ErrInvalid saying %q", err, tc.want)
				}
				_, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage})
				if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Deploy = %v, want ErrInvalid saying %q", err, tc.want)
				}
				if n := e.w.Calls()["machines.create"]; n != 0 {
					t.Errorf("%d machines created", n)
				}
			}, tc.mod)
		})
	}
	t.Run("canary without checks", func(t *testing.T) {
		t.Parallel()
		bubble(t, 2, func(t *testing.T, e *testEnv) {
			if err := strategyProvider(t, e, "canary").Preflight(t.Context()); err != nil {
				t.Errorf("Preflight: %v", err)
			}
		}, noChecks)
	})
}
