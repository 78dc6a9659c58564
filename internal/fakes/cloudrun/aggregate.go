package cloudrun

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/distribution"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CloudRunLayout is the bucket layout the fake gives request_latencies:
// exponential, as Cloud Run's is. The reference notes record no parameters
// for Cloud Run; these are those Google's load balancers report for their
// latencies (64 finite buckets growing by √2 from 1 ms).
func CloudRunLayout() *distribution.Distribution_BucketOptions {
	return &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExponentialBuckets{
		ExponentialBuckets: &distribution.Distribution_BucketOptions_Exponential{NumFiniteBuckets: 64, GrowthFactor: math.Sqrt2, Scale: 1},
	}}
}

// count is an INT64 value.
func count(n int64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: n}}
}

// alignDelta sums the points into periods of length period ending at end,
// end-period, ...; each aligned point ends where its period does.
func alignDelta(points []*monitoringpb.Point, end time.Time, period time.Duration) ([]*monitoringpb.Point, error) {
	byEnd := map[time.Time]*monitoringpb.Point{}
	for _, pt := range points {
		k := end.Sub(pt.GetInterval().GetEndTime().AsTime()) / period // the period (end-(k+1)p, end-kp] holds it
		pEnd := end.Add(-k * period)
		sum, ok := byEnd[pEnd]
		if !ok {
			sum = &monitoringpb.Point{Interval: &monitoringpb.TimeInterval{
				StartTime: timestamppb.New(pEnd.Add(-period)), EndTime: timestamppb.New(pEnd),
			}}
			byEnd[pEnd] = sum
		}
		if err := addValue(sum, pt.GetValue()); err != nil {
			return nil, err
		}
	}
	return newestFirst(byEnd), nil
}

// newestFirst lists the points by descending end time, as the API does.
func newestFirst(byEnd map[time.Time]*monitoringpb.Point) []*monitoringpb.Point {
	var out []*monitoringpb.Point
	for _, pt := range byEnd {
		out = append(out, pt)
	}
	slices.SortFunc(out, func(a, b *monitoringpb.Point) int {
		return b.GetInterval().GetEndTime().AsTime().Compare(a.GetInterval().GetEndTime().AsTime())
	})
	return out
}

// sumSeries reduces series to one series per group-by value combination,
// whose points sum theirs by end time.
func sumSeries(series []*monitoringpb.TimeSeries, groupBy []string) ([]*monitoringpb.TimeSeries, error) {
	type group struct {
		ts    *monitoringpb.TimeSeries
		byEnd map[time.Time]*monitoringpb.Point
	}
	var order []string
	groups := map[string]*group{}
	for _, ts := range series {
		var key strings.Builder
		for _, g := range groupBy {
			key.WriteString(field(ts, g) + "\x00")
		}
		g, ok := groups[key.String()]
		if !ok {
			g = &group{ts: groupSeries(ts, groupBy), byEnd: map[time.Time]*monitoringpb.Point{}}
			groups[key.String()] = g
			order = append(order, key.String())
		}
		for _, pt := range ts.GetPoints() {
			t := pt.GetInterval().GetEndTime().AsTime()
			if g.byEnd[t] == nil {
				g.byEnd[t] = &monitoringpb.Point{Interval: proto.Clone(pt.GetInterval()).(*monitoringpb.TimeInterval)}
			}
			if err := addValue(g.byEnd[t], pt.GetValue()); err != nil {
				return nil, err
			}
		}
	}
	var out []*monitoringpb.TimeSeries
	for _, k := range order {
		g := groups[k]
		g.ts.Points = newestFirst(g.byEnd)
		out = append(out, g.ts)
	}
	return out, nil
}

// groupSeries is an empty series labelled with ts's group-by labels only.
func groupSeries(ts *monitoringpb.TimeSeries, groupBy []string) *monitoringpb.TimeSeries {
	out := &monitoringpb.TimeSeries{
		Metric:     &metricpb.Metric{Type: ts.GetMetric().GetType(), Labels: map[string]string{}},
		Resource:   &monitoredres.MonitoredResource{Type: ts.GetResource().GetType(), Labels: map[string]string{}},
		MetricKind: ts.GetMetricKind(),
	}
	for _, g := range groupBy {
		if l, ok := strings.CutPrefix(normalKey(g), "metric.labels."); ok {
			out.Metric.Labels[l] = field(ts, g)
		} else {
			out.Resource.Labels[strings.TrimPrefix(normalKey(g), "resource.labels.")] = field(ts, g)
		}
	}
	return out
}

// addValue adds v into the point's value: integers add up, distributions
// with the same buckets merge.
func addValue(pt *monitoringpb.Point, v *monitoringpb.TypedValue) error {
	d := v.GetDistributionValue()
	if d == nil {
		pt.Value = count(pt.GetValue().GetInt64Value() + v.GetInt64Value())
		return nil
	}
	sum := pt.GetValue().GetDistributionValue()
	if sum == nil {
		pt.Value = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{
			DistributionValue: proto.Clone(d).(*distribution.Distribution),
		}}
		return nil
	}
	if !proto.Equal(sum.GetBucketOptions(), d.GetBucketOptions()) {
		return status.Errorf(codes.InvalidArgument, "cannot sum distributions with different buckets")
	}
	sum.Count += d.GetCount()
	for i, n := range d.GetBucketCounts() {
		if i == len(sum.BucketCounts) {
			sum.BucketCounts = append(sum.BucketCounts, 0)
		}
		sum.BucketCounts[i] += n
	}
	return nil
}

// Distribution is the distribution of the values over the layout, as a
// point's value. It panics on a layout without buckets.
func Distribution(layout *distribution.Distribution_BucketOptions, values ...float64) *monitoringpb.TypedValue {
	bounds, err := upperBounds(layout)
	if err != nil {
		panic(err)
	}
	d := &distribution.Distribution{BucketOptions: layout, BucketCounts: make([]int64, len(bounds)+1)}
	for _, v := range values {
		i, found := slices.BinarySearch(bounds, v)
		if found { // buckets hold values below their upper bound
			i++
		}
		d.BucketCounts[i]++
		d.Count++
	}
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{DistributionValue: d}}
}

// upperBounds lists the finite buckets' upper bounds of the layout (the
// underflow bucket's first), as Cloud Monitoring defines them.
func upperBounds(o *distribution.Distribution_BucketOptions) ([]float64, error) {
	var n int
	var bound func(k int) float64
	switch {
	case o.GetLinearBuckets() != nil:
		l := o.GetLinearBuckets()
		n, bound = int(l.GetNumFiniteBuckets()), func(k int) float64 { return l.GetOffset() + l.GetWidth()*float64(k) }
	case o.GetExponentialBuckets() != nil:
		e := o.GetExponentialBuckets()
		n, bound = int(e.GetNumFiniteBuckets()), func(k int) float64 { return e.GetScale() * math.Pow(e.GetGrowthFactor(), float64(k)) }
	case len(o.GetExplicitBuckets().GetBounds()) > 0:
		return slices.Clone(o.GetExplicitBuckets().GetBounds()), nil
	default:
		return nil, fmt.Errorf("the layout %v has no buckets", o)
	}
	if n < 1 {
		return nil, fmt.Errorf("the layout %v has no finite bucket", o)
	}
	bounds := make([]float64, n+1)
	for k := range bounds {
		bounds[k] = bound(k)
	}
	return bounds, nil
}
