package report

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
)

// The comparative judge's evidence, rendered for people. Evidence is an
// e-value: it starts at 1, and a verdict needs 1/alpha (Needed); the rate
// ratio is the candidate's error rate over the stable's, bounded by an
// interval valid at every check.

// judgeWords says what a verdict means for the rollout.
func judgeWords(v gates.JudgeVerdict) string {
	switch v {
	case gates.VerdictPromote:
		return "promote: no worse than the stable"
	case gates.VerdictRollback:
		return "rollback: worse than the stable"
	case gates.VerdictInconclusive:
		return "inconclusive"
	}
	return "nothing compared yet (no window with traffic on both versions)"
}

// countsText is a metric's counts per version and its ratio interval:
// "errors 2/480 vs stable 31/9120 (ratio 0.1–4.8)". The latency
// comparison averages several bounds, so it shows no counts.
func countsText(m gates.MetricEvidence) string {
	if m.Metric == "latency" {
		return "latency"
	}
	return fmt.Sprintf("errors %d/%d vs stable %d/%d (ratio %s)", m.Candidate.Bad, m.Candidate.Requests,
		m.Stable.Bad, m.Stable.Requests, gates.FormatRatio(m.RatioLow, m.RatioHigh))
}

// evidenceText is a metric's evidence: "evidence against 3.2, for 41".
func evidenceText(m gates.MetricEvidence) string {
	return fmt.Sprintf("evidence against %s, for %s", gates.FormatEvidence(m.Against), gates.FormatEvidence(m.For))
}

// metrics lists the compared metrics of e.
func metrics(e *gates.Evidence) []gates.MetricEvidence {
	var ms []gates.MetricEvidence
	if e.Errors.Metric != "" {
		ms = append(ms, e.Errors)
	}
	if e.Latency != nil {
		ms = append(ms, *e.Latency)
	}
	return ms
}

// judgeLine is the judge's standing as one log line: "judge: errors 2/480
// vs stable 31/9120 (ratio 0.1–4.8), evidence against 3.2, for 41 · needed
// 100 · inconclusive".
func judgeLine(e *gates.Evidence) string {
	ms := metrics(e)
	if e.Verdict == gates.VerdictNone || len(ms) == 0 {
		return "judge: " + judgeWords(gates.VerdictNone)
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = countsText(m) + ", " + evidenceText(m)
	}
	words := judgeWords(e.Verdict)
	if e.Verdict == gates.VerdictRollback { // as loud as a failed gate
		words = "ROLLBACK: worse than the stable"
	}
	return fmt.Sprintf("judge: %s · needed %s · %s", strings.Join(parts, "; "), gates.FormatEvidence(e.Needed), words)
}

// strongest is the largest evidence against the candidate, or the
// smallest for it, over the compared metrics: what decided the verdict.
func strongest(e *gates.Evidence, against bool) float64 {
	ms := metrics(e)
	if len(ms) == 0 {
		return 0
	}
	v := ms[0].For
	if against {
		v = ms[0].Against
	}
	for _, m := range ms[1:] {
		if against {
			v = max(v, m.Against)
		} else {
			v = min(v, m.For)
		}
	}
	return v
}

// seen is how many errors both versions made, as the engine counts them
// when it promotes without evidence.
func seen(e *gates.Evidence) int64 { return e.Errors.Candidate.Bad + e.Errors.Stable.Bad }

// verdictHead is how the final verdict line opens, naming the judge's
// verdict, and the result's reason without what the head already says.
// first is set for a first deploy, where there is nothing to compare.
func verdictHead(r engine.Result, first bool) (head, reason string) {
	head, reason = outcomeWords(r.Outcome), r.Reason
	e := r.Evidence
	if e == nil {
		return head, reason
	}
	promoted := r.Outcome == engine.OutcomePromoted
	switch {
	case promoted && e.Verdict == gates.VerdictPromote:
		return "promoted with evidence", strings.TrimPrefix(reason, "promoted with evidence: ")
	case promoted && e.Verdict == gates.VerdictInconclusive:
		n := seen(e)
		return fmt.Sprintf("promoted without evidence (%d errors seen)", n),
			unwrap(strings.TrimPrefix(reason, fmt.Sprintf("promoted without evidence: %d errors seen ", n)))
	case promoted && e.Verdict == gates.VerdictNone && !first:
		return "promoted without evidence (nothing compared)", reason
	case r.Outcome == engine.OutcomeRolledBack && e.Verdict == gates.VerdictRollback:
		return "rolled back: worse than the stable", strings.TrimPrefix(reason, "the candidate is worse than the stable: ")
	case r.Outcome == engine.OutcomeRolledBack && e.Verdict != gates.VerdictNone:
		return head, reason + "; the judge stood at " + string(e.Verdict)
	}
	return head, reason
}

// unwrap drops the parentheses around the start of s: "(a (b)); c" becomes
// "a (b); c".
func unwrap(s string) string {
	if !strings.HasPrefix(s, "(") {
		return s
	}
	depth := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return s[1:i] + s[i+1:]
			}
		}
	}
	return s
}

