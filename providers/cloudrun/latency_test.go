package cloudrun

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/api/distribution"

	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

func explicit(bounds ...float64) *distribution.Distribution_BucketOptions {
	return &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExplicitBuckets{
		ExplicitBuckets: &distribution.Distribution_BucketOptions_Explicit{Bounds: bounds},
	}}
}

func linear(n int32, width, offset float64) *distribution.Distribution_BucketOptions {
	return &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_LinearBuckets{
		LinearBuckets: &distribution.Distribution_BucketOptions_Linear{NumFiniteBuckets: n, Width: width, Offset: offset},
	}}
}

func exponential(n int32, growth, scale float64) *distribution.Distribution_BucketOptions {
	return &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExponentialBuckets{
		ExponentialBuckets: &distribution.Distribution_BucketOptions_Exponential{NumFiniteBuckets: n, GrowthFactor: growth, Scale: scale},
	}}
}

func TestLatencyHistogram(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		layout  *distribution.Distribution_BucketOptions
		counts  []int64
		want    gates.Histogram
		wantErr string
	}{
		{"explicit", explicit(100, 200, 400, 800), []int64{1, 2, 3, 4, 5},
			gates.Histogram{Bounds: []float64{100, 200, 400, 800}, Counts: []int64{1, 3, 6, 10}, Total: 15}, ""},
		{"linear", linear(3, 10, 5), []int64{0, 1, 2, 3, 4},
			gates.Histogram{Bounds: []float64{5, 15, 25, 35}, Counts: []int64{0, 1, 3, 6}, Total: 10}, ""},
		{"exponential, trailing counts left out", exponential(4, 2, 1), []int64{1, 0, 0, 4},
			gates.Histogram{Bounds: []float64{1, 2, 4, 8, 16}, Counts: []int64{1, 1, 1, 5, 5}, Total: 5}, ""},
		{"only the overflow bucket", explicit(100), []int64{0, 7},
			gates.Histogram{Bounds: []float64{100}, Counts: []int64{0}, Total: 7}, ""},
		{"more counts than buckets", explicit(100), []int64{1, 2, 3}, gates.Histogram{}, "3 bucket counts for the 2 buckets of explicit buckets (bounds [100])"},
		{"explicit bounds descending", explicit(200, 100), []int64{1, 1, 1}, gates.Histogram{}, "bounds do not ascend"},
		{"explicit without bounds", explicit(), []int64{1}, gates.Histogram{}, "explicit buckets without bounds"},
		{"linear of width 0", linear(3, 0, 0), []int64{1}, gates.Histogram{}, "width must be positive"},
		{"exponential growing by 1", exponential(3, 1, 1), []int64{1}, gates.Histogram{}, "growth factor must exceed 1"},
		{"no finite bucket", exponential(0, 2, 1), []int64{1}, gates.Histogram{}, "number of finite buckets"},
		{"no layout", nil, []int64{1}, gates.Histogram{}, "no bucket layout"},
		{"negative count", explicit(100, 200), []int64{2, -1, 0}, gates.Histogram{}, "not cumulative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := latencyHistogram(tc.layout, tc.counts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("latencyHistogram error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("latencyHistogram (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLatencySum checks that distributions add up, and that layouts must
// agree unless a distribution holds no request.
func TestLatencySum(t *testing.T) {
	t.Parallel()
	dist := func(layout *distribution.Distribution_BucketOptions, counts ...int64) *distribution.Distribution {
		return &distribution.Distribution{BucketOptions: layout, BucketCounts: counts}
	}
	var s latencySum
	for _, d := range []*distribution.Distribution{
		dist(explicit(100, 200), 1, 2), dist(linear(2, 1, 0), 0, 0, 0), dist(explicit(100, 200), 0, 1, 3), nil,
	} {
		if err := s.add(d); err != nil {
			t.Fatalf("add: %v", err)
		}
	}
	want := gates.Histogram{Bounds: []float64{100, 200}, Counts: []int64{1, 4}, Total: 7}
	if got, err := s.histogram(); err != nil || !cmp.Equal(got, want) {
		t.Errorf("histogram = %+v, %v, want %+v", got, err, want)
	}
	err := s.add(dist(exponential(64, 1.4, 1), 1))
	for _, part := range []string{"different bucket layouts", "explicit buckets (bounds [100 200])", "exponential buckets (64 finite, growth factor 1.4, scale 1)"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("add of another layout: error %v, want one naming %q", err, part)
		}
	}
	if h, err := (&latencySum{}).histogram(); err != nil || !h.Empty() || len(h.Bounds) != 0 {
		t.Errorf("empty sum's histogram = %+v, %v, want empty", h, err)
	}
}

// TestObserveMismatchedLayouts checks that Observe refuses to add latency
// points of different layouts, naming them, and that the API's own refusal
// to sum them in one minute surfaces as ErrInvalid.
func TestObserveMismatchedLayouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		second time.Time
		want   string
	}{
		{"in two minutes", at(0), `latency of revision "api-v2": the points have different bucket layouts, `},
		{"in one minute", at(-time.Minute), "cannot sum distributions with different buckets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := noonEnv(t)
			e.mon.Serve(resource(candidateRevision), "2xx", at(-time.Minute), 10, 20)
			e.mon.Add(resource(candidateRevision), metricRequestLatencies, "5xx", tc.second, fake.Distribution(explicit(100, 200), 150))
			_, err := e.provider(t).Observe(t.Context(), gates.CountQuery{Candidate: candidateRevision, Window: window(-5*time.Minute, 0)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Observe error %v, want one with %q", err, tc.want)
			}
			if refused := strings.Contains(tc.want, "cannot sum"); refused != errors.Is(err, providers.ErrInvalid) {
				t.Errorf("Observe error %v: ErrInvalid is %v, want %v", err, !refused, refused)
			}
		})
	}
}
