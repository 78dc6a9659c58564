package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
)

// The comparison: each version's error rate (and p99 latency, when the
// source measures it) over the windows the metrics were judged on, drawn
// candidate against stable, with a caption naming the decision point and
// a folded table of the judge's evidence after each check.

// minCompared is how many windows with traffic on both versions the
// comparison needs to be drawn: fewer make no line worth reading.
const minCompared = 3

// maxCheckRows bounds the rows of the evidence table: the latest checks.
const maxCheckRows = 60

// check is one window of both versions' traffic, as the engine judged it.
type check struct {
	at                 time.Duration // since the rollout's start
	index, weight      int
	cand, stable       gates.Tally2
	candP99, stableP99 float64
	evidence           *gates.Evidence
}

// judged records a Judged event's window; called with s.mu held.
func (s *Summary) judged(t time.Time, e *engine.Judged) {
	c := check{at: t.Sub(s.origin), index: e.Index, weight: e.Weight, cand: e.Candidate, stable: e.Stable,
		candP99: e.CandidateP99MS, stableP99: e.StableP99MS}
	if e.Evidence != nil {
		ev := *e.Evidence
		c.evidence = &ev
	}
	s.checks = append(s.checks, c)
}

// compared are the checks whose window had traffic on both versions: the
// only ones that compare anything.
func (s *Summary) compared() []check {
	var out []check
	for _, c := range s.checks {
		if c.cand.Requests > 0 && c.stable.Requests > 0 {
			out = append(out, c)
		}
	}
	return out
}

// comparison writes the charts, their caption and the evidence per check,
// or nothing when fewer than minCompared windows compared the versions.
func (s *Summary) comparison(b *strings.Builder) {
	pts := s.compared()
	if s.started == nil || len(pts) < minCompared {
		return
	}
	cand, stable := s.started.Candidate, s.started.Stable
	groups := group(pts, maxSamples)
	xAxis := fmt.Sprintf(`"check" 1 --> %d`, len(pts))
	if per := (len(pts) + maxSamples - 1) / maxSamples; per > 1 {
		xAxis = fmt.Sprintf(`"check (%d per point)" 1 --> %d`, per, len(pts))
	}
	rate := func(t gates.Tally2) float64 { return 100 * float64(t.Bad) / float64(t.Requests) }
	b.WriteString(compareChart(fmt.Sprintf("Error rate of %s against %s", cand, stable), xAxis, "error rate (%)", groups,
		func(c check) (float64, float64) { return rate(c.cand), rate(c.stable) }))
	if latencyMeasured(groups) {
		b.WriteString("\n" + compareChart(fmt.Sprintf("p99 latency of %s against %s", cand, stable), xAxis, "p99 (ms)", groups,
			func(c check) (float64, float64) { return c.candP99, c.stableP99 }))
	}
	fmt.Fprintf(b, "\n*Each check's window: candidate %s in blue, stable %s in orange; %s.* %s\n\n",
		code(cand), code(stable), weights(pts), s.decision(pts))
	s.checkTable(b, pts)
}

// compareChart draws the candidate's and the stable's values of each
// group, on a y axis from 0 to a round number above the largest.
func compareChart(title, xAxis, unit string, groups []check, values func(check) (float64, float64)) string {
	var cl, sl []string
	top := 0.0
	for _, g := range groups {
		c, st := values(g)
		cl, sl = append(cl, gates.FormatValue(c)), append(sl, gates.FormatValue(st))
		top = max(top, c, st)
	}
	return xyChart{title: title, height: 250, palette: []string{blue, orange}, xAxis: xAxis,
		yAxis: fmt.Sprintf("%q 0 --> %s", unit, gates.FormatValue(roundUp(top))), lines: [][]string{cl, sl}}.String()
}

