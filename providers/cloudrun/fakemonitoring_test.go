package cloudrun

import (
	"context"
	"regexp"
	"strings"
	"sync"
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

// filterTerm is one `key = "value"` term of a Monitoring filter.
var filterTerm = regexp.MustCompile(`^\s*([a-z_.]+)\s*=\s*"([^"]*)"\s*$`)

// fakeMonitoring is a stateful Cloud Monitoring MetricService that keeps
// time series and answers ListTimeSeries: it filters by metric type and
// labels, keeps the points inside the interval and sums series per group
// as REDUCE_SUM does. It refuses malformed requests as the real API does.
type fakeMonitoring struct {
	monitoringpb.UnimplementedMetricServiceServer

	mu       sync.Mutex
	series   []*monitoringpb.TimeSeries
	requests []*monitoringpb.ListTimeSeriesRequest
}

// add records one point ending at end for the Cloud Run revision rev of
// service svc, with the response_code_class label class.
func (f *fakeMonitoring) add(metricType, svc, rev, class string, end time.Time, v *monitoringpb.TypedValue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pt := &monitoringpb.Point{
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(-time.Minute)), EndTime: timestamppb.New(end)},
		Value:    v,
	}
	ts := &monitoringpb.TimeSeries{
		Metric: &metricpb.Metric{Type: metricType, Labels: map[string]string{"response_code_class": class}},
		Resource: &monitoredres.MonitoredResource{Type: "cloud_run_revision", Labels: map[string]string{
			"project_id": "p", "location": "europe-west1", "service_name": svc, "revision_name": rev,
		}},
	}
	for _, s := range f.series {
		if proto.Equal(s.GetMetric(), ts.GetMetric()) && proto.Equal(s.GetResource(), ts.GetResource()) {
			s.Points = append(s.Points, pt)
			return
		}
	}
	ts.Points = []*monitoringpb.Point{pt}
	f.series = append(f.series, ts)
}

func (f *fakeMonitoring) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(req).(*monitoringpb.ListTimeSeriesRequest))
	if !regexp.MustCompile(`^projects/[^/]+$`).MatchString(req.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "name %q is not projects/PROJECT", req.GetName())
	}
	start, end := req.GetInterval().GetStartTime().AsTime(), req.GetInterval().GetEndTime().AsTime()
	if req.GetInterval().GetEndTime() == nil || start.After(end) {
		return nil, status.Errorf(codes.InvalidArgument, "the interval needs an end time after its start time")
	}
	terms, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	agg := req.GetAggregation()
	switch {
	case agg == nil:
	case agg.GetAlignmentPeriod().AsDuration() < time.Minute:
		return nil, status.Errorf(codes.InvalidArgument, "the alignment period must be at least 60 seconds")
	case agg.GetCrossSeriesReducer() != monitoringpb.Aggregation_REDUCE_NONE && agg.GetPerSeriesAligner() == monitoringpb.Aggregation_ALIGN_NONE:
		return nil, status.Errorf(codes.InvalidArgument, "a cross-series reducer needs a per-series aligner")
	}
	var matched []*monitoringpb.TimeSeries
	for _, ts := range f.series {
		if !matches(ts, terms) {
			continue
		}
		in := proto.Clone(ts).(*monitoringpb.TimeSeries)
		in.Points = nil
		for _, pt := range ts.GetPoints() {
			if t := pt.GetInterval().GetEndTime().AsTime(); t.After(start) && !t.After(end) {
				in.Points = append(in.Points, pt)
			}
		}
		if len(in.Points) > 0 {
			matched = append(matched, in)
		}
	}
	if agg.GetCrossSeriesReducer() == monitoringpb.Aggregation_REDUCE_SUM {
		if matched, err = sumSeries(matched, agg.GetGroupByFields(), end); err != nil {
			return nil, err
		}
	}
	return &monitoringpb.ListTimeSeriesResponse{TimeSeries: matched}, nil
}

