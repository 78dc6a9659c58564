package gates

import (
	"context"
	"fmt"
	"time"
)

// MetricGate compares one metric of the candidate with a maximum, holding
// the step while fewer than MinRequests requests back the value.
type MetricGate struct {
	// Source answers the queries.
	Source MetricSource
	// Metric is one of the Metric* names.
	Metric string
	// Max is the highest passing value (percent or milliseconds).
	Max float64
	// MinRequests is the least number of requests a verdict needs.
	MinRequests int64
}

// Name returns the metric's name.
func (g MetricGate) Name() string { return g.Metric }

// NeedsTraffic reports that the gate can only judge a candidate taking traffic.
func (g MetricGate) NeedsTraffic() bool { return true }

// Check measures the candidate's metric over the target window.
func (g MetricGate) Check(ctx context.Context, t Target) Result {
	q := Query{Metric: g.Metric, Revision: t.Candidate.ID, Window: t.Window}
	r := Result{
		Gate:      g.Metric,
		Unit:      unitOf(g.Metric),
		Threshold: "<= " + FormatValue(g.Max),
		Query:     fmt.Sprintf("%s{revision=%q}[%s]", g.Metric, q.Revision, q.Window),
		Window:    t.Window,
	}
	s, err := g.Source.Measure(ctx, q)
	if err != nil {
		r.Outcome, r.Message = Error, err.Error()
		return r
	}
	r.Value, r.Samples = s.Value, s.Requests
	switch {
	case s.Requests < max(g.MinRequests, 1): // no data is never a pass
		r.Outcome = Inconclusive
		r.Message = fmt.Sprintf("%d requests < min-requests %d", s.Requests, g.MinRequests)
		if s.Requests == 0 {
			r.Message = "no requests reached the candidate"
		}
	case s.Value > g.Max:
		r.Outcome = Failed
	default:
		r.Outcome = Successful
	}
	return r
}

func unitOf(metric string) string {
	if metric == MetricErrorRate {
		return "%"
	}
	return "ms"
}

// Millis converts a latency threshold to the milliseconds metric gates use.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
