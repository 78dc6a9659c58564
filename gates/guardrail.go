package gates

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Guardrail is an absolute limit on one metric of the candidate: it rolls
// back a candidate that is plainly broken whatever the stable does, and it
// is what watches the bake, when there is no stable left to compare with.
// Windows are pooled until they hold MinRequests requests, so low traffic
// delays a guardrail's verdict rather than leaving it without one.
type Guardrail struct {
	// Metric is one of the Metric* names.
	Metric string
	// Max is the highest passing value (percent or milliseconds).
	Max float64
	// MinRequests is the least number of requests a verdict needs.
	MinRequests int64

	cand, stable Counts
	windows      int
	span         time.Duration
}

// Name returns the metric's name.
func (g *Guardrail) Name() string { return g.Metric }

// Observe pools one window and, once the pool holds MinRequests requests,
// judges it and starts a new pool. A candidate above Max fails unless the
// stable, over the same windows and with as many requests, is above Max
// too: an incident both versions share is not the candidate's fault.
func (g *Guardrail) Observe(o Observation) Result {
	g.cand = addCounts(g.cand, o.Candidate)
	g.stable = addCounts(g.stable, o.Stable)
	g.windows++
	g.span += o.Window.Duration()
	r := Result{Gate: g.Metric, Unit: unitOf(g.Metric), Threshold: "<= " + FormatValue(g.Max),
		Query: g.Metric + " of the candidate", Window: g.span, Samples: g.cand.Requests}
	need := max(g.MinRequests, 1)
	if g.cand.Requests < need { // no data is never a pass
		r.Outcome = Inconclusive
		r.Message = fmt.Sprintf("%d requests over %d windows, a verdict needs %d (min-requests)", g.cand.Requests, g.windows, need)
		if g.cand.Requests == 0 {
			r.Message = "no requests reached the candidate"
		}
		return r
	}
	value, ok := g.value(g.cand)
	r.Value = value
	switch {
	case !ok:
		r.Outcome, r.Message = Inconclusive, "the source measures no latency"
	case value <= g.Max:
		r.Outcome = Successful
	case !g.surelyAbove(g.cand):
		r.Outcome = Successful
		r.Message = fmt.Sprintf("above the limit over only %d requests: not surely (its 99%% confidence bound is within it)", g.cand.Requests)
	default:
		r.Outcome = Failed
		if sv, ok := g.value(g.stable); ok && g.stable.Requests >= need && sv > g.Max {
			r.Outcome = Successful
			r.Message = fmt.Sprintf("the stable is at %s%s too: an incident both versions share", FormatValue(sv), r.Unit)
		}
	}
	g.cand, g.stable, g.windows, g.span = Counts{}, Counts{}, 0, 0
	return r
}

// surelyAbove reports whether the pooled counts show the candidate beyond
// the limit with 99% confidence: the lower bound of the share of bad
// requests (errors; or requests slower than Max, for a latency quantile q
// whose limit allows 1 − q of them) exceeds what the limit allows. A few
// unlucky requests in a small pool never fail a guardrail.
func (g *Guardrail) surelyAbove(c Counts) bool {
	if g.Metric == MetricErrorRate {
		return wilsonLower(float64(c.Errors), float64(c.Requests)) > g.Max/100
	}
	q := map[string]float64{MetricLatencyP50: 0.50, MetricLatencyP95: 0.95, MetricLatencyP99: 0.99}[g.Metric]
	h := c.Latency
	return wilsonLower(h.SlowerThan(g.Max), float64(h.Total)) > 1-q
}

// wilsonLower is the one-sided 99% Wilson score lower bound of a share of
// k out of n.
func wilsonLower(k, n float64) float64 {
	const z = 2.326
	if n <= 0 {
		return 0
	}
	p := k / n
	centre := p + z*z/(2*n)
	margin := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
	return (centre - margin) / (1 + z*z/n)
}

// SlowerThan estimates how many requests took longer than x milliseconds,
// interpolating linearly inside the bucket holding x.
func (h Histogram) SlowerThan(x float64) float64 {
	lo, below := 0.0, int64(0)
	for i, b := range h.Bounds {
		if x < b {
			frac := (x - lo) / (b - lo)
			return float64(h.Total) - (float64(below) + frac*float64(h.Counts[i]-below))
		}
		lo, below = b, h.Counts[i]
	}
	return float64(h.Total - below)
}

// value is the guardrail's metric of pooled counts.
func (g *Guardrail) value(c Counts) (float64, bool) {
	if g.Metric == MetricErrorRate {
		if c.Requests == 0 {
			return 0, false
		}
		return 100 * float64(c.Errors) / float64(c.Requests), true
	}
	q, ok := map[string]float64{MetricLatencyP50: 0.50, MetricLatencyP95: 0.95, MetricLatencyP99: 0.99}[g.Metric]
	if !ok {
		return 0, false
	}
	return c.Latency.Estimate(q)
}

func addCounts(a, b Counts) Counts {
	a.Requests += b.Requests
	a.Errors += b.Errors
	if sum, ok := a.Latency.Add(b.Latency); ok {
		a.Latency = sum
	} else {
		a.Latency, _ = Histogram{}.Add(b.Latency)
	}
	return a
}

// Estimate returns the q-quantile (0..1) in milliseconds, interpolated
// linearly inside the bucket holding it (from 0 for the first bucket);
// false when the histogram is empty. A quantile beyond the last bound is
// that bound: at least that slow.
func (h Histogram) Estimate(q float64) (float64, bool) {
	if h.Total == 0 || len(h.Bounds) == 0 {
		return 0, false
	}
	rank := q * float64(h.Total)
	i := slices.IndexFunc(h.Counts, func(c int64) bool { return float64(c) >= rank })
	if i < 0 {
		return h.Bounds[len(h.Bounds)-1], true
	}
	lo, below := 0.0, int64(0)
	if i > 0 {
		lo, below = h.Bounds[i-1], h.Counts[i-1]
	}
	in := h.Counts[i] - below
	if in == 0 {
		return h.Bounds[i], true
	}
	v := lo + (rank-float64(below))/float64(in)*(h.Bounds[i]-lo)
	return math.Min(v, h.Bounds[i]), true
}