// judgeHeadline is what the summary's first line adds about the judge.
func judgeHeadline(r engine.Result, first bool) string {
	e := r.Evidence
	if e == nil {
		return ""
	}
	needed := gates.FormatEvidence(e.Needed)
	switch promoted := r.Outcome == engine.OutcomePromoted; {
	case promoted && e.Verdict == gates.VerdictPromote:
		return fmt.Sprintf(", **with evidence** it is no worse (%s of %s needed)", gates.FormatEvidence(strongest(e, false)), needed)
	case promoted && e.Verdict == gates.VerdictInconclusive && e.Errors.Metric != "":
		return fmt.Sprintf(", **without evidence** (%d errors seen, too few to compare)", seen(e))
	case promoted && e.Verdict == gates.VerdictInconclusive:
		return ", **without evidence** (too little data to compare)"
	case promoted && e.Verdict == gates.VerdictNone && !first:
		return ", **without evidence** (no traffic on both versions to compare)"
	case r.Outcome == engine.OutcomeRolledBack && e.Verdict == gates.VerdictRollback:
		return fmt.Sprintf(" because it is **worse than the stable** (evidence %s of %s needed)", gates.FormatEvidence(strongest(e, true)), needed)
	}
	return ""
}

// judgeIcon marks a verdict in the table: ✅ no worse, ❌ worse, ⚖️ still
// weighing, ➖ nothing compared.
func judgeIcon(v gates.JudgeVerdict) string {
	switch v {
	case gates.VerdictPromote:
		return "✅"
	case gates.VerdictRollback:
		return "❌"
	case gates.VerdictInconclusive:
		return "⚖️"
	}
	return "➖"
}

// judgeCell is the judge's standing at the end of a step, for the table's
// gate column: the verdict, then a line per metric.
func judgeCell(v gates.JudgeVerdict, e *gates.Evidence) string {
	words := map[gates.JudgeVerdict]string{gates.VerdictPromote: "no worse", gates.VerdictRollback: "worse",
		gates.VerdictInconclusive: "inconclusive"}[v]
	if words == "" {
		return judgeIcon(v) + " judge: no traffic on both versions to compare"
	}
	lines := []string{fmt.Sprintf("%s judge: %s", judgeIcon(v), words)}
	for _, m := range metrics(e) {
		lines = append(lines, cell(fmt.Sprintf("%s: %s (%s needed)", countsText(m), evidenceText(m), gates.FormatEvidence(e.Needed))))
	}
	return strings.Join(lines, "<br>")
}

// explainParts are the comparisons a latency verdict averages, one per
// bound, in full.
func explainParts(m gates.MetricEvidence) []string {
	var out []string
	for _, p := range m.Parts {
		out = append(out, fmt.Sprintf("%s (%sms): evidence against %s, for %s (candidate %d/%d slower, stable %d/%d; rate ratio %s)",
			p.Metric, gates.FormatValue(p.BoundMS), gates.FormatEvidence(p.Against), gates.FormatEvidence(p.For),
			p.Candidate.Bad, p.Candidate.Requests, p.Stable.Bad, p.Stable.Requests, gates.FormatRatio(p.RatioLow, p.RatioHigh)))
	}
	return out
}

// maxJudged bounds the steps the judge's details list: the latest ones.
const maxJudged = 50

// judgeDetails writes the judge's evidence in full, folded: at the end of
// each analyze step it weighed, then the final standing when it differs.
// Nothing when the judge never compared anything.
func (s *Summary) judgeDetails(b *strings.Builder) {
	var rows []*stepRow
	compared := false
	for _, r := range s.steps {
		if r.judged() {
			rows = append(rows, r)
			compared = compared || r.judge.Verdict != gates.VerdictNone
		}
	}
	var final *gates.Evidence
	if s.finished != nil {
		final = s.finished.Result.Evidence
		compared = compared || (final != nil && final.Verdict != gates.VerdictNone)
	}
	if !compared {
		return
	}
	v, needed := gates.VerdictNone, 0.0
	if final != nil {
		v, needed = final.Verdict, final.Needed
	} else {
		v, needed = rows[len(rows)-1].judgeVerdict(), rows[len(rows)-1].judge.Needed
	}
	fmt.Fprintf(b, "<details><summary>%s Judge: %s</summary>\n\n", judgeIcon(v), inline(judgeWords(v)))
	fmt.Fprintf(b, "Evidence starts at 1; a verdict needs %s (1/alpha). The rate ratio is the candidate's rate over the stable's, "+
		"in an interval valid at every check.\n\n", gates.FormatEvidence(needed))
	if len(rows) > maxJudged {
		fmt.Fprintf(b, "- … %d earlier steps\n", len(rows)-maxJudged)
		rows = rows[len(rows)-maxJudged:]
	}
	last := ""
	for _, r := range rows {
		fmt.Fprintf(b, "- step %d, %s: **%s**\n", r.index+1, inline(stepText(r.step)), inline(judgeWords(r.judgeVerdict())))
		writeExplained(b, r.judge)
		last = r.judge.Explain()
	}
	if final != nil && final.Explain() != last {
		fmt.Fprintf(b, "- final: **%s**\n", inline(judgeWords(final.Verdict)))
		writeExplained(b, final)
	}
	b.WriteString("\n</details>\n\n")
}

// writeExplained writes each metric's comparison as a nested list item.
func writeExplained(b *strings.Builder, e *gates.Evidence) {
	if e.Verdict == gates.VerdictNone {
		return
	}
	for _, m := range metrics(e) {
		fmt.Fprintf(b, "  - %s\n", inline(m.Explain(e.Needed)))
		for _, p := range explainParts(m) {
			fmt.Fprintf(b, "    - %s\n", inline(p))
		}
	}
}
