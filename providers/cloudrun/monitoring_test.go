package cloudrun

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/api/distribution"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

func count(n int64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: n}}
}

// latencies is a distribution over the buckets (-inf,100) [100,200)
// [200,400) [400,800) [800,inf) milliseconds.
func latencies(counts ...int64) *monitoringpb.TypedValue {
	var total int64
	for _, n := range counts {
		total += n
	}
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{DistributionValue: &distribution.Distribution{
		Count:         total,
		BucketOptions: explicit(100, 200, 400, 800),
		BucketCounts:  counts,
	}}}
}

func explicit(bounds ...float64) *distribution.Distribution_BucketOptions {
	return &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExplicitBuckets{
		ExplicitBuckets: &distribution.Distribution_BucketOptions_Explicit{Bounds: bounds},
	}}
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// traffic seeds the candidate "api-v2", the stable "api-v1" (which must
	// not count) and old candidate data outside a 5-minute window.
	traffic := func(f *fakeMonitoring) {
		f.add(metricRequestCount, "api", "api-v2", "2xx", now.Add(-30*time.Second), count(60))
		f.add(metricRequestCount, "api", "api-v2", "2xx", now.Add(-3*time.Minute), count(30))
		f.add(metricRequestCount, "api", "api-v2", "4xx", now.Add(-2*time.Minute), count(4))
		f.add(metricRequestCount, "api", "api-v2", "5xx", now.Add(-2*time.Minute), count(6))
		f.add(metricRequestCount, "api", "api-v2", "5xx", now.Add(-10*time.Minute), count(500))
		f.add(metricRequestCount, "api", "api-v1", "5xx", now.Add(-30*time.Second), count(900))
		f.add(metricRequestCount, "web", "api-v2", "5xx", now.Add(-30*time.Second), count(900))
		f.add(metricRequestLatencies, "api", "api-v2", "2xx", now.Add(-time.Minute), latencies(40, 30, 10, 0, 0))
		f.add(metricRequestLatencies, "api", "api-v2", "5xx", now.Add(-2*time.Minute), latencies(10, 0, 5, 5, 0))
		f.add(metricRequestLatencies, "api", "api-v1", "2xx", now.Add(-time.Minute), latencies(0, 0, 0, 0, 1000))
	}
	cases := []struct {
		name   string
		seed   func(*fakeMonitoring)
		metric string
		window time.Duration
		want   gates.Sample
	}{
		{"error rate", traffic, gates.MetricErrorRate, 5 * time.Minute, gates.Sample{Value: 6, Requests: 100}},
		{"error rate over a short window", traffic, gates.MetricErrorRate, 90 * time.Second, gates.Sample{Value: 0, Requests: 60}},
		{"window below a minute is widened", traffic, gates.MetricErrorRate, time.Second, gates.Sample{Value: 0, Requests: 60}},
		{"no traffic", func(*fakeMonitoring) {}, gates.MetricErrorRate, 5 * time.Minute, gates.Sample{}},
		{"latency p50", traffic, gates.MetricLatencyP50, 5 * time.Minute, gates.Sample{Value: 100, Requests: 100}},
		{"latency p95", traffic, gates.MetricLatencyP95, 5 * time.Minute, gates.Sample{Value: 400, Requests: 100}},
		{"latency p99", traffic, gates.MetricLatencyP99, 5 * time.Minute, gates.Sample{Value: 720, Requests: 100}},
		{"latency without traffic", func(*fakeMonitoring) {}, gates.MetricLatencyP99, 5 * time.Minute, gates.Sample{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			tc.seed(e.mon)
			p := e.provider(t)
			p.now = func() time.Time { return now }
			got, err := p.Measure(t.Context(), gates.Query{Metric: tc.metric, Revision: "api-v2", Window: tc.window})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Measure (-want +got):\n%s", diff)
			}
			e.mon.mu.Lock()
			defer e.mon.mu.Unlock()
			filter := e.mon.requests[0].GetFilter()
			for _, s := range []string{`resource.labels.service_name="api"`, `resource.labels.revision_name="api-v2"`, `resource.labels.location="europe-west1"`} {
				if !strings.Contains(filter, s) {
					t.Errorf("filter %q lacks %s", filter, s)
				}
			}
		})
	}
}

func TestMeasureRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		q    gates.Query
	}{
		{"unknown metric", gates.Query{Metric: "cpu", Revision: "api-v2"}},
		{"no revision", gates.Query{Metric: gates.MetricErrorRate}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			_, err := e.provider(t).Measure(t.Context(), tc.q)
			if !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("Measure error %v, want ErrInvalid", err)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	linear := &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_LinearBuckets{
		LinearBuckets: &distribution.Distribution_BucketOptions_Linear{NumFiniteBuckets: 3, Width: 10, Offset: 0},
	}}
	exponential := &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExponentialBuckets{
		ExponentialBuckets: &distribution.Distribution_BucketOptions_Exponential{NumFiniteBuckets: 4, GrowthFactor: 2, Scale: 1},
	}}
	cases := []struct {
		name   string
		opts   *distribution.Distribution_BucketOptions
		counts []int64
		pct    float64
		want   float64
	}{
		{"empty", explicit(100), nil, 99, 0},
		{"linear middle bucket", linear, []int64{0, 0, 10, 0, 0}, 50, 15},
		{"linear overflow gives its lower bound", linear, []int64{0, 0, 0, 0, 4}, 99, 30},
		{"exponential", exponential, []int64{0, 0, 0, 4, 0, 0}, 75, 7},
		{"explicit underflow starts at zero", explicit(100, 200), []int64{10, 0, 0}, 50, 50},
		{"no buckets", nil, []int64{5}, 50, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &distribution.Distribution{BucketOptions: tc.opts, BucketCounts: tc.counts}
			if got := percentile(d, tc.pct); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("percentile = %v, want %v", got, tc.want)
			}
		})
	}
}
