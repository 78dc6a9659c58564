package gates

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// JudgeVerdict is where the comparative judge stands.
type JudgeVerdict string

// The judge's verdicts.
const (
	// VerdictRollback: the evidence that the candidate is worse than the
	// stable reached 1/alpha.
	VerdictRollback JudgeVerdict = "rollback"
	// VerdictPromote: the evidence that the candidate is less than
	// 2 × tolerance times worse reached 1/alpha.
	VerdictPromote JudgeVerdict = "promote"
	// VerdictInconclusive: neither yet (too few errors to tell).
	VerdictInconclusive JudgeVerdict = "inconclusive"
	// VerdictNone: nothing was compared (no stable, no traffic, no metrics).
	VerdictNone JudgeVerdict = "none"
)

// JudgeSpec configures the comparative judge.
type JudgeSpec struct {
	// Alpha bounds the chance of rolling back a candidate no worse than
	// Tolerance times the stable, at every poll together (default 0.01).
	Alpha float64
	// Tolerance is the null ratio: how many times the stable's error rate
	// (or share of slow requests) the candidate may have (default 1).
	Tolerance float64
	// Errors compares error rates; Latency compares latency, when the
	// source measures it.
	Errors, Latency bool
}

// LatencyFloorMS is the least latency bound the judge counts slower
// requests above: at sub-millisecond latencies a fresh process or a busy
// CPU makes a version look slower though no user could tell, so latency
// differences below it are not judged.
const LatencyFloorMS = 5.0

// quantiles are the stable's latency quantiles whose bounds the latency
// judge counts slower requests above.
var quantiles = [...]float64{0.50, 0.95, 0.99}

// Judge compares the candidate with the stable over every window it is
// given, accumulating evidence across windows, weight changes and steps.
// It is not safe for concurrent use.
type Judge struct {
	spec    JudgeSpec
	errors  *stream
	latency [len(quantiles)]*stream
	// pooled is the stable's latency over earlier windows, the source of
	// the next window's bounds.
	pooled  Histogram
	windows int
}

// NewJudge returns a judge with no evidence yet.
func NewJudge(spec JudgeSpec) *Judge {
	if spec.Alpha <= 0 || spec.Alpha >= 1 {
		spec.Alpha = 0.01
	}
	if spec.Tolerance < 1 {
		spec.Tolerance = 1
	}
	j := &Judge{spec: spec, errors: newStream(MetricErrorRate, spec)}
	for i, q := range quantiles {
		j.latency[i] = newStream(fmt.Sprintf("slower-than-stable-p%g", q*100), spec)
		j.latency[i].latency = true
	}
	return j
}

// stream is the evidence on one kind of bad request.
type stream struct {
	name string
	// latency streams count slow requests, which the stable always has:
	// their first windows are tempered even before the stable's dispersion
	// is known.
	latency          bool
	against, safe    ratioTest
	disp             dispersion
	iv               *interval
	total            Split
	windows          int // informative windows
	bound            float64
	needed, maxRatio float64
}

func newStream(name string, s JudgeSpec) *stream {
	return &stream{name: name, needed: 1 / s.Alpha,
		against: ratioTest{r0: s.Tolerance, upper: true}, safe: ratioTest{r0: 2 * s.Tolerance}, iv: newInterval()}
}

// add feeds one window, tempered by the stable's dispersion so far.
func (st *stream) add(s Split) {
	if s.Nc == 0 || s.Ns == 0 {
		return
	}
	eta := st.disp.eta(s)
	if st.latency && st.disp.windows < 3 {
		eta = 0.5
	}
	st.against.add(s, eta)
	st.safe.add(s, eta)
	st.iv.add(s, eta)
	st.disp.add(s)
	st.total = st.total.Add(s)
	if s.informative() {
		st.windows++
	}
}

// Observe feeds one window of both versions' traffic and returns the
// evidence after it. Windows where either version served nothing add
// nothing: at 100% there is no stable to compare with.
func (j *Judge) Observe(o Observation) Evidence {
	c, s := o.Candidate, o.Stable
	j.errors.add(Split{Nc: c.Requests, Ns: s.Requests, Yc: c.Errors, Ys: s.Errors})
	if j.spec.Latency && !c.Latency.Empty() && !s.Latency.Empty() {
		j.addLatency(c.Latency, s.Latency)
	}
	if c.Requests > 0 && s.Requests > 0 {
		j.windows++
	}
	return j.Evidence()
}

