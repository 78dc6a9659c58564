package gates

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Counts is one version's traffic over one window, as a metric source
// measured it.
type Counts struct {
	// Requests counts every request the version answered (or failed to).
	Requests int64 `json:"requests"`
	// Errors counts the requests answered 5xx or not at all.
	Errors int64 `json:"errors"`
	// Latency is the requests' latency histogram; empty when the source
	// measures no latency.
	Latency Histogram `json:"latency,omitzero"`
}

// Histogram is a cumulative latency histogram in the Prometheus style:
// Counts[i] requests took at most Bounds[i] milliseconds; Total counts every
// request, including those slower than the last bound.
type Histogram struct {
	// Bounds are the buckets' upper bounds in milliseconds, ascending.
	Bounds []float64 `json:"bounds_ms,omitempty"`
	// Counts are the cumulative counts, one per bound, never decreasing.
	Counts []int64 `json:"counts,omitempty"`
	// Total counts every request in the histogram.
	Total int64 `json:"total,omitempty"`
}

// Empty reports whether the histogram holds no request.
func (h Histogram) Empty() bool { return h.Total == 0 }

// Validate reports a histogram that is not cumulative or whose bounds do
// not ascend, naming what is wrong.
func (h Histogram) Validate() error {
	if len(h.Bounds) != len(h.Counts) {
		return fmt.Errorf("histogram has %d bounds and %d counts", len(h.Bounds), len(h.Counts))
	}
	for i := range h.Bounds {
		if i > 0 && !(h.Bounds[i] > h.Bounds[i-1]) {
			return fmt.Errorf("histogram bounds do not ascend at %v", h.Bounds[i])
		}
		if h.Counts[i] < 0 || (i > 0 && h.Counts[i] < h.Counts[i-1]) || h.Counts[i] > h.Total {
			return fmt.Errorf("histogram counts are not cumulative at bound %vms", h.Bounds[i])
		}
	}
	return nil
}

// Slower returns how many requests took longer than bound, which should be
// one of h's bounds: the total minus the cumulative count at the largest
// bound not above it.
func (h Histogram) Slower(bound float64) int64 {
	i, found := slices.BinarySearch(h.Bounds, bound)
	if !found {
		i--
	}
	if i < 0 {
		return h.Total
	}
	return h.Total - h.Counts[i]
}

// Quantile returns the smallest bound at or below which at least a q share
// (0..1) of the requests fell, and false when the histogram is empty or the
// quantile lies beyond its last bound.
func (h Histogram) Quantile(q float64) (float64, bool) {
	if h.Total == 0 {
		return 0, false
	}
	want := q * float64(h.Total)
	i, _ := slices.BinarySearchFunc(h.Counts, want, func(c int64, w float64) int {
		if float64(c) < w {
			return -1
		}
		return 1
	})
	if i == len(h.Counts) {
		return 0, false
	}
	return h.Bounds[i], true
}

// Add returns the sum of h and o. A histogram with other bounds than h's
// cannot be added: ok is false and h is returned unchanged.
func (h Histogram) Add(o Histogram) (sum Histogram, ok bool) {
	switch {
	case o.Total == 0 && len(o.Bounds) == 0:
		return h, true
	case h.Total == 0 && len(h.Bounds) == 0:
		return Histogram{Bounds: o.Bounds, Counts: slices.Clone(o.Counts), Total: o.Total}, true
	case !slices.Equal(h.Bounds, o.Bounds):
		return h, false
	}
	sum = Histogram{Bounds: h.Bounds, Counts: slices.Clone(h.Counts), Total: h.Total + o.Total}
	for i, c := range o.Counts {
		sum.Counts[i] += c
	}
	return sum, true
}

// Window is the time a measurement covers: after Start, up to and
// including End.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// CountQuery asks a metric source for both versions' traffic over one
// window. Consecutive windows share their bounds, so no request is counted
// twice.
type CountQuery struct {
	// Candidate is the candidate's revision ID.
	Candidate string
	// Stable is the stable revision's ID, empty when there is none.
	Stable string
	// Window is the time to cover.
	Window Window
}

// Observation is what a source measured for both versions over one window.
type Observation struct {
	Window    Window `json:"window"`
	Candidate Counts `json:"candidate"`
	// Stable is zero when the query named no stable revision.
	Stable Counts `json:"stable"`
}

// MetricSource measures the traffic of revisions. Providers that observe
// their own traffic (local at its proxy, Cloud Run through Cloud
// Monitoring) implement it; so do external sources such as Prometheus.
type MetricSource interface {
	// Observe returns each named revision's requests, errors and latency
	// histogram over q.Window. A revision that served nothing in the
	// window has zero counts; that is not an error.
	Observe(ctx context.Context, q CountQuery) (Observation, error)
}

// AccessChecker is a metric source that can prove, without a rollout, that
// it may read the metrics (for `ramp plan`).
type AccessChecker interface {
	// CheckMetricsAccess reads a little of the service's metrics and
	// returns why it could not.
	CheckMetricsAccess(ctx context.Context) error
}
