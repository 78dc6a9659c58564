package gates

import (
	"context"
	"fmt"
	"math"
	"text/template"
)

// The directions of a compared metric: which way is better.
const (
	HigherIsBetter = "higher-is-better"
	LowerIsBetter  = "lower-is-better"
)

// The sides of an A/B test, as a winner names them.
const (
	VariantCandidate = "candidate"
	VariantStable    = "stable"
)

// ABSpec configures the comparison of an A/B test: both variants' error
// rates, latency (the share of requests slower than the pooled median and
// p95 of earlier windows) and each check with a direction, taken per
// request, are compared two-sided.
type ABSpec struct {
	// Alpha bounds the chance of naming a winner when the variants do not
	// differ, over the whole test and every metric together.
	Alpha float64
	// Errors and Latency compare the error rates and the latency.
	Errors, Latency bool
	// Checks are the checks compared (those with a Direction); their
	// queries are rendered for each variant in turn ({{.Version}}).
	Checks []CheckSpec
}

// abCheck is a compared check with its parsed query.
type abCheck struct {
	spec CheckSpec
	tmpl *template.Template
}

// Comparison is an A/B test's running comparison. Each metric holds two
// e-processes on the ratio r of the candidate's rate to the stable's, one
// for r > 1 and one for r < 1, each needing 2m/alpha (m metrics): by
// Ville's inequality and a union bound, a winner is named for a metric
// whose variants do not differ with probability at most alpha, at every
// poll together. It is not safe for concurrent use.
type Comparison struct {
	spec    ABSpec
	needed  float64
	metrics []*abStream
	checks  []abCheck
	pooled  Histogram // both variants' latency in earlier windows
	windows int
}

// abStream is one metric's two-sided comparison.
type abStream struct {
	name   string
	better string
	// parts are the bounds a latency metric averages over (one stream
	// for any other metric).
	parts  []*abPart
	latQ   []float64
	total  Split
	bounds []float64
}

// abPart is the evidence on one kind of counted request.
type abPart struct {
	higher, lower ratioTest
	disp          dispersion
	iv            *interval
	total         Split
}

// abQuantiles are the pooled latency quantiles whose bounds latency is
// compared above.
var abQuantiles = []float64{0.50, 0.95}

// NewComparison returns a comparison with no evidence yet. A check's
// query that does not parse is an error naming it.
func NewComparison(spec ABSpec) (*Comparison, error) {
	if !(spec.Alpha > 0 && spec.Alpha < 1) {
		spec.Alpha = 0.01
	}
	c := &Comparison{spec: spec}
	part := func() *abPart {
		return &abPart{higher: ratioTest{r0: 1, upper: true}, lower: ratioTest{r0: 1}, iv: newInterval()}
	}
	if spec.Errors {
		c.metrics = append(c.metrics, &abStream{name: MetricErrorRate, better: LowerIsBetter, parts: []*abPart{part()}})
	}
	if spec.Latency {
		c.metrics = append(c.metrics, &abStream{name: "latency", better: LowerIsBetter, parts: []*abPart{part(), part()},
			latQ: abQuantiles, bounds: make([]float64, len(abQuantiles))})
	}
	for _, cs := range spec.Checks {
		t, err := ParseQuery(cs.Name, cs.Query)
		if err != nil {
			return nil, fmt.Errorf("checks %q: %w", cs.Name, err)
		}
		c.checks = append(c.checks, abCheck{spec: cs, tmpl: t})
		c.metrics = append(c.metrics, &abStream{name: cs.Name, better: cs.Direction, parts: []*abPart{part()}})
	}
	c.needed = 2 * float64(max(len(c.metrics), 1)) / spec.Alpha
	return c, nil
}

// add feeds one window's split to a part.
func (p *abPart) add(s Split) {
	if s.Nc == 0 || s.Ns == 0 {
		return
	}
	eta := p.disp.eta(s)
	p.higher.add(s, eta)
	p.lower.add(s, eta)
	p.iv.add(s, eta)
	p.disp.add(s)
	p.total = p.total.Add(s)
}

// Observe feeds one window: o's traffic and, for each compared check,
// the two variants' values over the window (counts, rounded; see
// CheckCounts), in the order of the spec's checks.
func (c *Comparison) Observe(o Observation, checks [][2]float64) {
	cn, sn := o.Candidate, o.Stable
	if cn.Requests == 0 || sn.Requests == 0 {
		return
	}
	c.windows++
	k := 0
	if c.spec.Errors {
		c.metrics[k].feed(0, Split{Nc: cn.Requests, Ns: sn.Requests, Yc: cn.Errors, Ys: sn.Errors})
		k++
	}
	if c.spec.Latency {
		c.observeLatency(c.metrics[k], cn.Latency, sn.Latency)
		k++
	}
	for i, v := range checks {
		if i >= len(c.checks) {
			break
		}
		if v[0] >= 0 && v[1] >= 0 { // a variant without data adds nothing
			c.metrics[k+i].feed(0, Split{Nc: cn.Requests, Ns: sn.Requests, Yc: count(v[0]), Ys: count(v[1])})
		}
	}
}

// count rounds a query's value to a count of events.
func count(v float64) int64 {
	if math.IsNaN(v) || v <= 0 {
		return 0
	}
	return int64(math.Round(v))
}

func (st *abStream) feed(i int, s Split) {
	st.parts[i].add(s)
	if i == 0 {
		st.total = st.total.Add(s)
	}
}

// observeLatency counts each variant's requests slower than the bounds of
// both variants' pooled earlier windows, then pools this window's.
func (c *Comparison) observeLatency(st *abStream, ch, sh Histogram) {
	if ch.Empty() || sh.Empty() || ch.Validate() != nil || sh.Validate() != nil || !sameBounds(ch, sh) {
		return
	}
	if sameBounds(c.pooled, ch) {
		for i, q := range st.latQ {
			b, ok := c.pooled.Quantile(q)
			if !ok {
				continue
			}
			b = max(b, LatencyFloorMS)
			st.bounds[i] = b
			st.feed(i, Split{Nc: ch.Total, Ns: sh.Total, Yc: ch.Slower(b), Ys: sh.Slower(b)})
		}
	}
	both, _ := ch.Add(sh)
	if sum, ok := c.pooled.Add(both); ok {
		c.pooled = sum
	} else {
		c.pooled = both
	}
}

// Queries renders each compared check's query for both variants: the
// candidate's, then the stable's.
func (c *Comparison) Queries(vars QueryVars) ([][2]string, error) {
	out := make([][2]string, len(c.checks))
	for i, ch := range c.checks {
		for j, v := range [2]string{vars.Candidate, vars.Stable} {
			vv := vars
			vv.Version = v
			q, err := RenderQuery(ch.tmpl, vv)
			if err != nil {
				return nil, err
			}
			out[i][j] = q
		}
	}
	return out, nil
}

// CheckCounts runs the queries (Queries) over w through src: each
// variant's value, -1 where the query answered no data.
func CheckCounts(ctx context.Context, src QuerySource, queries [][2]string, w Window) ([][2]float64, error) {
	out := make([][2]float64, len(queries))
	for i, q := range queries {
		for j := range q {
			v, ok, err := src.Value(ctx, q[j], w)
			if err != nil {
				return nil, err
			}
			if !ok {
				v = -1
			}
			out[i][j] = v
		}
	}
	return out, nil
}
