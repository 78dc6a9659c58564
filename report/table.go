package report

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// table writes the steps, at most MaxRows of them: the first and the last
// halves around a row counting the steps left out.
func (s *Summary) table(b *strings.Builder) {
	if len(s.steps) == 0 {
		return
	}
	b.WriteString("| # | Step | Weight | Hold | Gates | Took |\n|--:|---|--:|--:|---|--:|\n")
	rows := s.steps
	head, tail := rows, []*stepRow(nil)
	if len(rows) > MaxRows {
		head, tail = rows[:MaxRows/2], rows[len(rows)-MaxRows/2:]
	}
	for _, r := range head {
		s.writeRow(b, r)
	}
	if tail != nil {
		fmt.Fprintf(b, "| … | %d more steps | | | | |\n", len(rows)-len(head)-len(tail))
		for _, r := range tail {
			s.writeRow(b, r)
		}
	}
	b.WriteString("\n")
}

func (s *Summary) writeRow(b *strings.Builder, r *stepRow) {
	hold := "–"
	if r.step.Hold > 0 {
		hold = human(r.step.Hold)
	}
	var cells []string
	if r.judged() {
		cells = append(cells, judgeCell(r.judgeVerdict(), r.judge))
	}
	for _, g := range r.gates {
		cells = append(cells, cell(gateText(g)))
	}
	gs := strings.Join(cells, "<br>")
	if gs == "" {
		gs = "–"
	}
	fmt.Fprintf(b, "| %d | %s | %d%% | %s | %s | %s |\n", r.index+1, stepName(r.step.Kind), r.step.Weight, hold, gs, s.took(r))
}

// took is how long a step lasted, and how it ended if it did not pass.
func (s *Summary) took(r *stepRow) string {
	if r.done {
		return human(r.took)
	}
	d := human(s.end().Sub(r.began))
	if s.finished == nil {
		return d + " (running)"
	}
	out := s.finished.Result.Outcome
	if out == engine.OutcomePromoted && r.step.Kind == strategies.KindBake {
		return "not waited"
	}
	return fmt.Sprintf("%s (%s)", d, outcomeWords(out))
}

// gateText is a gate's checks in a step: how many passed or failed, then
// the last one. ✅ its last check passed, ❌ it failed the step, ⚠️ anything
// between (no data yet, a failure under the threshold).
func gateText(c gateCell) string {
	r := c.res
	icon := "⚠️"
	switch {
	case c.v.Outcome == gates.Failed || c.v.Outcome == gates.Error:
		icon = "❌"
	case r.Outcome == gates.Successful:
		icon = "✅"
	}
	var last string
	switch r.Outcome {
	case gates.Inconclusive:
		last = fmt.Sprintf("not enough data (%s)", clip(r.Message, 200))
	case gates.Error:
		last = fmt.Sprintf("could not measure (%s)", clip(r.Message, 200))
	default:
		last = fmt.Sprintf("%s%s (%s%s, %d samples)", gates.FormatValue(r.Value), r.Unit, gates.FormatThreshold(r.Threshold),
			r.Unit, r.Samples)
	}
	switch {
	case c.passed+c.failed == 0 && c.checks == 1:
		return fmt.Sprintf("%s %s: %s", icon, r.Gate, last)
	case c.passed+c.failed == 0:
		return fmt.Sprintf("%s %s: no verdict in %d checks%s, last: %s", icon, r.Gate, c.checks, c.also(), last)
	case c.checks == 1:
		return fmt.Sprintf("%s %s %s 1 check: %s", icon, r.Gate, c.verb(), last)
	}
	k := c.passed
	if c.failed > 0 {
		k = c.failed
	}
	return fmt.Sprintf("%s %s %s %d of %d checks%s, last %s", icon, r.Gate, c.verb(), k, c.checks, c.also(), last)
}

// verb is what decided a gate's checks in a step: any failure, else a pass.
func (c gateCell) verb() string {
	if c.failed > 0 {
		return "failed"
	}
	return "passed"
}

// also counts the checks that neither passed nor failed, when some did:
// " (2 without enough data)".
func (c gateCell) also() string {
	if c.passed+c.failed == 0 && (c.nodata == 0 || c.errored == 0) {
		return "" // the last check says which
	}
	var parts []string
	if c.nodata > 0 {
		parts = append(parts, fmt.Sprintf("%d without enough data", c.nodata))
	}
	if c.errored > 0 {
		parts = append(parts, fmt.Sprintf("%d not measured", c.errored))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// stepName is what a step does, for the table, whose other columns give
// its weight and hold.
func stepName(k strategies.Kind) string {
	switch k {
	case strategies.KindAnalyze:
		return "analyse"
	case strategies.KindShift, strategies.KindPause, strategies.KindPromote, strategies.KindBake:
		return string(k)
	}
	return cell(string(k))
}

// stepText is a step in words, its hold as the table writes durations:
// "analyse at 10% for 1m".
func stepText(st strategies.Step) string {
	switch st.Kind {
	case strategies.KindAnalyze:
		return fmt.Sprintf("analyse at %d%% for %s", st.Weight, human(st.Hold))
	case strategies.KindBake:
		return "bake for " + human(st.Hold)
	}
	return st.String()
}
