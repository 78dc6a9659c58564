package ecs

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// The CloudWatch metrics the judge reads, per target group, and their
// period: ALB reports them every 60 seconds, and only while requests flow.
const (
	namespace      = "AWS/ApplicationELB"
	metricRequests = "RequestCount"
	metric5xx      = "HTTPCode_Target_5XX_Count"
	metricLatency  = "TargetResponseTime"
	period         = time.Minute
	// reportingDelay is the default of metrics-delay for ecs: each check
	// judges the window that ended this long ago, once CloudWatch has the
	// load balancer's minutes.
	reportingDelay = 3 * time.Minute
)

// latencyBounds are the histogram's bounds in milliseconds, each asked of
// CloudWatch as the trimmed count TC(:seconds): the requests answered at
// most that fast.
var latencyBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

var _ gates.AccessChecker = (*Provider)(nil)

// CheckMetricsAccess reads the last ten minutes of the stable target
// group's RequestCount (one GetMetricData), which proves the credentials
// may read CloudWatch, for ramp plan.
func (p *Provider) CheckMetricsAccess(ctx context.Context) error {
	const action = "read the CloudWatch metrics of"
	v, err := p.read(ctx, action, !p.native())
	if err != nil {
		return err
	}
	var tg string
	if p.native() {
		if len(v.svc.LoadBalancers) > 0 {
			tg = aws.ToString(v.svc.LoadBalancers[0].TargetGroupArn)
		}
	} else {
		r, err := p.rolesOf(v)
		if err != nil {
			return p.fail(action, err)
		}
		tg = r.stableTG
	}
	end := p.now().Truncate(period)
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(end.Add(-10 * period)), EndTime: aws.Time(end),
		MetricDataQueries: p.queries(0, tg)[:1]}
	if _, err := p.getSums(ctx, in, gates.Window{Start: end.Add(-10 * period), End: end}); err != nil {
		return p.fail(action, err)
	}
	return nil
}

// MetricsDelay is the delay the analysis applies to CloudWatch when
// metrics-delay is not given.
func (p *Provider) MetricsDelay() time.Duration { return reportingDelay }

// Observe reads, in one GetMetricData call, the requests, the target 5xx
// answers and the response times of the candidate's and the stable's
// target groups over the whole minutes that end inside q.Window (after
// Start, up to and including End), so consecutive windows count every
// minute once. A group with no datapoint served nothing that CloudWatch
// shows: zero requests, which the judge takes as no data, never as no
// errors; 5xx datapoints only exist for minutes with 5xx answers.
func (p *Provider) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	o := gates.Observation{Window: q.Window}
	action := fmt.Sprintf("observe revisions %q and %q of", q.Candidate, q.Stable)
	if q.Candidate == "" || q.Candidate == q.Stable || !q.Window.End.After(q.Window.Start) {
		return o, p.fail(action, fmt.Errorf("%w: a query needs a candidate, another stable revision and a window", providers.ErrInvalid))
	}
	first := q.Window.Start.Truncate(period).Add(period)
	last := q.Window.End.Truncate(period)
	if last.Before(first) {
		return o, nil
	}
	var tgs []string
	var err error
	if p.native() && p.cfg.Strategy == strategyRolling {
		var since time.Time
		if tgs, since, err = p.rollingTargetGroup(ctx, action); err != nil || since.IsZero() {
			return o, err // no deployment of the candidate yet: it served nothing
		}
		// The minutes before ECS started the candidate's tasks are the
		// stable revision's alone.
		if from := since.Add(period - time.Nanosecond).Truncate(period).Add(period); first.Before(from) {
			first = from
		}
		if last.Before(first) {
			return o, nil
		}
	} else if tgs, err = p.targetGroupsOf(ctx, action, q.Candidate, q.Stable); err != nil {
		return o, err
	}
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(first.Add(-period)), EndTime: aws.Time(last)}
	for i, tg := range tgs {
		in.MetricDataQueries = append(in.MetricDataQueries, p.queries(i, tg)...)
	}
	sums, err := p.getSums(ctx, in, q.Window)
	if err != nil {
		return o, p.fail(action, err)
	}
	o.Candidate = countsOf(sums, 0)
	if len(tgs) > 1 {
		o.Stable = countsOf(sums, 1)
	}
	return o, nil
}

