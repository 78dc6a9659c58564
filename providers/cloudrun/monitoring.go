package cloudrun

import (
	"context"
	"fmt"
	"math"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// The Cloud Run metrics the gates read, and the least alignment period
// Cloud Monitoring accepts.
const (
	metricRequestCount     = "run.googleapis.com/request_count"
	metricRequestLatencies = "run.googleapis.com/request_latencies"
	minWindow              = time.Minute
)

// percentiles maps the latency metrics to their percentile.
var percentiles = map[string]float64{
	gates.MetricLatencyP50: 50,
	gates.MetricLatencyP95: 95,
	gates.MetricLatencyP99: 99,
}

// Measure reads q.Metric of revision q.Revision over the last q.Window (at
// least a minute) from Cloud Monitoring: the error rate is the percentage of
// request_count answered 5xx, a latency the percentile of the summed
// request_latencies distribution. Requests is the number of requests behind
// the value, so a gate can tell too little traffic from a good value.
func (p *Provider) Measure(ctx context.Context, q gates.Query) (gates.Sample, error) {
	action := fmt.Sprintf("measure %s of revision %q of", q.Metric, q.Revision)
	pct, latency := percentiles[q.Metric]
	switch {
	case !latency && q.Metric != gates.MetricErrorRate:
		return gates.Sample{}, p.fail(action, fmt.Errorf("%w: unknown metric %q", providers.ErrInvalid, q.Metric))
	case q.Revision == "":
		return gates.Sample{}, p.fail(action, fmt.Errorf("%w: no revision to measure", providers.ErrInvalid))
	}
	mc, err := p.metricsClient(ctx)
	if err != nil {
		return gates.Sample{}, p.fail(action, err)
	}
	req := p.seriesRequest(metricRequestCount, q, "metric.labels.response_code_class")
	if latency {
		req = p.seriesRequest(metricRequestLatencies, q)
	}
	series, err := mc.ListTimeSeries(ctx, req)
	if err != nil {
		return gates.Sample{}, p.fail(action, err)
	}
	if !latency {
		return errorRate(series), nil
	}
	d, err := mergeDistributions(series)
	if err != nil {
		return gates.Sample{}, p.fail(action, err)
	}
	return gates.Sample{Value: percentile(d, pct), Requests: d.GetCount()}, nil
}

// metricsClient connects to Cloud Monitoring on first use.
func (p *Provider) metricsClient(ctx context.Context) (metricsAPI, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.metrics == nil {
		m, err := newMetrics(context.WithoutCancel(ctx), p.opts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", providers.ErrPermission, err)
		}
		p.metrics = m
	}
	return p.metrics, nil
}

// seriesRequest asks for metric of the revision over the window, summed
// across series into one value per groupBy combination.
func (p *Provider) seriesRequest(metric string, q gates.Query, groupBy ...string) *monitoringpb.ListTimeSeriesRequest {
	window := max(q.Window, minWindow).Truncate(time.Second)
	end := p.now()
	return &monitoringpb.ListTimeSeriesRequest{
		Name: "projects/" + p.cfg.Project,
		Filter: fmt.Sprintf(`metric.type=%q AND resource.type="cloud_run_revision" AND `+
			`resource.labels.service_name=%q AND resource.labels.revision_name=%q AND resource.labels.location=%q`,
			metric, p.cfg.Service, q.Revision, p.cfg.Region),
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(-window)), EndTime: timestamppb.New(end)},
		Aggregation: &monitoringpb.Aggregation{
			AlignmentPeriod:    durationpb.New(window),
			PerSeriesAligner:   monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM,
			GroupByFields:      groupBy,
		},
		View: monitoringpb.ListTimeSeriesRequest_FULL,
	}
}

// errorRate sums request counts by response code class.
func errorRate(series []*monitoringpb.TimeSeries) gates.Sample {
	var total, failed int64
	for _, ts := range series {
		class := ts.GetMetric().GetLabels()["response_code_class"]
		for _, pt := range ts.GetPoints() {
			n := pt.GetValue().GetInt64Value()
			if _, ok := pt.GetValue().GetValue().(*monitoringpb.TypedValue_DoubleValue); ok {
				n = int64(math.Round(pt.GetValue().GetDoubleValue()))
			}
			total += n
			if class == "5xx" {
				failed += n
			}
		}
	}
	s := gates.Sample{Requests: total}
	if total > 0 {
		s.Value = 100 * float64(failed) / float64(total)
	}
	return s
}

// mergeDistributions adds up every distribution point; they must share
// their bucket layout.
func mergeDistributions(series []*monitoringpb.TimeSeries) (*distribution.Distribution, error) {
	out := &distribution.Distribution{}
	for _, ts := range series {
		for _, pt := range ts.GetPoints() {
			d := pt.GetValue().GetDistributionValue()
			if d.GetCount() == 0 {
				continue
			}
			if out.BucketOptions == nil {
				out.BucketOptions = d.GetBucketOptions()
			} else if !proto.Equal(out.BucketOptions, d.GetBucketOptions()) {
				return nil, fmt.Errorf("latency series have different bucket layouts")
			}
			out.Count += d.GetCount()
			for i, n := range d.GetBucketCounts() {
				if i == len(out.BucketCounts) {
					out.BucketCounts = append(out.BucketCounts, 0)
				}
				out.BucketCounts[i] += n
			}
		}
	}
	return out, nil
}

// percentile estimates the pct percentile of d, interpolating linearly
// inside the bucket that holds it; 0 for an empty distribution.
func percentile(d *distribution.Distribution, pct float64) float64 {
	var total int64
	for _, n := range d.GetBucketCounts() {
		total += n
	}
	rank := pct / 100 * float64(total)
	var seen float64
	for i, n := range d.GetBucketCounts() {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo, hi := bucketBounds(d.GetBucketOptions(), i)
			if math.IsInf(lo, -1) {
				lo = min(0, hi)
			}
			if math.IsInf(hi, 1) {
				return lo
			}
			return lo + (rank-seen)/float64(n)*(hi-lo)
		}
		seen += float64(n)
	}
	return 0
}

// bucketBounds is the range of bucket i: bucket 0 is the underflow bucket,
// the last one the overflow bucket.
func bucketBounds(o *distribution.Distribution_BucketOptions, i int) (lo, hi float64) {
	bound := func(int) float64 { return math.Inf(1) }
	n := 0
	switch {
	case o.GetLinearBuckets() != nil:
		l := o.GetLinearBuckets()
		n = int(l.GetNumFiniteBuckets())
		bound = func(k int) float64 { return l.GetOffset() + l.GetWidth()*float64(k) }
	case o.GetExponentialBuckets() != nil:
		e := o.GetExponentialBuckets()
		n = int(e.GetNumFiniteBuckets())
		bound = func(k int) float64 { return e.GetScale() * math.Pow(e.GetGrowthFactor(), float64(k)) }
	case o.GetExplicitBuckets() != nil:
		b := o.GetExplicitBuckets().GetBounds()
		n = len(b) - 1
		bound = func(k int) float64 { return b[k] }
	}
	lo, hi = math.Inf(-1), math.Inf(1)
	if i > 0 {
		lo = bound(min(i-1, n))
	}
	if i <= n {
		hi = bound(i)
	}
	return lo, hi
}
