package local

import (
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

func TestHistogramBins(t *testing.T) {
	t.Parallel()
	prev := -1
	for us := int64(0); us < 200_000_000; us = us*17/16 + 1 {
		i := binOf(us)
		if i < prev {
			t.Fatalf("binOf(%d) = %d, below binOf of a smaller value (%d)", us, i, prev)
		}
		prev = i
		if us > 100_000_000 {
			continue // beyond the last bin's range
		}
		lower := 0.0
		if i > 0 {
			lower = binUpper(i - 1)
		}
		if float64(us) < lower || float64(us) >= binUpper(i) {
			t.Errorf("binOf(%d) = %d, whose range is [%v, %v)", us, i, lower, binUpper(i))
		}
		if i >= 16 && binUpper(i) > lower*1.126 {
			t.Errorf("bin %d is [%v, %v), more than 12.5%% wide", i, lower, binUpper(i))
		}
	}
	if got := binOf(math.MaxInt64); got != histBins-1 {
		t.Errorf("binOf(MaxInt64) = %d, want the last bin %d", got, histBins-1)
	}
	if got := binOf(-5); got != 0 {
		t.Errorf("binOf(-5) = %d, want 0", got)
	}
}

// TestObserveWindows records traffic at known (fake) times and checks what
// windows see: counts, the histogram, the rule that a second is counted in
// the window its end falls in, and expiry.
func TestObserveWindows(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var s metricsStore
		cand, stable := s.fresh("r2"), s.fresh("r1")
		t0 := time.Now() // the bubble starts on a whole second
		// 100 candidate requests of 1..100 ms, 10 of them failed, in second 0.
		for i := 1; i <= 100; i++ {
			cand.observe(time.Now(), time.Duration(i)*time.Millisecond, 200, i%10 == 0)
		}
		stable.observe(time.Now(), 3*time.Millisecond, 500, true)
		time.Sleep(30 * time.Second)
		for range 50 { // 50 fast candidate requests in second 30
			cand.observe(time.Now(), 2*time.Millisecond, 200, false)
		}
		observe := func(from, to time.Duration) gates.Observation {
			o, err := s.observe(gates.CountQuery{Candidate: "r2", Stable: "r1",
				Window: gates.Window{Start: t0.Add(from), End: t0.Add(to)}})
			if err != nil {
				t.Fatalf("observe(%v..%v) error = %v", from, to, err)
			}
			return o
		}
		tests := []struct {
			from, to         time.Duration
			cand, candErrors int64
			stable           int64
		}{
			{0, 31 * time.Second, 150, 10, 1},
			{0, time.Second, 100, 10, 1},                                   // second 0 ends at 1s
			{0, 999 * time.Millisecond, 0, 0, 0},                           // still running at the window's end
			{time.Second, 31 * time.Second, 50, 0, 0},                      // the next window
			{500 * time.Millisecond, 30500 * time.Millisecond, 100, 10, 1}, // second 30 ends after it
			{30500 * time.Millisecond, 31 * time.Second, 50, 0, 0},
		}
		for _, tt := range tests {
			o := observe(tt.from, tt.to)
			if o.Candidate.Requests != tt.cand || o.Candidate.Errors != tt.candErrors || o.Stable.Requests != tt.stable {
				t.Errorf("observe(%v..%v) = candidate %d/%d, stable %d; want %d/%d, %d", tt.from, tt.to,
					o.Candidate.Errors, o.Candidate.Requests, o.Stable.Requests, tt.candErrors, tt.cand, tt.stable)
			}
			if err := o.Candidate.Latency.Validate(); err != nil || o.Candidate.Latency.Total != tt.cand {
				t.Errorf("observe(%v..%v) histogram %v, total %d", tt.from, tt.to, err, o.Candidate.Latency.Total)
			}
		}
		h := observe(0, time.Minute).Candidate.Latency
		for _, c := range []struct {
			q    float64
			want float64
		}{{0.5, 25}, {0.95, 93}, {0.99, 99}} {
			if got, ok := h.Estimate(c.q); !ok || math.Abs(got-c.want) > 0.07*c.want {
				t.Errorf("p%v = %v, want about %v", c.q*100, got, c.want)
			}
		}
		if got := h.Slower(binBounds[binOf(20_000)]); got < 79 || got > 81 {
			t.Errorf("requests slower than about 20ms = %d, want 80", got)
		}
		time.Sleep(10 * time.Minute)
		if o := observe(0, 11*time.Minute); o.Candidate.Requests != 0 {
			t.Errorf("after 10 minutes observe() = %+v, want nothing left", o.Candidate)
		}
	})
}

func TestObserveErrors(t *testing.T) {
	t.Parallel()
	var s metricsStore
	s.fresh("r1")
	now := time.Now()
	w := gates.Window{Start: now.Add(-time.Minute), End: now}
	tests := []struct {
		q        gates.CountQuery
		want     error
		contains string
	}{
		{gates.CountQuery{Candidate: "r1", Window: gates.Window{Start: now, End: now}}, providers.ErrInvalid, "empty"},
		{gates.CountQuery{Candidate: "nope", Window: w}, providers.ErrNotFound, `"nope"`},
	}
	for _, tt := range tests {
		_, err := s.observe(tt.q)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("observe(%+v) error = %v, want %v naming %s", tt.q, err, tt.want, tt.contains)
		}
	}
	// A stable revision without metrics served nothing the agent saw.
	if o, err := s.observe(gates.CountQuery{Candidate: "r1", Stable: "gone", Window: w}); err != nil || o.Stable.Requests != 0 {
		t.Errorf("observe with an unknown stable = %+v, %v; want zero counts", o.Stable, err)
	}
}

func TestMetricsStoreForgetsOldest(t *testing.T) {
	t.Parallel()
	var s metricsStore
	for i := range maxTrackedRevisions + 2 {
		s.fresh(string(rune('a' + i)))
	}
	s.fresh("c") // redeployed: now the newest
	s.fresh("k") // forgets d, now the oldest
	for id, want := range map[string]bool{"a": false, "b": false, "c": true, "d": false, "e": true, "k": true} {
		_, err := s.observe(gates.CountQuery{Candidate: id, Window: gates.Window{Start: time.Now(), End: time.Now().Add(time.Second)}})
		if got := err == nil; got != want {
			t.Errorf("revision %s tracked = %v, want %v", id, got, want)
		}
	}
}