// addLatency counts each version's requests slower than the bounds set by
// the stable's earlier windows, then pools this window's stable latency.
// Bounds come only from earlier windows, so they are fixed before the
// window's own data is seen.
func (j *Judge) addLatency(c, s Histogram) {
	if c.Validate() != nil || s.Validate() != nil || !sameBounds(c, s) {
		return
	}
	for i, q := range quantiles {
		b, ok := j.pooled.Quantile(q)
		if !ok || !sameBounds(j.pooled, c) {
			continue
		}
		if b < LatencyFloorMS { // the smallest bound at or above the floor
			i, _ := slices.BinarySearch(c.Bounds, LatencyFloorMS)
			if i == len(c.Bounds) {
				continue
			}
			b = c.Bounds[i]
		}
		st := j.latency[i]
		st.bound = b
		st.add(Split{Nc: c.Total, Ns: s.Total, Yc: c.Slower(b), Ys: s.Slower(b)})
	}
	if sum, ok := j.pooled.Add(s); ok {
		j.pooled = sum
	} else { // the source changed its buckets: start the bounds over
		j.pooled, _ = Histogram{}.Add(s)
	}
}

func sameBounds(a, b Histogram) bool {
	if len(a.Bounds) != len(b.Bounds) {
		return false
	}
	for i := range a.Bounds {
		if a.Bounds[i] != b.Bounds[i] {
			return false
		}
	}
	return true
}

// Evidence is where the judge stands, with everything that explains it.
type Evidence struct {
	// Verdict is rollback when any metric's evidence against the candidate
	// reached Needed, promote when every judged metric's evidence for it
	// did, inconclusive otherwise, none when no window had both versions.
	Verdict JudgeVerdict `json:"verdict"`
	// Needed is 1/alpha, the evidence a verdict needs.
	Needed float64 `json:"needed"`
	// Windows counts the windows in which both versions served.
	Windows int `json:"windows"`
	// Errors is the error-rate comparison; zero when errors are not
	// compared.
	Errors MetricEvidence `json:"errors,omitzero"`
	// Latency is the latency comparison (the mean of its bounds' evidence);
	// nil when latency is not compared or not measured.
	Latency *MetricEvidence `json:"latency,omitempty"`
}

// MetricEvidence is the comparison of one metric.
type MetricEvidence struct {
	// Metric names it: error-rate, latency.
	Metric string `json:"metric"`
	// Verdict is this metric's own verdict.
	Verdict JudgeVerdict `json:"verdict"`
	// Against is the evidence that the candidate is worse than tolerance
	// times the stable; For the evidence that it is less than 2 × tolerance
	// times worse. Each starts at 1; a verdict needs 1/alpha.
	Against float64 `json:"against"`
	For     float64 `json:"for"`
	// Candidate and Stable count requests and bad ones (errors, or requests
	// slower than the bound) in the windows compared.
	Candidate Tally2 `json:"candidate"`
	Stable    Tally2 `json:"stable"`
	// RatioLow and RatioHigh bound the ratio of the candidate's bad-request
	// rate to the stable's, valid at every poll; 0 means unbounded.
	RatioLow  float64 `json:"ratio_low"`
	RatioHigh float64 `json:"ratio_high,omitempty"`
	// Needed is the evidence this metric's verdict needs: 1/alpha for
	// errors, 2/alpha for latency.
	Needed float64 `json:"needed"`
	// Parts are the per-bound comparisons a latency verdict averages.
	Parts []MetricEvidence `json:"parts,omitempty"`
	// BoundMS is the latency bound last counted above, in milliseconds.
	BoundMS float64 `json:"bound_ms,omitempty"`
}

// maxJSONEvidence is the largest e-value JSON carries: encoding/json
// refuses +Inf, which overwhelming evidence can reach.
const maxJSONEvidence = 1e300

// MarshalJSON encodes the comparison with Against and For capped at 1e300
// (a NaN, which the judge does not produce, as 0), so that overwhelming
// evidence never fails the encoding of an event or a result.
func (m MetricEvidence) MarshalJSON() ([]byte, error) {
	type plain MetricEvidence // without this method
	p := plain(m)
	p.Against, p.For = jsonEvidence(p.Against), jsonEvidence(p.For)
	return json.Marshal(p)
}

func jsonEvidence(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return min(v, maxJSONEvidence)
}

// Tally2 counts one version's requests and the bad ones among them.
type Tally2 struct {
	Requests int64 `json:"requests"`
	Bad      int64 `json:"bad"`
}

