package gates

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ABVerdict is where an A/B test's comparison stands: the winner, if any,
// and each metric side by side.
type ABVerdict struct {
	// Winner is VariantCandidate or VariantStable when at least one metric
	// found that variant better and none found the other better; empty
	// otherwise (no difference found, or the metrics disagree).
	Winner string `json:"winner,omitempty"`
	// Summary says who won and on what evidence, or that no difference was
	// found.
	Summary string `json:"summary"`
	// Needed is the evidence one side of one metric needs: 2m/alpha.
	Needed float64 `json:"needed"`
	// Windows counts the windows in which both variants served.
	Windows int `json:"windows"`
	// Metrics are the compared metrics, in order: error-rate, latency,
	// then the checks.
	Metrics []ABMetric `json:"metrics"`
}

// ABMetric is one metric of an A/B test, both variants side by side.
type ABMetric struct {
	// Metric names it; Direction says which way is better.
	Metric    string `json:"metric"`
	Direction string `json:"direction"`
	// Candidate and Stable count each variant's requests and the counted
	// events (errors, slow requests, a check's count) among them.
	Candidate Tally2 `json:"candidate"`
	Stable    Tally2 `json:"stable"`
	// Higher and Lower are the evidence that the candidate's rate is
	// higher, and lower, than the stable's; each starts at 1.
	Higher float64 `json:"higher"`
	Lower  float64 `json:"lower"`
	// RatioLow and RatioHigh bound the candidate's rate over the
	// stable's (0: unbounded).
	RatioLow  float64 `json:"ratio_low"`
	RatioHigh float64 `json:"ratio_high,omitempty"`
	// BoundMS is the latency bound slow requests are counted above.
	BoundMS float64 `json:"bound_ms,omitempty"`
	// Winner is the variant this metric found better, empty for none.
	Winner string `json:"winner,omitempty"`
}

// Rate is a tally's events per request, 0 with no request.
func (t Tally2) Rate() float64 {
	if t.Requests == 0 {
		return 0
	}
	return float64(t.Bad) / float64(t.Requests)
}

// MarshalJSON caps the e-values as MetricEvidence does.
func (m ABMetric) MarshalJSON() ([]byte, error) {
	type plain ABMetric
	p := plain(m)
	p.Higher, p.Lower = jsonEvidence(p.Higher), jsonEvidence(p.Lower)
	return json.Marshal(p)
}

// Verdict returns where the comparison stands.
func (c *Comparison) Verdict() ABVerdict {
	v := ABVerdict{Needed: c.needed, Windows: c.windows}
	wins := map[string][]string{}
	for _, st := range c.metrics {
		m := st.metric(c.needed)
		v.Metrics = append(v.Metrics, m)
		if m.Winner != "" {
			wins[m.Winner] = append(wins[m.Winner], m.Metric)
		}
	}
	cand, stable := wins[VariantCandidate], wins[VariantStable]
	switch {
	case len(cand) > 0 && len(stable) > 0:
		v.Summary = fmt.Sprintf("no single winner: the candidate is better on %s, the stable on %s",
			strings.Join(cand, ", "), strings.Join(stable, ", "))
	case len(cand) > 0 || len(stable) > 0:
		v.Winner = VariantCandidate
		if len(stable) > 0 {
			v.Winner = VariantStable
		}
		var why []string
		for _, m := range v.Metrics {
			if m.Winner == v.Winner {
				why = append(why, m.Explain(c.needed))
			}
		}
		v.Summary = fmt.Sprintf("the %s wins: %s", v.Winner, strings.Join(why, "; "))
	case c.windows == 0:
		v.Summary = "no difference found: no window had traffic on both variants"
	default:
		v.Summary = fmt.Sprintf("no difference found over %d windows (each side of a metric needs evidence %s)",
			c.windows, FormatEvidence(c.needed))
	}
	return v
}

// metric is one stream's standing; a latency stream averages its bounds'
// e-values (an average of e-processes is one).
func (st *abStream) metric(needed float64) ABMetric {
	m := ABMetric{Metric: st.name, Direction: st.better,
		Candidate: Tally2{Requests: st.total.Nc, Bad: st.total.Yc}, Stable: Tally2{Requests: st.total.Ns, Bad: st.total.Ys}}
	for _, p := range st.parts {
		m.Higher += p.higher.value() / float64(len(st.parts))
		m.Lower += p.lower.value() / float64(len(st.parts))
	}
	last := st.parts[len(st.parts)-1]
	if len(st.bounds) > 0 {
		m.BoundMS = st.bounds[len(st.bounds)-1]
		m.Candidate = Tally2{Requests: last.total.Nc, Bad: last.total.Yc}
		m.Stable = Tally2{Requests: last.total.Ns, Bad: last.total.Ys}
	}
	m.RatioLow, m.RatioHigh = last.iv.bounds(needed)
	higherWins := VariantCandidate
	if st.better == LowerIsBetter {
		higherWins = VariantStable
	}
	lowerWins := map[string]string{VariantCandidate: VariantStable, VariantStable: VariantCandidate}[higherWins]
	switch {
	case m.Higher >= needed:
		m.Winner = higherWins
	case m.Lower >= needed:
		m.Winner = lowerWins
	}
	return m
}

// Explain renders one metric's comparison, e.g. "conversions: candidate
// 5.1% (51/1000), stable 3% (30/1000), rate ratio 1.1–2.9; evidence
// higher 420, lower 0.01, of 80 needed".
func (m ABMetric) Explain(needed float64) string {
	what := m.Metric
	if m.BoundMS > 0 {
		what = fmt.Sprintf("latency (requests slower than %sms)", FormatValue(m.BoundMS))
	}
	return fmt.Sprintf("%s: candidate %s (%d/%d), stable %s (%d/%d), rate ratio %s; evidence higher %s, lower %s, of %s needed",
		what, percent(m.Candidate.Rate()), m.Candidate.Bad, m.Candidate.Requests,
		percent(m.Stable.Rate()), m.Stable.Bad, m.Stable.Requests, FormatRatio(m.RatioLow, m.RatioHigh),
		FormatEvidence(m.Higher), FormatEvidence(m.Lower), FormatEvidence(needed))
}

// percent writes a rate as a percentage with up to three significant
// figures.
func percent(r float64) string { return FormatValue(100*r) + "%" }
