package cloudrun

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// The Cloud Run metrics the judge reads, the labels it groups them by, and
// the alignment period of the points it asks for: the least period Cloud
// Monitoring accepts, and the period at which Cloud Run samples its DELTA
// metrics.
const (
	metricRequestCount     = "run.googleapis.com/request_count"
	metricRequestLatencies = "run.googleapis.com/request_latencies"
	groupByRevision        = "resource.labels.revision_name"
	groupByClass           = "metric.labels.response_code_class"
	alignment              = time.Minute
)

// ingestionDelay is how late the judge reads Cloud Monitoring: Cloud Run's
// metrics are "sampled every 60 seconds. After sampling, data is not
// visible for up to 240 seconds", so a window ending now would hold almost
// none of its requests yet. The default of metrics-delay for cloudrun.
const ingestionDelay = 3 * time.Minute

var _ gates.DelayedSource = (*Provider)(nil)

// MetricsDelay is the delay the analysis applies to Cloud Monitoring when
// metrics-delay is not given: each poll judges the window that ended this
// long ago.
func (p *Provider) MetricsDelay() time.Duration { return ingestionDelay }

// Observe reads the requests, the 5xx errors and the latency histogram of
// the candidate and, when q names one, of the stable revision over q.Window
// from Cloud Monitoring, in two ListTimeSeries calls that each cover both
// revisions: request_count summed by revision and response code class, and
// request_latencies summed by revision (see latencyHistogram).
//
// The window rule makes consecutive windows exact: Observe asks for DELTA
// points aligned to whole minutes (ALIGN_DELTA over 60-second periods, over
// an interval that starts and ends on a minute, so every point ends on a
// minute whatever the window), and counts each point in the one window that
// holds its end time: after Window.Start, up to and including Window.End.
// As consecutive windows share their bounds, every minute's requests count
// in exactly one window, none in two and none in neither. A window that
// holds no minute's end (a window under a minute may not) measures nothing
// and makes no call; the next window counts that minute. A minute that
// Cloud Monitoring has not yet ingested when its window is read is not
// counted later: hence the analysis reads windows that ended MetricsDelay
// ago, not now.
func (p *Provider) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	o := gates.Observation{Window: q.Window}
	revs := []string{q.Candidate}
	if q.Stable != "" {
		revs = append(revs, q.Stable)
	}
	action := "observe revisions " + quoteAll(revs, " and ") + " of"
	if err := checkQuery(q); err != nil {
		return o, p.fail(action, err)
	}
	interval, ok := minutesOf(q.Window)
	if !ok {
		return o, nil
	}
	mc, err := p.metricsClient(ctx)
	if err != nil {
		return o, p.fail(action, err)
	}
	counts, err := mc.ListTimeSeries(ctx, p.seriesRequest(metricRequestCount, revs, interval, groupByRevision, groupByClass))
	if err != nil {
		return o, p.fail(action, err)
	}
	latencies, err := mc.ListTimeSeries(ctx, p.seriesRequest(metricRequestLatencies, revs, interval, groupByRevision))
	if err != nil {
		return o, p.fail(action, err)
	}
	byRev := make(map[string]*gates.Counts, len(revs))
	for _, r := range revs {
		byRev[r] = &gates.Counts{}
	}
	tallyRequests(byRev, counts, q.Window)
	if err := tallyLatency(byRev, latencies, q.Window); err != nil {
		return o, p.fail(action, err)
	}
	o.Candidate = *byRev[q.Candidate]
	if q.Stable != "" {
		o.Stable = *byRev[q.Stable]
	}
	return o, nil
}

// checkQuery reports a query Observe cannot answer.
func checkQuery(q gates.CountQuery) error {
	switch {
	case q.Candidate == "":
		return fmt.Errorf("%w: no candidate revision to observe", providers.ErrInvalid)
	case q.Stable == q.Candidate:
		return fmt.Errorf("%w: the candidate and the stable are the same revision", providers.ErrInvalid)
	case q.Window.Start.IsZero() || !q.Window.End.After(q.Window.Start):
		return fmt.Errorf("%w: empty window %s to %s", providers.ErrInvalid,
			q.Window.Start.Format(time.RFC3339), q.Window.End.Format(time.RFC3339))
	}
	return nil
}

