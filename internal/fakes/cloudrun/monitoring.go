package cloudrun

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The Cloud Run metrics the fake keeps.
const (
	MetricRequestCount     = "run.googleapis.com/request_count"
	MetricRequestLatencies = "run.googleapis.com/request_latencies"
)

// DefaultLag is the fake's ingestion delay unless told otherwise: the
// provider's default metrics-delay, so a judge at the defaults sees every
// point.
const DefaultLag = 3 * time.Minute

// Monitoring is a stateful Cloud Monitoring MetricService that keeps time
// series and answers ListTimeSeries as the real API does for the requests
// the provider makes: it filters by metric type and labels (with one_of),
// keeps the points that end inside the interval, aligns them with
// ALIGN_DELTA into periods ending at the interval's end, and sums series
// per group as REDUCE_SUM does. Like the real API, it shows a point only
// once it is ingested: points ending after its clock's now − lag are
// hidden. It refuses what the real API refuses (InvalidArgument) and what
// it does not model (Unimplemented). Its methods are safe for concurrent
// use.
type Monitoring struct {
	monitoringpb.UnimplementedMetricServiceServer

	mu       sync.Mutex
	series   []*monitoringpb.TimeSeries
	requests []*monitoringpb.ListTimeSeriesRequest
	// lag is how long after its end a point becomes visible; now is the
	// clock (time.Now, the bubble's in synctest, when nil).
	lag time.Duration
	now func() time.Time
	// fail, when set, is the status of each call from then on, counting
	// from 0; OK answers it.
	fail  func(call int) codes.Code
	calls int
}

// Resource is the Cloud Run revision a time series is about: the labels
// of its cloud_run_revision monitored resource.
type Resource struct {
	Project, Location, Service, Revision string
}

func (r Resource) labels() map[string]string {
	return map[string]string{"project_id": r.Project, "location": r.Location, "service_name": r.Service, "revision_name": r.Revision}
}

// NewMonitoring returns a Cloud Monitoring holding no point, that shows
// points lag after their end.
func NewMonitoring(lag time.Duration) *Monitoring { return &Monitoring{lag: lag} }

// Register serves the fake on srv.
func (f *Monitoring) Register(srv *grpc.Server) { monitoringpb.RegisterMetricServiceServer(srv, f) }

// SetLag sets the ingestion delay from now on.
func (f *Monitoring) SetLag(lag time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lag = lag
}

// StopClock fixes the fake's now at t, for points seeded at fixed times.
func (f *Monitoring) StopClock(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = func() time.Time { return t }
}

// Now is the fake's clock.
func (f *Monitoring) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock()
}

// clock is the fake's now; f.mu is held.
func (f *Monitoring) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// ingested is the end time of the newest point the fake shows; f.mu is
// held.
func (f *Monitoring) ingested() time.Time { return f.clock().Add(-f.lag) }

// FailWith makes the calls from now on fail as fail says: fail(n) is the
// status of the n-th call from now (counting from 0), codes.OK to answer
// it; nil answers them all.
func (f *Monitoring) FailWith(fail func(call int) codes.Code) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.calls = fail, 0
}

// Received returns the ListTimeSeries requests received so far.
func (f *Monitoring) Received() []*monitoringpb.ListTimeSeriesRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Add records one DELTA point of metricType, for the minute ending at end,
// about the revision r, with the response_code_class label class.
func (f *Monitoring) Add(r Resource, metricType, class string, end time.Time, v *monitoringpb.TypedValue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.seriesOf(r, metricType, class)
	ts.Points = append(ts.Points, &monitoringpb.Point{
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(-time.Minute)), EndTime: timestamppb.New(end)},
		Value:    v,
	})
}

// Serve records what Cloud Run reports for requests of r answered with
// class in the minute ending at end, one per latency (ms): their count in
// request_count and their distribution in request_latencies.
func (f *Monitoring) Serve(r Resource, class string, end time.Time, latencies ...float64) {
	f.Add(r, MetricRequestCount, class, end, count(int64(len(latencies))))
	f.Add(r, MetricRequestLatencies, class, end, Distribution(CloudRunLayout(), latencies...))
}

// Record counts n requests of r answered with class in latency ms each,
// served at t, into the one-minute points of request_count and
// request_latencies that hold t (the minute ending at or after t), as
// Cloud Run samples them.
func (f *Monitoring) Record(r Resource, class string, t time.Time, n int, latency float64) {
	if n <= 0 {
		return
	}
	end := t.Truncate(time.Minute)
	if end.Before(t) {
		end = end.Add(time.Minute)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.merge(f.seriesOf(r, MetricRequestCount, class), end, count(int64(n)))
	f.merge(f.seriesOf(r, MetricRequestLatencies, class), end, Distribution(CloudRunLayout(), slices.Repeat([]float64{latency}, n)...))
}

// merge adds v to ts's point of the minute ending at end, creating it when
// missing; f.mu is held.
func (f *Monitoring) merge(ts *monitoringpb.TimeSeries, end time.Time, v *monitoringpb.TypedValue) {
	for _, pt := range ts.Points {
		if pt.GetInterval().GetEndTime().AsTime().Equal(end) {
			_ = addValue(pt, v) // the fake's own layout: cannot differ
			return
		}
	}
	ts.Points = append(ts.Points, &monitoringpb.Point{
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(-time.Minute)), EndTime: timestamppb.New(end)},
		Value:    v,
	})
}