// targetGroupsOf maps the revisions to their task sets' target groups,
// from the last read of the service or a new one.
func (p *Provider) targetGroupsOf(ctx context.Context, action string, revs ...string) ([]string, error) {
	if p.native() {
		return p.nativeTargetGroupsOf(ctx, action, revs[0], revs[1])
	}
	p.mu.Lock()
	v := p.last
	p.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if v == nil {
			var err error
			if v, err = p.read(ctx, action, false); err != nil {
				return nil, err
			}
		}
		var out []string
		for _, rev := range revs {
			if rev == "" {
				continue
			}
			for i := range v.svc.TaskSets {
				if ts := &v.svc.TaskSets[i]; revisionOf(ts) == rev && aws.ToString(ts.Status) != "DRAINING" {
					out = append(out, targetGroupOf(ts))
					break
				}
			}
		}
		switch {
		case len(out) == len(nonEmpty(revs)):
			return out, nil
		case attempt > 0:
			return nil, p.fail(action, fmt.Errorf("%w: no task set of the service runs revision %q or %q", providers.ErrNoCandidate, revs[0], revs[1]))
		}
		v = nil // the kept read may be older than the task sets
	}
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// queries asks for the target group's metrics, with IDs "r<i>", "e<i>",
// "n<i>" and "l<i>_<bound index>".
func (p *Provider) queries(i int, tg string) []cwtypes.MetricDataQuery {
	dims := []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String(tgDimension(tg))},
		{Name: aws.String("LoadBalancer"), Value: aws.String(lbDimension(p.cfg.Listener))}}
	q := func(id, metric, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(true), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(namespace), MetricName: aws.String(metric), Dimensions: dims},
			Period: aws.Int32(int32(period / time.Second)), Stat: aws.String(stat)}}
	}
	n := strconv.Itoa(i)
	out := []cwtypes.MetricDataQuery{q("r"+n, metricRequests, "Sum"), q("e"+n, metric5xx, "Sum"), q("n"+n, metricLatency, "SampleCount")}
	for j, b := range latencyBounds {
		out = append(out, q(fmt.Sprintf("l%s_%d", n, j), metricLatency, "TC(:"+strconv.FormatFloat(b/1000, 'f', -1, 64)+")"))
	}
	return out
}

// getSums sums each query's datapoints whose minute ends inside w, over
// every page of the answer.
func (p *Provider) getSums(ctx context.Context, in *cloudwatch.GetMetricDataInput, w gates.Window) (map[string]float64, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return nil, err
	}
	sums := map[string]float64{}
	for {
		out, err := c.cw.GetMetricData(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range out.MetricDataResults {
			for i, ts := range r.Timestamps {
				if end := ts.Add(period); end.After(w.Start) && !end.After(w.End) && i < len(r.Values) {
					sums[aws.ToString(r.Id)] += r.Values[i]
				}
			}
		}
		if out.NextToken == nil {
			return sums, nil
		}
		in.NextToken = out.NextToken
	}
}

// countsOf turns the sums of target group i into counts: the latency
// histogram is cumulative by construction, clamped to its total.
func countsOf(sums map[string]float64, i int) gates.Counts {
	n := strconv.Itoa(i)
	c := gates.Counts{Requests: int64(math.Round(sums["r"+n])), Errors: int64(math.Round(sums["e"+n]))}
	total := int64(math.Round(sums["n"+n]))
	if total == 0 {
		return c
	}
	h := gates.Histogram{Bounds: latencyBounds, Counts: make([]int64, len(latencyBounds)), Total: total}
	var prev int64
	for j := range latencyBounds {
		v := min(max(int64(math.Round(sums[fmt.Sprintf("l%s_%d", n, j)])), prev), total)
		h.Counts[j], prev = v, v
	}
	c.Latency = h
	return c
}

// tgDimension is CloudWatch's TargetGroup dimension: "targetgroup/NAME/ID".
func tgDimension(arn string) string {
	_, rest, _ := strings.Cut(arn, ":targetgroup/")
	return "targetgroup/" + rest
}

// lbDimension is CloudWatch's LoadBalancer dimension, "app/NAME/ID", from
// the listener's ARN.
func lbDimension(listener string) string {
	_, rest, _ := strings.Cut(listener, ":listener/")
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return rest
	}
	return strings.Join(parts[:3], "/")
}