// minutesOf is the interval to ask for the minutes that end inside w: from
// the start of the first such minute to the end of the last; false when no
// minute ends inside w.
func minutesOf(w gates.Window) (*monitoringpb.TimeInterval, bool) {
	first := w.Start.Truncate(alignment).Add(alignment) // the first minute's end after Start
	last := w.End.Truncate(alignment)                   // the last minute's end at or before End
	if last.Before(first) {
		return nil, false
	}
	return &monitoringpb.TimeInterval{
		StartTime: timestamppb.New(first.Add(-alignment)),
		EndTime:   timestamppb.New(last),
	}, true
}

// metricsClient connects to Cloud Monitoring on first use.
func (p *Provider) metricsClient(ctx context.Context) (metricsAPI, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.metrics == nil {
		m, err := newMetrics(context.WithoutCancel(ctx), slices.Concat(p.opts, p.metricsOpts))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", providers.ErrPermission, err)
		}
		p.metrics = m
	}
	return p.metrics, nil
}

// seriesRequest asks for metric of the revisions over the interval, as
// one-minute DELTA points summed across series per groupBy combination.
// The filter names the project too: a metrics scope may span several
// projects, whose services can share the name, region and revision names.
func (p *Provider) seriesRequest(metric string, revs []string, interval *monitoringpb.TimeInterval, groupBy ...string) *monitoringpb.ListTimeSeriesRequest {
	revFilter := strconv.Quote(revs[0])
	if len(revs) > 1 {
		revFilter = "one_of(" + quoteAll(revs, ", ") + ")"
	}
	return &monitoringpb.ListTimeSeriesRequest{
		Name: "projects/" + p.cfg.Project,
		Filter: fmt.Sprintf(`metric.type=%q AND resource.type="cloud_run_revision" AND resource.labels.project_id=%q AND `+
			`resource.labels.service_name=%q AND resource.labels.location=%q AND resource.labels.revision_name=%s`,
			metric, p.cfg.Project, p.cfg.Service, p.cfg.Region, revFilter),
		Interval: interval,
		Aggregation: &monitoringpb.Aggregation{
			AlignmentPeriod:    durationpb.New(alignment),
			PerSeriesAligner:   monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM,
			GroupByFields:      groupBy,
		},
		View: monitoringpb.ListTimeSeriesRequest_FULL,
	}
}

// quoteAll quotes each value and joins them with sep.
func quoteAll(values []string, sep string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return strings.Join(quoted, sep)
}

// inWindow reports whether the point ends inside w: the window rule.
func inWindow(pt *monitoringpb.Point, w gates.Window) bool {
	end := pt.GetInterval().GetEndTime().AsTime()
	return end.After(w.Start) && !end.After(w.End)
}

// tallyRequests adds the request counts of the points inside w to their
// revisions' counts; the 5xx class counts as errors too.
func tallyRequests(byRev map[string]*gates.Counts, series []*monitoringpb.TimeSeries, w gates.Window) {
	for _, ts := range series {
		c, ok := byRev[ts.GetResource().GetLabels()["revision_name"]]
		if !ok {
			continue
		}
		failed := ts.GetMetric().GetLabels()["response_code_class"] == "5xx"
		for _, pt := range ts.GetPoints() {
			if !inWindow(pt, w) {
				continue
			}
			n := pt.GetValue().GetInt64Value()
			if _, ok := pt.GetValue().GetValue().(*monitoringpb.TypedValue_DoubleValue); ok {
				n = int64(math.Round(pt.GetValue().GetDoubleValue()))
			}
			c.Requests += n
			if failed {
				c.Errors += n
			}
		}
	}
}

// tallyLatency sums the latency distributions of the points inside w per
// revision and sets the revisions' histograms.
func tallyLatency(byRev map[string]*gates.Counts, series []*monitoringpb.TimeSeries, w gates.Window) error {
	sums := map[string]*latencySum{}
	for _, ts := range series {
		rev := ts.GetResource().GetLabels()["revision_name"]
		if _, ok := byRev[rev]; !ok {
			continue
		}
		if sums[rev] == nil {
			sums[rev] = &latencySum{}
		}
		for _, pt := range ts.GetPoints() {
			if !inWindow(pt, w) {
				continue
			}
			if err := sums[rev].add(pt.GetValue().GetDistributionValue()); err != nil {
				return fmt.Errorf("latency of revision %q: %w", rev, err)
			}
		}
	}
	for rev, s := range sums {
		h, err := s.histogram()
		if err != nil {
			return fmt.Errorf("latency of revision %q: %w", rev, err)
		}
		byRev[rev].Latency = h
	}
	return nil
}