// roundUp is a round number at or above v: 1, 2 or 5 times a power of ten.
func roundUp(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// group merges consecutive checks so that at most n remain: counts add up,
// the p99 is the largest, the evidence and weight are the group's last.
func group(pts []check, n int) []check {
	per := (len(pts) + n - 1) / n
	if per <= 1 {
		return pts
	}
	var out []check
	for i := 0; i < len(pts); i += per {
		g := pts[i]
		for _, c := range pts[i+1 : min(i+per, len(pts))] {
			g.cand = gates.Tally2{Requests: g.cand.Requests + c.cand.Requests, Bad: g.cand.Bad + c.cand.Bad}
			g.stable = gates.Tally2{Requests: g.stable.Requests + c.stable.Requests, Bad: g.stable.Bad + c.stable.Bad}
			g.candP99, g.stableP99 = max(g.candP99, c.candP99), max(g.stableP99, c.stableP99)
			g.at, g.index, g.weight, g.evidence = c.at, c.index, c.weight, c.evidence
		}
		out = append(out, g)
	}
	return out
}

// latencyMeasured reports whether the source measured both versions'
// latency in some window.
func latencyMeasured(pts []check) bool {
	for _, c := range pts {
		if c.candP99 > 0 && c.stableP99 > 0 {
			return true
		}
	}
	return false
}

// weights says which checks ran at which weight: "checks 1–2 at 10%, 3–4
// at 50%".
func weights(pts []check) string {
	var parts []string
	for i := 0; i < len(pts); {
		j := i
		for j+1 < len(pts) && pts[j+1].weight == pts[i].weight {
			j++
		}
		span := strconv.Itoa(i + 1)
		if j > i {
			span += "–" + strconv.Itoa(j+1)
		}
		parts = append(parts, fmt.Sprintf("%s at %d%%", span, pts[i].weight))
		i = j + 1
	}
	word := "checks "
	if len(pts) == 1 {
		word = "check "
	}
	return word + strings.Join(parts, ", ")
}

// decided is the check (0-based, in pts) from which the judge's verdict
// stood at promote or rollback to the end, or -1.
func decided(pts []check) int {
	last := pts[len(pts)-1].evidence
	if last == nil || (last.Verdict != gates.VerdictPromote && last.Verdict != gates.VerdictRollback) {
		return -1
	}
	k := len(pts) - 1
	for k > 0 && pts[k-1].evidence != nil && pts[k-1].evidence.Verdict == last.Verdict {
		k--
	}
	return k
}

// decision is the caption's sentence on the decision point: the check at
// which the judge decided, or the gate that rolled the candidate back.
func (s *Summary) decision(pts []check) string {
	if k := decided(pts); k >= 0 {
		c := pts[k]
		found := "no worse than"
		if c.evidence.Verdict == gates.VerdictRollback {
			found = "worse than"
		}
		return fmt.Sprintf("**Decision point:** check %d (%s, at %d%%), where the judge found %s %s the stable.", k+1, clock(c.at),
			c.weight, code(s.started.Candidate), found)
	}
	if f := s.failed; f != nil {
		at := f.At.At.Sub(s.origin)
		k := 0
		for k < len(pts) && pts[k].at <= at {
			k++
		}
		return fmt.Sprintf("**Decision point:** after check %d (%s, at %d%%), %s failed the rollout.", max(k, 1), clock(at), f.Weight,
			code(f.Result.Gate))
	}
	if s.finished == nil {
		return "No decision yet."
	}
	ended := "was " + outcomeWords(s.finished.Result.Outcome)
	if s.finished.Result.Outcome == engine.OutcomeFailed {
		ended = "failed"
	}
	return fmt.Sprintf("No decision by check %d; the rollout %s.", len(pts), ended)
}

// checkTable writes each check's counts, p99 and the judge's evidence
// after it, folded, the latest maxCheckRows of them.
func (s *Summary) checkTable(b *strings.Builder, pts []check) {
	latency, judge := latencyMeasured(pts), pts[len(pts)-1].evidence != nil
	b.WriteString("<details><summary>Each check, candidate against stable</summary>\n\n| Check | At | Weight | Errors | Stable errors |")
	rule := "|--:|--:|--:|--:|--:|"
	if latency {
		b.WriteString(" p99 | Stable p99 |")
		rule += "--:|--:|"
	}
	if judge {
		b.WriteString(" Evidence against / for |")
		rule += "---|"
	}
	b.WriteString("\n" + rule + "\n")
	first, k := max(0, len(pts)-maxCheckRows), decided(pts)
	if first > 0 {
		fmt.Fprintf(b, "| … | %d earlier checks | | | |%s%s\n", first, strings.Repeat(" |", 2*btoi(latency)), strings.Repeat(" |", btoi(judge)))
	}
	for i, c := range pts[first:] {
		i += first
		fmt.Fprintf(b, "| %d | %s | %d%% | %s | %s |", i+1, clock(c.at), c.weight, errorsText(c.cand), errorsText(c.stable))
		if latency {
			fmt.Fprintf(b, " %s | %s |", msText(c.candP99), msText(c.stableP99))
		}
		if judge {
			fmt.Fprintf(b, " %s |", evidenceCell(c.evidence, i == k))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n</details>\n\n")
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// errorsText is a window's errors: "2/480 (0.42%)".
func errorsText(t gates.Tally2) string {
	return fmt.Sprintf("%d/%d (%s%%)", t.Bad, t.Requests, gates.FormatValue(100*float64(t.Bad)/float64(t.Requests)))
}

func msText(v float64) string {
	if v <= 0 {
		return "–"
	}
	return gates.FormatValue(v) + " ms"
}

// evidenceCell is the judge's standing after a check: "0.76 / 0.72 of
// 100", in bold with the verdict at the decision point.
func evidenceCell(e *gates.Evidence, decision bool) string {
	if e == nil || e.Verdict == gates.VerdictNone {
		return "–"
	}
	text := fmt.Sprintf("%s / %s of %s", gates.FormatEvidence(strongest(e, true)), gates.FormatEvidence(strongest(e, false)),
		gates.FormatEvidence(e.Needed))
	if decision {
		return fmt.Sprintf("**%s: %s**", text, judgeWords(e.Verdict))
	}
	return text
}
