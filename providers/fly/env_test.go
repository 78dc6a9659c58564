package fly

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

const (
	stableImage = "registry.fly.io/web:v1"
	nextImage   = "registry.fly.io/web:v2"
)

// testEnv is a fake Machines API holding app "web" with n machines of
// stableImage in process group app, started and passing their checks;
// the real client reaches it in process. Built inside a synctest bubble
// (see bubble), every wait and poll runs on the bubble's clock.
type testEnv struct {
	w   *fake.World
	ids []string
}

func newTestEnv(t *testing.T, n int, mod ...func(map[string]any)) *testEnv {
	t.Helper()
	e := &testEnv{w: fake.NewWorld()}
	e.w.CreateApp("web", "acme")
	for range n {
		cfg := fake.Config(stableImage, "app")
		for _, m := range mod {
			m(cfg)
		}
		id, err := e.w.Launch("web", "ams", cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.ids = append(e.ids, id)
	}
	return e
}

// provider is a Provider (a process) talking to the fake.
func (e *testEnv) provider(t *testing.T) *Provider {
	t.Helper()
	c, err := NewClient("http://fake.invalid", "tok", fake.Doer{W: e.w})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewWithClient(providers.Config{Service: "web", ReadyTimeout: 2 * time.Minute}, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bubble runs f in a synctest bubble with a new testEnv of n machines.
func bubble(t *testing.T, n int, f func(t *testing.T, e *testEnv), mod ...func(map[string]any)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { f(t, newTestEnv(t, n, mod...)) })
}

// routedWeight is the candidate's share of the fake's routable machines.
func (e *testEnv) routedWeight(image string) int {
	r := e.w.Routable("web")
	total := 0
	for _, n := range r {
		total += n
	}
	return ratio(r[image], total-r[image])
}

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

// canary is a canary plan through weights, checking every minute.
func canary(t *testing.T, weights ...int) strategies.Plan {
	t.Helper()
	var steps []strategies.Target
	for _, w := range weights {
		steps = append(steps, strategies.Target{Weight: w})
	}
	plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: steps, Interval: time.Minute, FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// newEngine is the engine over p with the gate, its events sent to sink.
func newEngine(p providers.Provider, g gates.Gate, window time.Duration, sink engine.Sink) *engine.Engine {
	return &engine.Engine{Provider: p, Service: "web", Gates: []gates.Gate{g},
		Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute, RollbackWindow: window,
		Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second}, Events: sink}
}
