package report

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
)

// An A/B test's comparison, rendered for people: both variants side by
// side per metric, and the line that names the winner or says no
// difference was found.

// abWinnerLine is the verdict's one line: "winner: the candidate (...)" or
// "no difference found ...".
func abWinnerLine(v *gates.ABVerdict) string {
	if v.Winner == "" {
		return v.Summary
	}
	return "winner: the " + v.Winner + " — " + strings.TrimPrefix(v.Summary, "the "+v.Winner+" wins: ")
}

// directionWords says which way is better.
func directionWords(d string) string {
	if d == gates.HigherIsBetter {
		return "higher is better"
	}
	return "lower is better"
}

// metricName is a metric's name with its latency bound.
func metricName(m gates.ABMetric) string {
	if m.BoundMS > 0 {
		return fmt.Sprintf("latency (share slower than %sms)", gates.FormatValue(m.BoundMS))
	}
	return m.Metric
}

// rateCell is a variant's rate and counts: "5% (750/15000)".
func rateCell(t gates.Tally2) string {
	if t.Requests == 0 {
		return "no traffic"
	}
	return fmt.Sprintf("%s%% (%d/%d)", gates.FormatValue(100*t.Rate()), t.Bad, t.Requests)
}

// abLines are the console's lines for a concluded A/B test: the winner
// line, what on-finish decided, then each metric side by side.
func abLines(e *engine.Concluded) string {
	if e.Verdict == nil {
		return fmt.Sprintf("A/B test concluded: nothing was compared (no metrics source); on-finish %s: %s", e.OnFinish, e.Decision)
	}
	v := e.Verdict
	lines := []string{fmt.Sprintf("A/B test concluded after %d windows: %s; on-finish %s: %s", v.Windows, abWinnerLine(v), e.OnFinish, e.Decision)}
	for _, m := range v.Metrics {
		winner := "no difference"
		if m.Winner != "" {
			winner = m.Winner + " better"
		}
		lines = append(lines, fmt.Sprintf("  %s (%s): candidate %s | stable %s | ratio %s | evidence higher %s, lower %s of %s | %s",
			metricName(m), directionWords(m.Direction), rateCell(m.Candidate), rateCell(m.Stable),
			gates.FormatRatio(m.RatioLow, m.RatioHigh), gates.FormatEvidence(m.Higher), gates.FormatEvidence(m.Lower),
			gates.FormatEvidence(v.Needed), winner))
	}
	return strings.Join(lines, "\n")
}

// abSection renders the A/B test's comparison: the winner line and a
// table of both variants per metric.
func (s *Summary) abSection(b *strings.Builder) {
	v := s.ab
	if v == nil {
		return
	}
	b.WriteString("### A/B test\n\n")
	fmt.Fprintf(b, "**%s**", inline(abWinnerLine(v)))
	if c := s.concluded; c != nil {
		fmt.Fprintf(b, " · on-finish `%s`: %s", c.OnFinish, c.Decision)
	}
	fmt.Fprintf(b, "\n\nBoth variants over %d windows. Each side of a metric needs evidence %s "+
		"(alpha split over both directions and every metric); the ratio is the candidate's rate over the stable's, "+
		"bounded at every check.\n\n", v.Windows, gates.FormatEvidence(v.Needed))
	b.WriteString("| metric | better | candidate | stable | ratio | evidence higher / lower | winner |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
	for _, m := range v.Metrics {
		winner := "no difference"
		if m.Winner != "" {
			winner = "**" + m.Winner + "**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s / %s | %s |\n", cell(metricName(m)), directionWords(m.Direction),
			rateCell(m.Candidate), rateCell(m.Stable), gates.FormatRatio(m.RatioLow, m.RatioHigh),
			gates.FormatEvidence(m.Higher), gates.FormatEvidence(m.Lower), winner)
	}
	b.WriteString("\n")
}
