package gates_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
)

func counts(n, errs int64) gates.Counts { return gates.Counts{Requests: n, Errors: errs} }

func obs(c, s gates.Counts) gates.Observation {
	return gates.Observation{Window: gates.Window{End: time.Unix(30, 0), Start: time.Unix(0, 0)}, Candidate: c, Stable: s}
}

// TestGuardrailPoolsWindows: windows pool until they hold min-requests,
// are judged together, and the pool starts over.
func TestGuardrailPoolsWindows(t *testing.T) {
	t.Parallel()
	g := gates.Guardrail{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}
	steps := []struct {
		c       gates.Counts
		outcome gates.Outcome
		value   float64
		message string
	}{
		{counts(0, 0), gates.Inconclusive, 0, "no requests reached the candidate"},
		{counts(30, 6), gates.Inconclusive, 0, "30 requests over 2 windows, a verdict needs 50"},
		{counts(30, 0), gates.Successful, 10, ""}, // 6 of 60
		{counts(40, 8), gates.Inconclusive, 0, "40 requests over 1 windows"},
		{counts(20, 8), gates.Failed, 100 * 16.0 / 60, ""},
	}
	for i, st := range steps {
		r := g.Observe(obs(st.c, counts(1000, 10)))
		if r.Outcome != st.outcome || (st.outcome != gates.Inconclusive && !near(r.Value, st.value)) || !strings.Contains(r.Message, st.message) {
			t.Errorf("window %d: %s %v (%s), want %s %v (%s)", i, r.Outcome, r.Value, r.Message, st.outcome, st.value, st.message)
		}
	}
}

// TestGuardrailSharedIncident: a candidate above the limit passes while the
// stable, over the same windows, is above it too.
func TestGuardrailSharedIncident(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		stable gates.Counts
		want   gates.Outcome
	}{
		{"stable healthy", counts(500, 5), gates.Failed},
		{"stable as bad", counts(500, 100), gates.Successful},
		{"stable too small to tell", counts(20, 10), gates.Failed},
		{"no stable", gates.Counts{}, gates.Failed},
	} {
		g := gates.Guardrail{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}
		if r := g.Observe(obs(counts(100, 20), c.stable)); r.Outcome != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, r.Outcome, r.Message, c.want)
		}
	}
}

// TestGuardrailNeedsConfidence: a small pool a little above the limit is
// chance; a large one, or a small one far above it, fails.
func TestGuardrailNeedsConfidence(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		c    gates.Counts
		want gates.Outcome
	}{{counts(75, 8), gates.Successful}, {counts(7500, 900), gates.Failed}, {counts(60, 30), gates.Failed}} {
		g := gates.Guardrail{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}
		if r := g.Observe(obs(c.c, gates.Counts{})); r.Outcome != c.want {
			t.Errorf("%d/%d errors: %s (%s), want %s", c.c.Errors, c.c.Requests, r.Outcome, r.Message, c.want)
		}
	}
}

func TestGuardrailLatency(t *testing.T) {
	t.Parallel()
	// 7.5% of the requests are slower than 300ms, where the limit allows 5%.
	for _, c := range []struct {
		n    int64
		want gates.Outcome
	}{{100, gates.Successful}, {10000, gates.Failed}} {
		h := gates.Histogram{Bounds: []float64{100, 200, 400, 800}, Counts: []int64{c.n / 2, c.n * 9 / 10, c.n * 95 / 100, c.n * 99 / 100}, Total: c.n}
		g := gates.Guardrail{Metric: gates.MetricLatencyP95, Max: 300, MinRequests: 10}
		r := g.Observe(obs(gates.Counts{Requests: c.n, Latency: h}, gates.Counts{}))
		if r.Outcome != c.want || r.Value != 400 || r.Unit != "ms" {
			t.Errorf("p95 guardrail over %d requests: %s %v%s (%s), want %s at 400ms", c.n, r.Outcome, r.Value, r.Unit, r.Message, c.want)
		}
	}
	g := gates.Guardrail{Metric: gates.MetricLatencyP99, Max: 300, MinRequests: 10}
	if r := g.Observe(obs(gates.Counts{Requests: 100}, gates.Counts{})); r.Outcome != gates.Inconclusive ||
		!strings.Contains(r.Message, "no latency") {
		t.Errorf("without a histogram: %s (%s), want inconclusive", r.Outcome, r.Message)
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	h := gates.Histogram{Bounds: []float64{100, 200, 400, 800}, Counts: []int64{50, 90, 95, 99}, Total: 100}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bound float64
		want  int64
	}{{50, 100}, {100, 50}, {150, 50}, {200, 10}, {800, 1}, {1000, 1}} {
		if got := h.Slower(c.bound); got != c.want {
			t.Errorf("Slower(%v) = %d, want %d", c.bound, got, c.want)
		}
	}
	for _, c := range []struct {
		q, quantile, estimate float64
	}{{0.5, 100, 100}, {0.25, 100, 50}, {0.7, 200, 150}, {0.95, 400, 400}, {0.97, 800, 600}} {
		if got, ok := h.Quantile(c.q); !ok || got != c.quantile {
			t.Errorf("Quantile(%v) = %v %v, want %v", c.q, got, ok, c.quantile)
		}
		if got, ok := h.Estimate(c.q); !ok || !near(got, c.estimate) {
			t.Errorf("Estimate(%v) = %v %v, want %v", c.q, got, ok, c.estimate)
		}
	}
	if _, ok := h.Quantile(0.999); ok {
		t.Error("Quantile beyond the last bound reports a bound")
	}
	sum, ok := h.Add(h)
	if !ok || sum.Total != 200 || sum.Counts[3] != 198 || h.Counts[3] != 99 {
		t.Errorf("Add = %+v %v, and h = %+v", sum, ok, h)
	}
	if _, ok := h.Add(gates.Histogram{Bounds: []float64{1}, Counts: []int64{1}, Total: 1}); ok {
		t.Error("Add of other bounds succeeded")
	}
	for _, bad := range []gates.Histogram{
		{Bounds: []float64{1, 2}, Counts: []int64{1}, Total: 1},
		{Bounds: []float64{2, 1}, Counts: []int64{1, 1}, Total: 1},
		{Bounds: []float64{1, 2}, Counts: []int64{2, 1}, Total: 2},
		{Bounds: []float64{1, 2}, Counts: []int64{1, 3}, Total: 2},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}