// seriesOf is the stored series of metricType about r with class, created
// when missing; f.mu is held.
func (f *Monitoring) seriesOf(r Resource, metricType, class string) *monitoringpb.TimeSeries {
	ts := &monitoringpb.TimeSeries{
		Metric:     &metricpb.Metric{Type: metricType, Labels: map[string]string{"response_code_class": class}},
		Resource:   &monitoredres.MonitoredResource{Type: "cloud_run_revision", Labels: r.labels()},
		MetricKind: metricpb.MetricDescriptor_DELTA,
	}
	for _, s := range f.series {
		if proto.Equal(s.GetMetric(), ts.GetMetric()) && proto.Equal(s.GetResource(), ts.GetResource()) {
			return s
		}
	}
	f.series = append(f.series, ts)
	return ts
}

// ListTimeSeries implements monitoringpb.MetricServiceServer.
func (f *Monitoring) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(req).(*monitoringpb.ListTimeSeriesRequest))
	if f.fail != nil {
		code := f.fail(f.calls)
		f.calls++
		if code != codes.OK {
			return nil, status.Errorf(code, "Permission monitoring.timeSeries.list denied (or the resource may not exist).")
		}
	}
	terms, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	start, end := req.GetInterval().GetStartTime().AsTime(), req.GetInterval().GetEndTime().AsTime()
	visible := f.ingested()
	agg := req.GetAggregation()
	var out []*monitoringpb.TimeSeries
	for _, ts := range f.series {
		if !matches(ts, terms) {
			continue
		}
		in := proto.Clone(ts).(*monitoringpb.TimeSeries)
		in.Points = slices.DeleteFunc(in.Points, func(pt *monitoringpb.Point) bool {
			t := pt.GetInterval().GetEndTime().AsTime()
			return !t.After(start) || t.After(end) || t.After(visible)
		})
		if agg.GetPerSeriesAligner() == monitoringpb.Aggregation_ALIGN_DELTA {
			if in.Points, err = alignDelta(in.Points, end, agg.GetAlignmentPeriod().AsDuration()); err != nil {
				return nil, err
			}
		}
		if len(in.Points) > 0 {
			out = append(out, in)
		}
	}
	if agg.GetCrossSeriesReducer() == monitoringpb.Aggregation_REDUCE_SUM {
		if out, err = sumSeries(out, agg.GetGroupByFields()); err != nil {
			return nil, err
		}
	}
	return &monitoringpb.ListTimeSeriesResponse{TimeSeries: out}, nil
}

// checkRequest refuses a request the real API refuses, or one the fake
// cannot answer, and returns the filter's terms.
func checkRequest(req *monitoringpb.ListTimeSeriesRequest) (map[string][]string, error) {
	if !regexp.MustCompile(`^projects/[^/]+$`).MatchString(req.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "name %q is not projects/PROJECT", req.GetName())
	}
	iv := req.GetInterval()
	if iv.GetEndTime() == nil || iv.GetStartTime().AsTime().After(iv.GetEndTime().AsTime()) {
		return nil, status.Errorf(codes.InvalidArgument, "the interval needs an end time not before its start time")
	}
	terms, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	agg := req.GetAggregation()
	aligned := agg.GetPerSeriesAligner() != monitoringpb.Aggregation_ALIGN_NONE
	switch {
	case agg.GetAlignmentPeriod() != nil && agg.GetAlignmentPeriod().AsDuration() < time.Minute:
		return nil, status.Errorf(codes.InvalidArgument, "The alignment period must be at least 60 seconds.")
	case aligned && agg.GetAlignmentPeriod() == nil:
		return nil, status.Errorf(codes.InvalidArgument, "An alignment period is required with a per-series aligner.")
	case agg.GetCrossSeriesReducer() != monitoringpb.Aggregation_REDUCE_NONE && !aligned:
		return nil, status.Errorf(codes.InvalidArgument, "A cross-series reducer requires a per-series aligner.")
	case aligned && agg.GetPerSeriesAligner() != monitoringpb.Aggregation_ALIGN_DELTA:
		return nil, status.Errorf(codes.Unimplemented, "the fake aligns with ALIGN_DELTA only")
	case !slices.Contains([]monitoringpb.Aggregation_Reducer{monitoringpb.Aggregation_REDUCE_NONE, monitoringpb.Aggregation_REDUCE_SUM}, agg.GetCrossSeriesReducer()):
		return nil, status.Errorf(codes.Unimplemented, "the fake reduces with REDUCE_SUM only")
	}
	for _, g := range agg.GetGroupByFields() {
		if !knownField(normalKey(g)) {
			return nil, status.Errorf(codes.InvalidArgument, "cannot group by %q", g)
		}
	}
	return terms, nil
}
