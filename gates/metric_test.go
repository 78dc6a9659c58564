package gates_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// fakeSource answers every query with one sample or one error, and records
// the queries.
type fakeSource struct {
	sample gates.Sample
	err    error

	mu      sync.Mutex
	queries []gates.Query
}

var _ gates.MetricSource = (*fakeSource)(nil)

func (f *fakeSource) Measure(_ context.Context, q gates.Query) (gates.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	return f.sample, f.err
}

func TestMetricGateCheck(t *testing.T) {
	t.Parallel()
	const query = `error-rate{revision="v2"}[30s]`
	window := 30 * time.Second
	cases := []struct {
		name string
		gate gates.MetricGate
		src  gates.Sample
		err  error
		want gates.Result
	}{{
		name: "successful",
		gate: gates.MetricGate{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 10},
		src:  gates.Sample{Value: 0.2, Requests: 412},
		want: gates.Result{Gate: "error-rate", Outcome: gates.Successful, Value: 0.2, Unit: "%", Threshold: "<= 1",
			Query: query, Window: window, Samples: 412},
	}, {
		name: "at the maximum passes",
		gate: gates.MetricGate{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 10},
		src:  gates.Sample{Value: 1, Requests: 100},
		want: gates.Result{Gate: "error-rate", Outcome: gates.Successful, Value: 1, Unit: "%", Threshold: "<= 1",
			Query: query, Window: window, Samples: 100},
	}, {
		name: "failed",
		gate: gates.MetricGate{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 10},
		src:  gates.Sample{Value: 4.2, Requests: 380},
		want: gates.Result{Gate: "error-rate", Outcome: gates.Failed, Value: 4.2, Unit: "%", Threshold: "<= 1",
			Query: query, Window: window, Samples: 380},
	}, {
		name: "inconclusive below min-requests, however bad the value",
		gate: gates.MetricGate{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 10},
		src:  gates.Sample{Value: 50, Requests: 3},
		want: gates.Result{Gate: "error-rate", Outcome: gates.Inconclusive, Value: 50, Unit: "%", Threshold: "<= 1",
			Query: query, Window: window, Samples: 3, Message: "3 requests < min-requests 10"},
	}, {
		name: "no traffic is never a pass, even with min-requests 0",
		gate: gates.MetricGate{Metric: gates.MetricErrorRate, Max: 1},
		src:  gates.Sample{},
		want: gates.Result{Gate: "error-rate", Outcome: gates.Inconclusive, Unit: "%", Threshold: "<= 1",
			Query: query, Window: window, Message: "no requests reached the candidate"},
	}, {
		name: "a source error is an Error outcome",
		gate: gates.MetricGate{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 10},
		src:  gates.Sample{Value: 99, Requests: 1000},
		err:  errors.New("monitoring: deadline exceeded"),
		want: gates.Result{Gate: "error-rate", Outcome: gates.Error, Unit: "%", Threshold: "<= 1",
			Query: query, Window: window, Message: "monitoring: deadline exceeded"},
	}, {
		name: "latency in milliseconds",
		gate: gates.MetricGate{Metric: gates.MetricLatencyP95, Max: gates.Millis(250 * time.Millisecond), MinRequests: 10},
		src:  gates.Sample{Value: 312.5, Requests: 90},
		want: gates.Result{Gate: "latency-p95", Outcome: gates.Failed, Value: 312.5, Unit: "ms", Threshold: "<= 250",
			Query: `latency-p95{revision="v2"}[30s]`, Window: window, Samples: 90},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := &fakeSource{sample: tc.src, err: tc.err}
			g := tc.gate
			g.Source = src
			target := gates.Target{Candidate: providers.Revision{ID: "v2"}, Stable: &providers.Revision{ID: "v1"}, Weight: 10, Window: window}
			if diff := cmp.Diff(tc.want, g.Check(t.Context(), target)); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			wantQ := []gates.Query{{Metric: g.Metric, Revision: "v2", Window: window}}
			if diff := cmp.Diff(wantQ, src.queries); diff != "" {
				t.Errorf("queries (-want +got):\n%s", diff)
			}
			if got := g.Name(); got != g.Metric {
				t.Errorf("Name = %q, want %q", got, g.Metric)
			}
		})
	}
}
