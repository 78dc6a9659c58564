package flag

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// inProcess serves requests with a handler in the caller's goroutine, so
// a client used inside a synctest bubble never leaves it.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
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

// canary is a canary plan through weights, checking every interval.
func canary(t *testing.T, interval time.Duration, weights ...int) strategies.Plan {
	t.Helper()
	var steps []strategies.Target
	for _, w := range weights {
		steps = append(steps, strategies.Target{Weight: w})
	}
	plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: steps, Interval: interval, FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// newEngine is the engine over p with the gate, its events sent to sink.
func newEngine(p providers.Provider, g gates.Gate, sink engine.Sink) *engine.Engine {
	return &engine.Engine{Provider: p, Service: "checkout", Gates: []gates.Gate{g},
		Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute,
		Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second}, Events: sink}
}

// shifts records each shift's weight and the percentage the flag service
// served right after it, as "weight:percent".
func shifts(read func() int, out *[]string) engine.Sink {
	return func(ev engine.Event) {
		if s, ok := ev.(*engine.Shifted); ok {
			*out = append(*out, itoa(s.Weight)+":"+itoa(read()))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
