package cloudrun

import (
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestFakeMonitoringRefuses checks that the fake refuses, through the real
// client, what the real API refuses and what it does not model.
func TestFakeMonitoringRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*monitoringpb.ListTimeSeriesRequest)
		want   codes.Code
	}{
		{"an alignment period under a minute", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Aggregation.AlignmentPeriod = durationpb.New(30 * time.Second)
		}, codes.InvalidArgument},
		{"an aligner without a period", func(r *monitoringpb.ListTimeSeriesRequest) { r.Aggregation.AlignmentPeriod = nil }, codes.InvalidArgument},
		{"a reducer without an aligner", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Aggregation.PerSeriesAligner = monitoringpb.Aggregation_ALIGN_NONE
		}, codes.InvalidArgument},
		{"an unparsable filter term", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Filter += ` AND resource.labels.revision_name != "api-v2"`
		}, codes.InvalidArgument},
		{"an unknown filter field", func(r *monitoringpb.ListTimeSeriesRequest) { r.Filter += ` AND revision = "api-v2"` }, codes.InvalidArgument},
		{"two metric types", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Filter = `metric.type=one_of("run.googleapis.com/request_count", "run.googleapis.com/request_latencies")`
		}, codes.InvalidArgument},
		{"no metric type", func(r *monitoringpb.ListTimeSeriesRequest) { r.Filter = `resource.type="cloud_run_revision"` }, codes.InvalidArgument},
		{"an unquoted one_of value", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Filter += ` AND resource.labels.revision_name = one_of(api-v2)`
		}, codes.InvalidArgument},
		{"a bad group-by field", func(r *monitoringpb.ListTimeSeriesRequest) { r.Aggregation.GroupByFields = []string{"revision"} }, codes.InvalidArgument},
		{"an interval ending before it starts", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Interval.StartTime = timestamppb.New(at(time.Hour))
		}, codes.InvalidArgument},
		{"a name that is not a project", func(r *monitoringpb.ListTimeSeriesRequest) { r.Name = "p" }, codes.InvalidArgument},
		{"another aligner", func(r *monitoringpb.ListTimeSeriesRequest) {
			r.Aggregation.PerSeriesAligner = monitoringpb.Aggregation_ALIGN_RATE
		}, codes.Unimplemented},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := noonEnv(t)
			p := e.provider(t)
			req := fakeRequest(p, at(-time.Minute), at(0))
			tc.change(req)
			if _, err := listSeries(t, p, req); status.Code(err) != tc.want {
				t.Errorf("ListTimeSeries error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestFakeMonitoringInterval checks that the fake keeps the points that end
// inside the interval, (start, end], and aligns them to periods ending at
// the interval's end, as the real API does.
func TestFakeMonitoringInterval(t *testing.T) {
	t.Parallel()
	e := noonEnv(t)
	for _, end := range []time.Duration{-3 * time.Minute, -2 * time.Minute, -90 * time.Second, -time.Minute, 0, time.Minute} {
		e.mon.Serve(resource(candidateRevision), "2xx", at(end), 10)
	}
	p := e.provider(t)
	cases := []struct {
		name       string
		start, end time.Duration
		aligned    bool
		want       map[time.Duration]int64 // point end → requests
	}{
		{"raw points", -2 * time.Minute, 0, false, map[time.Duration]int64{-90 * time.Second: 1, -time.Minute: 1, 0: 1}},
		{"aligned on the minute", -3 * time.Minute, 0, true, map[time.Duration]int64{-2 * time.Minute: 1, -time.Minute: 2, 0: 1}},
		{"aligned off the minute", -2 * time.Minute, 30 * time.Second, true, map[time.Duration]int64{-90 * time.Second: 1, -30 * time.Second: 1, 30 * time.Second: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := fakeRequest(p, at(tc.start), at(tc.end))
			if !tc.aligned {
				req.Aggregation = nil
			}
			series, err := listSeries(t, p, req)
			if err != nil {
				t.Fatal(err)
			}
			got := map[time.Duration]int64{}
			for _, ts := range series {
				for _, pt := range ts.GetPoints() {
					got[pt.GetInterval().GetEndTime().AsTime().Sub(noon)] += pt.GetValue().GetInt64Value()
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("points %v, want %v", got, tc.want)
			}
			for end, n := range tc.want {
				if got[end] != n {
					t.Errorf("points %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

// fakeRequest is the request count Observe asks for, over (start, end].
func fakeRequest(p *Provider, start, end time.Time) *monitoringpb.ListTimeSeriesRequest {
	req := p.seriesRequest(metricRequestCount, []string{candidateRevision, seedRevision},
		&monitoringpb.TimeInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)}, groupByRevision)
	return req
}

func listSeries(t *testing.T, p *Provider, req *monitoringpb.ListTimeSeriesRequest) ([]*monitoringpb.TimeSeries, error) {
	t.Helper()
	mc, err := p.metricsClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return mc.ListTimeSeries(t.Context(), req)
}