// Evidence returns where the judge stands.
func (j *Judge) Evidence() Evidence {
	needed := 1 / j.spec.Alpha
	e := Evidence{Needed: needed, Windows: j.windows}
	var verdicts []JudgeVerdict
	if j.spec.Errors {
		e.Errors = j.errors.evidence()
		verdicts = append(verdicts, e.Errors.Verdict)
	}
	if j.spec.Latency && j.latency[0].total.Nc > 0 {
		// Latency needs twice the evidence, so that a rollout judged on
		// errors and latency together keeps about alpha.
		l := MetricEvidence{Metric: "latency", Needed: 2 * needed}
		for _, st := range j.latency {
			p := st.evidence()
			l.Parts = append(l.Parts, p)
			l.Against += p.Against / float64(len(j.latency))
			l.For += p.For / float64(len(j.latency))
		}
		l.Candidate, l.Stable = l.Parts[0].Candidate, l.Parts[0].Stable
		l.Verdict = decide(l.Against, l.For, l.Needed)
		e.Latency = &l
		verdicts = append(verdicts, l.Verdict)
	}
	switch {
	case j.windows == 0 || len(verdicts) == 0:
		e.Verdict = VerdictNone
	case contains(verdicts, VerdictRollback):
		e.Verdict = VerdictRollback
	case !contains(verdicts, VerdictInconclusive):
		e.Verdict = VerdictPromote
	default:
		e.Verdict = VerdictInconclusive
	}
	return e
}

func contains(vs []JudgeVerdict, v JudgeVerdict) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func decide(against, forv, needed float64) JudgeVerdict {
	switch {
	case against >= needed:
		return VerdictRollback
	case forv >= needed:
		return VerdictPromote
	}
	return VerdictInconclusive
}

func (st *stream) evidence() MetricEvidence {
	m := MetricEvidence{Metric: st.name, Against: st.against.value(), For: st.safe.value(),
		Candidate: Tally2{Requests: st.total.Nc, Bad: st.total.Yc}, Stable: Tally2{Requests: st.total.Ns, Bad: st.total.Ys},
		BoundMS: st.bound}
	m.Needed = st.needed
	m.RatioLow, m.RatioHigh = st.iv.bounds(st.needed)
	m.Verdict = decide(m.Against, m.For, st.needed)
	return m
}

// Explain renders the evidence as one line, e.g. "errors: evidence against
// 3.2 of 100 needed, for 41 (candidate 2/480, stable 31/9120; rate ratio
// 0.1–4.8)".
func (e Evidence) Explain() string {
	var parts []string
	if e.Errors.Metric != "" {
		parts = append(parts, e.Errors.Explain(e.Needed))
	}
	if e.Latency != nil {
		parts = append(parts, e.Latency.Explain(e.Needed))
	}
	return strings.Join(parts, "; ")
}

// Explain renders one metric's comparison; needed is used when m does not
// say what its verdict needs.
func (m MetricEvidence) Explain(needed float64) string {
	if m.Needed > 0 {
		needed = m.Needed
	}
	what := "errors"
	if m.Metric == "latency" {
		what = "slow requests"
	}
	return fmt.Sprintf("%s: evidence against the candidate %s, for it %s, of %s needed (candidate %d/%d %s, stable %d/%d; rate ratio %s)",
		m.Metric, FormatEvidence(m.Against), FormatEvidence(m.For), FormatEvidence(needed),
		m.Candidate.Bad, m.Candidate.Requests, what, m.Stable.Bad, m.Stable.Requests, FormatRatio(m.RatioLow, m.RatioHigh))
}

// FormatEvidence prints an e-value with two significant figures, "≥1e6"
// beyond a million.
func FormatEvidence(v float64) string {
	switch {
	case math.IsInf(v, 1) || v >= 1e6:
		return "≥1e6"
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	case v >= 0.01:
		return FormatValue(v)
	}
	return "0"
}

// FormatRatio prints an interval for the rate ratio: "0.4–2.8", "≥1.7",
// "≤3.4" or "unknown" when nothing bounds it yet.
func FormatRatio(low, high float64) string {
	switch {
	case low == 0 && high == 0:
		return "unknown"
	case low == 0:
		return "≤" + FormatValue(high)
	case high == 0:
		return "≥" + FormatValue(low)
	}
	return FormatValue(low) + "–" + FormatValue(high)
}
