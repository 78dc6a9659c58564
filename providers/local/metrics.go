package local

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	// metricsSlots is how many one-second buckets each revision keeps, which
	// bounds both memory and the longest window Measure answers (10 minutes).
	metricsSlots = 600
	// maxTrackedRevisions bounds how many revisions keep metrics; the oldest
	// are forgotten first.
	maxTrackedRevisions = 8
	// histBins is the number of latency bins: 16 exact ones for 0..15µs,
	// then 8 bins per power of two (at most 12.5% wide) up to about 2 minutes.
	histBins = 16 + 23*8
)

// histogram counts latencies, in microseconds, in log-linear bins.
type histogram [histBins]uint32

// binOf returns the bin holding a latency of us microseconds.
func binOf(us int64) int {
	if us < 16 {
		return int(max(us, 0))
	}
	shift := bits.Len64(uint64(us)) - 4
	i := 16 + (shift-1)*8 + int(us>>shift) - 8
	return min(i, histBins-1)
}

// binValue returns the middle of bin i, in microseconds.
func binValue(i int) float64 {
	if i < 16 {
		return float64(i)
	}
	shift := (i-16)/8 + 1
	low := int64((i-16)%8+8) << shift
	return float64(low) + float64(int64(1)<<shift)/2
}

// slot is one second of one revision's traffic.
type slot struct {
	sec      int64
	requests int64
	errors   int64
	hist     *histogram
}

// revMetrics is one revision's traffic over the last metricsSlots seconds,
// as measured at the proxy.
type revMetrics struct {
	mu    sync.Mutex
	slots [metricsSlots]slot
}

// observe records one request that ended at now, took d and failed or not.
func (m *revMetrics) observe(now time.Time, d time.Duration, failed bool) {
	sec := now.Unix()
	bin := binOf(d.Microseconds())
	m.mu.Lock()
	s := &m.slots[uint64(sec)%metricsSlots]
	if s.sec != sec {
		s.sec, s.requests, s.errors = sec, 0, 0
		if s.hist != nil {
			clear(s.hist[:])
		}
	}
	if s.hist == nil {
		s.hist = new(histogram)
	}
	s.requests++
	if failed {
		s.errors++
	}
	s.hist[bin]++
	m.mu.Unlock()
}

// window sums the one-second buckets that overlap (now-w, now], so the
// value covers at least w (and at most w plus one second) even when now is
// early in its second.
func (m *revMetrics) window(now time.Time, w time.Duration) (requests, errors int64, h histogram) {
	last := now.Unix()
	first := max(now.Add(-w).Unix(), last-metricsSlots+1)
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.slots {
		s := &m.slots[i]
		if s.sec < first || s.sec > last || s.requests == 0 {
			continue
		}
		requests += s.requests
		errors += s.errors
		for b, c := range s.hist {
			h[b] += c
		}
	}
	return requests, errors, h
}

// quantile returns the q-quantile (0..1) of the n latencies in h, in
// milliseconds, or 0 when n is 0.
func quantile(h *histogram, n int64, q float64) float64 {
	if n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var seen int64
	for i, c := range h {
		seen += int64(c)
		if seen >= rank {
			return binValue(i) / 1000
		}
	}
	return binValue(histBins-1) / 1000
}

// metricsStore holds the metrics of the most recent revisions.
type metricsStore struct {
	mu    sync.Mutex
	byRev map[string]*revMetrics
	order []string // oldest first
}

// fresh returns new, empty metrics for rev, replacing any it had and
// forgetting the oldest revisions beyond maxTrackedRevisions.
func (s *metricsStore) fresh(rev string) *revMetrics {
	m := new(revMetrics)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byRev == nil {
		s.byRev = make(map[string]*revMetrics)
	}
	s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == rev })
	s.order = append(s.order, rev)
	s.byRev[rev] = m
	for len(s.order) > maxTrackedRevisions {
		delete(s.byRev, s.order[0])
		s.order = s.order[1:]
	}
	return m
}

// measure answers q from the metrics of q.Revision as of now.
func (s *metricsStore) measure(now time.Time, q gates.Query) (gates.Sample, error) {
	var pct float64
	switch q.Metric {
	case gates.MetricErrorRate:
	case gates.MetricLatencyP50:
		pct = 0.50
	case gates.MetricLatencyP95:
		pct = 0.95
	case gates.MetricLatencyP99:
		pct = 0.99
	default:
		return gates.Sample{}, fmt.Errorf("measure %q: unknown metric; the local provider knows %q: %w", q.Metric,
			[]string{gates.MetricErrorRate, gates.MetricLatencyP50, gates.MetricLatencyP95, gates.MetricLatencyP99}, providers.ErrInvalid)
	}
	if q.Window <= 0 {
		return gates.Sample{}, fmt.Errorf("measure %s: window %v is not positive: %w", q.Metric, q.Window, providers.ErrInvalid)
	}
	s.mu.Lock()
	m := s.byRev[q.Revision]
	s.mu.Unlock()
	if m == nil {
		return gates.Sample{}, fmt.Errorf("measure %s of revision %q: no metrics for it: %w", q.Metric, q.Revision, providers.ErrNotFound)
	}
	requests, errors, h := m.window(now, q.Window)
	if q.Metric == gates.MetricErrorRate {
		rate := 0.0
		if requests > 0 {
			rate = 100 * float64(errors) / float64(requests)
		}
		return gates.Sample{Value: rate, Requests: requests}, nil
	}
	return gates.Sample{Value: quantile(&h, requests, pct), Requests: requests}, nil
}
