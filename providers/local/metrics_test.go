package local

import (
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
		if got := binValue(i); math.Abs(got-float64(us)) > 0.0625*float64(us)+0.5 {
			t.Errorf("binValue(binOf(%d)) = %v, more than 6.25%% off", us, got)
		}
	}
	if got := binOf(math.MaxInt64); got != histBins-1 {
		t.Errorf("binOf(MaxInt64) = %d, want the last bin %d", got, histBins-1)
	}
	if got := binOf(-5); got != 0 {
		t.Errorf("binOf(-5) = %d, want 0", got)
	}
}

// TestMeasureWindow records traffic at known (fake) times and checks what
// windows of different lengths see, including percentiles and expiry.
func TestMeasureWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var s metricsStore
		m := s.fresh("r1")
		// 100 requests of 1..100 ms, 10 of them failed, 30s ago.
		for i := 1; i <= 100; i++ {
			m.observe(time.Now(), time.Duration(i)*time.Millisecond, i%10 == 0)
		}
		time.Sleep(30 * time.Second)
		// 50 fast requests now, none failed.
		for range 50 {
			m.observe(time.Now(), 2*time.Millisecond, false)
		}
		q := func(metric string, w time.Duration) gates.Sample {
			got, err := s.measure(time.Now(), gates.Query{Metric: metric, Revision: "r1", Window: w})
			if err != nil {
				t.Fatalf("measure(%s, %v) error = %v", metric, w, err)
			}
			return got
		}
		approx := cmpopts.EquateApprox(0.07, 0)
		tests := []struct {
			metric string
			window time.Duration
			want   gates.Sample
		}{
			{gates.MetricErrorRate, 10 * time.Second, gates.Sample{Value: 0, Requests: 50}},
			{gates.MetricErrorRate, time.Minute, gates.Sample{Value: 100 * 10.0 / 150, Requests: 150}},
			{gates.MetricErrorRate, 31 * time.Second, gates.Sample{Value: 100 * 10.0 / 150, Requests: 150}},
			{gates.MetricErrorRate, 30 * time.Second, gates.Sample{Value: 100 * 10.0 / 150, Requests: 150}}, // buckets overlapping the window
			{gates.MetricErrorRate, 29 * time.Second, gates.Sample{Value: 0, Requests: 50}},
			{gates.MetricLatencyP50, 10 * time.Second, gates.Sample{Value: 2, Requests: 50}},
			{gates.MetricLatencyP99, time.Hour, gates.Sample{Value: 99, Requests: 150}},
			{gates.MetricLatencyP95, time.Minute, gates.Sample{Value: 93, Requests: 150}},
			{gates.MetricLatencyP50, time.Minute, gates.Sample{Value: 25, Requests: 150}},
		}
		for _, tt := range tests {
			if diff := cmp.Diff(tt.want, q(tt.metric, tt.window), approx); diff != "" {
				t.Errorf("measure(%s, %v) mismatch (-want +got):\n%s", tt.metric, tt.window, diff)
			}
		}
		time.Sleep(10 * time.Minute)
		if got := q(gates.MetricErrorRate, time.Hour); got != (gates.Sample{}) {
			t.Errorf("after 10 minutes measure() = %+v, want nothing left", got)
		}
		// A slot reused after wrapping around starts from zero.
		m.observe(time.Now(), time.Millisecond, true)
		if got := q(gates.MetricErrorRate, time.Second); got != (gates.Sample{Value: 100, Requests: 1}) {
			t.Errorf("after reuse measure() = %+v, want 1 failed request", got)
		}
	})
}

func TestMeasureErrors(t *testing.T) {
	t.Parallel()
	var s metricsStore
	s.fresh("r1")
	tests := []struct {
		q        gates.Query
		want     error
		contains string
	}{
		{gates.Query{Metric: "cpu", Revision: "r1", Window: time.Minute}, providers.ErrInvalid, `"cpu"`},
		{gates.Query{Metric: gates.MetricErrorRate, Revision: "r1"}, providers.ErrInvalid, "window"},
		{gates.Query{Metric: gates.MetricErrorRate, Revision: "nope", Window: time.Minute}, providers.ErrNotFound, `"nope"`},
	}
	for _, tt := range tests {
		_, err := s.measure(time.Now(), tt.q)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("measure(%+v) error = %v, want %v naming %s", tt.q, err, tt.want, tt.contains)
		}
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
		_, err := s.measure(time.Now(), gates.Query{Metric: gates.MetricErrorRate, Revision: id, Window: time.Second})
		if got := err == nil; got != want {
			t.Errorf("revision %s tracked = %v, want %v", id, got, want)
		}
	}
}