// parseFilter reads `key = "value" AND ...`; metric.type is required.
func parseFilter(filter string) (map[string]string, error) {
	terms := map[string]string{}
	for term := range strings.SplitSeq(filter, " AND ") {
		m := filterTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "cannot parse filter term %q", term)
		}
		key := normalKey(m[1])
		if key != "metric.type" && key != "resource.type" && !strings.HasPrefix(key, "metric.labels.") && !strings.HasPrefix(key, "resource.labels.") {
			return nil, status.Errorf(codes.InvalidArgument, "unknown filter field %q", m[1])
		}
		terms[key] = m[2]
	}
	if terms["metric.type"] == "" {
		return nil, status.Errorf(codes.InvalidArgument, "the filter must name a metric.type")
	}
	return terms, nil
}

// normalKey spells metric.label.X and resource.label.X with "labels".
func normalKey(key string) string { return strings.Replace(key, ".label.", ".labels.", 1) }

// field is the value of a filter or group-by field on ts.
func field(ts *monitoringpb.TimeSeries, key string) string {
	key = normalKey(key)
	switch {
	case key == "metric.type":
		return ts.GetMetric().GetType()
	case key == "resource.type":
		return ts.GetResource().GetType()
	case strings.HasPrefix(key, "metric.labels."):
		return ts.GetMetric().GetLabels()[strings.TrimPrefix(key, "metric.labels.")]
	default:
		return ts.GetResource().GetLabels()[strings.TrimPrefix(key, "resource.labels.")]
	}
}

func matches(ts *monitoringpb.TimeSeries, terms map[string]string) bool {
	for k, v := range terms {
		if field(ts, k) != v {
			return false
		}
	}
	return true
}

// sumSeries reduces series to one series per group-by value combination,
// with one point summing all of theirs.
func sumSeries(series []*monitoringpb.TimeSeries, groupBy []string, end time.Time) ([]*monitoringpb.TimeSeries, error) {
	var out []*monitoringpb.TimeSeries
	groups := map[string]*monitoringpb.TimeSeries{}
	for _, ts := range series {
		var key strings.Builder
		for _, g := range groupBy {
			key.WriteString(field(ts, g) + "\x00")
		}
		sum, ok := groups[key.String()]
		if !ok {
			sum = &monitoringpb.TimeSeries{
				Metric:   &metricpb.Metric{Type: ts.GetMetric().GetType(), Labels: map[string]string{}},
				Resource: &monitoredres.MonitoredResource{Type: ts.GetResource().GetType(), Labels: map[string]string{}},
				Points:   []*monitoringpb.Point{{Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(end)}}},
			}
			for _, g := range groupBy {
				if l, ok := strings.CutPrefix(normalKey(g), "metric.labels."); ok {
					sum.Metric.Labels[l] = field(ts, g)
				} else {
					sum.Resource.Labels[strings.TrimPrefix(normalKey(g), "resource.labels.")] = field(ts, g)
				}
			}
			groups[key.String()] = sum
			out = append(out, sum)
		}
		for _, pt := range ts.GetPoints() {
			if err := addValue(sum.Points[0], pt.GetValue()); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// addValue adds v into the point's value: integers add up, distributions
// with the same buckets merge.
func addValue(pt *monitoringpb.Point, v *monitoringpb.TypedValue) error {
	d := v.GetDistributionValue()
	if d == nil {
		pt.Value = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{
			Int64Value: pt.GetValue().GetInt64Value() + v.GetInt64Value(),
		}}
		return nil
	}
	sum := pt.GetValue().GetDistributionValue()
	if sum == nil {
		pt.Value = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{
			DistributionValue: proto.Clone(d).(*distribution.Distribution),
		}}
		return nil
	}
	if !proto.Equal(sum.GetBucketOptions(), d.GetBucketOptions()) || len(sum.GetBucketCounts()) != len(d.GetBucketCounts()) {
		return status.Errorf(codes.InvalidArgument, "cannot sum distributions with different buckets")
	}
	sum.Count += d.GetCount()
	for i, n := range d.GetBucketCounts() {
		sum.BucketCounts[i] += n
	}
	return nil
}
