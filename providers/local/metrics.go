package local

import (
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	// metricsSlots is how many one-second buckets each revision keeps, which
	// bounds both memory and the longest window Observe answers (10 minutes).
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

// slot is one second of one revision's traffic.
type slot struct {
	sec      int64
	requests int64
	errors   int64
	hist     *histogram
}

// revMetrics is one revision's traffic over the last metricsSlots seconds,
// as measured at the proxy, which the judge reads, and its totals since the
// metrics were made, which /metrics exports (see promTotals).
type revMetrics struct {
	mu    sync.Mutex
	slots [metricsSlots]slot
	total promTotals
}

// observe records one request that ended at now, took d, was answered with
// code and failed or not.
func (m *revMetrics) observe(now time.Time, d time.Duration, code int, failed bool) {
	sec := now.Unix()
	bin, bucket, ci := binOf(d.Microseconds()), promBucketOf(d), promCodeIndex(code)
	m.mu.Lock()
	m.total.add(ci, bucket, d, failed)
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

// counts sums the one-second slots that end within w: slot s covers
// [s, s+1) and is counted when w.Start < s+1 <= w.End, so consecutive
// windows sharing a bound count every slot exactly once, and the second
// still running is left to the next window.
func (m *revMetrics) counts(w gates.Window) gates.Counts {
	last := w.End.Unix() - 1
	first := max(w.Start.Unix(), last-metricsSlots+1) // older slots may hold another second's traffic
	var c gates.Counts
	var h histogram
	m.mu.Lock()
	for i := range m.slots {
		s := &m.slots[i]
		if s.sec < first || s.sec > last || s.requests == 0 {
			continue
		}
		c.Requests += s.requests
		c.Errors += s.errors
		for b, n := range s.hist {
			h[b] += n
		}
	}
	m.mu.Unlock()
	c.Latency = h.cumulative(c.Requests)
	return c
}

// binBounds are the bins' upper bounds in milliseconds, but for the last
// bin, which holds everything slower.
var binBounds = func() []float64 {
	b := make([]float64, histBins-1)
	for i := range b {
		b[i] = binUpper(i) / 1000
	}
	return b
}()

// binUpper returns the upper bound of bin i in microseconds: bin i holds
// latencies from its lower bound up to, not including, this.
func binUpper(i int) float64 {
	if i < 16 {
		return float64(i + 1)
	}
	shift := (i-16)/8 + 1
	return float64(int64((i-16)%8+9) << shift)
}

// cumulative converts the bins to a cumulative histogram over binBounds.
func (h *histogram) cumulative(total int64) gates.Histogram {
	if total == 0 {
		return gates.Histogram{}
	}
	out := gates.Histogram{Bounds: binBounds, Counts: make([]int64, len(binBounds)), Total: total}
	var sum int64
	for i := range binBounds {
		sum += int64(h[i])
		out.Counts[i] = sum
	}
	return out
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

// observe answers q from the revisions' metrics. A stable revision the
// agent keeps no metrics for (forgotten, or before the agent restarted)
// served nothing it saw; the candidate must be known.
func (s *metricsStore) observe(q gates.CountQuery) (gates.Observation, error) {
	w := q.Window
	if !w.End.After(w.Start) {
		return gates.Observation{}, fmt.Errorf("observe: window %s..%s is empty: %w", w.Start.Format(time.RFC3339Nano),
			w.End.Format(time.RFC3339Nano), providers.ErrInvalid)
	}
	s.mu.Lock()
	cand, stable := s.byRev[q.Candidate], s.byRev[q.Stable]
	s.mu.Unlock()
	if cand == nil {
		return gates.Observation{}, fmt.Errorf("observe revision %q: no metrics for it: %w", q.Candidate, providers.ErrNotFound)
	}
	o := gates.Observation{Window: w, Candidate: cand.counts(w)}
	if stable != nil && q.Stable != "" {
		o.Stable = stable.counts(w)
	}
	return o, nil
}
