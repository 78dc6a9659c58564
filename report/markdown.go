package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
)

// Markdown renders the rollouts into one document, a section each, in
// order. Nil summaries are skipped. Sections that would take the document
// past MaxBytes are left out and counted on a last line.
func Markdown(summaries ...*Summary) string {
	var b strings.Builder
	for i, s := range summaries {
		if s == nil {
			continue
		}
		sec := s.section()
		if b.Len()+len(sec) > MaxBytes-200 {
			fmt.Fprintf(&b, "\n… %d more rollouts left out to keep this summary under %d KiB.\n", len(summaries)-i, MaxBytes>>10)
			break
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(sec)
	}
	return b.String()
}

// section renders one rollout.
func (s *Summary) section() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n%s\n\n", s.title(), s.verdict())
	s.notes(&b)
	if s.started != nil {
		b.WriteString(chart(s.chartTitle(), s.points, s.end().Sub(s.origin)))
		b.WriteString("\n")
	}
	s.table(&b)
	s.abSection(&b)
	s.comparison(&b)
	s.judgeDetails(&b)
	s.warningList(&b)
	s.hookList(&b)
	s.links(&b)
	return b.String()
}

func (s *Summary) title() string {
	switch {
	case s.Title != "":
		return inline(s.Title)
	case s.started != nil:
		return "Rollout of " + code(s.started.Service)
	case s.Service != "":
		return "Rollout of " + code(s.Service)
	}
	return "Rollout"
}

// chartTitle names the candidate and how its rollout ended, so that the
// charts of a summary with several rollouts say which is which.
func (s *Summary) chartTitle() string {
	title := "Traffic to " + s.started.Candidate
	if s.finished != nil {
		title += ", " + strings.ReplaceAll(string(s.finished.Result.Outcome), "_", " ")
	}
	return title
}

// end is when the rollout ended, or its latest event while it runs.
func (s *Summary) end() time.Time {
	if s.finished != nil {
		return s.finished.At.At
	}
	return s.last
}

// verdict is the first line: how it ended, and which revisions took part.
func (s *Summary) verdict() string {
	var res engine.Result
	if s.finished != nil {
		res = s.finished.Result
	}
	cand, stable, service := res.Candidate, res.Stable, s.Service
	switch {
	case s.started != nil:
		cand, stable, service = s.started.Candidate, s.started.Stable, s.started.Service
	case res.Outcome == engine.OutcomePromoted:
		cand, stable = res.Stable, "" // a promotion's result names the new stable; the old one is unknown
	}
	who := "candidate " + code(cand)
	if cand == "" {
		who = "the rollout"
	}
	if service != "" {
		who += " of " + code(service)
	}
	beside, back := "", ""
	if stable != "" {
		beside, back = " beside stable "+code(stable), " to stable "+code(stable)
	}
	var line string
	switch {
	case s.finished == nil:
		line = fmt.Sprintf("⏳ **In progress**: %s at %d%%%s", who, s.current(), beside)
	case res.Outcome == engine.OutcomePromoted && s.started != nil && s.started.FirstDeploy:
		line = fmt.Sprintf("✅ **Promoted** %s to stable (first deploy)", who)
	case res.Outcome == engine.OutcomePromoted && stable != "":
		line = fmt.Sprintf("✅ **Promoted** %s to stable, replacing %s", who, code(stable))
	case res.Outcome == engine.OutcomePromoted:
		line = fmt.Sprintf("✅ **Promoted** %s to stable", who)
	case res.Outcome == engine.OutcomeRolledBack && s.rolledBack != nil:
		line = fmt.Sprintf("↩️ **Rolled back** %s from %d%%%s", who, s.rolledBack.From, back)
	case res.Outcome == engine.OutcomeRolledBack:
		line = fmt.Sprintf("↩️ **Rolled back** %s%s", who, back)
	case res.Outcome == engine.OutcomePaused:
		line = fmt.Sprintf("⏸️ **Paused** %s at %d%%%s", who, res.Weight, beside)
	case res.Outcome == engine.OutcomeCancelled:
		line = fmt.Sprintf("⛔ **Cancelled** %s at %d%%%s", who, res.Weight, beside)
	case s.started == nil:
		line = "❌ **Failed** before the rollout started"
		if service != "" {
			line = fmt.Sprintf("❌ **Failed** before the rollout of %s started", code(service))
		}
	default:
		line = fmt.Sprintf("❌ **Failed** %s at %d%%%s", who, res.Weight, beside)
	}
	if s.finished != nil {
		line += judgeHeadline(res, s.started != nil && s.started.FirstDeploy)
	}
	if s.started != nil {
		line += fmt.Sprintf(" · %s · %s", inline(s.started.Strategy), human(s.end().Sub(s.origin)))
	}
	if s.WallClock && !s.origin.IsZero() {
		line += " · started " + s.origin.UTC().Format("2006-01-02 15:04:05 MST")
	}
	return line
}

// current is the candidate's latest known weight.
func (s *Summary) current() int {
	if len(s.points) == 0 {
		return 0
	}
	return s.points[len(s.points)-1].weight
}

// notes writes the reason, the error and the rollback window.
func (s *Summary) notes(b *strings.Builder) {
	if s.finished == nil {
		return
	}
	res := s.finished.Result
	if res.Reason != "" {
		fmt.Fprintf(b, "**Reason:** %s\n\n", inline(res.Reason))
	}
	if n := errNote(res); n != "" {
		fmt.Fprintf(b, "**Error:** %s\n\n", code(n))
	}
	if p := s.promoted; p != nil && !p.PreviousUntil.IsZero() && res.Outcome == engine.OutcomePromoted && s.started != nil &&
		s.started.Stable != "" {
		fmt.Fprintf(b, "**Rollback window:** %s stays warm for %s after the promotion.\n\n",
			code(s.started.Stable), human(p.PreviousUntil.Sub(p.At.At)))
	}
	if n := s.next(res); n != "" {
		fmt.Fprintf(b, "**Next:** %s\n\n", n)
	}
}

// next says what a person can do now, with the commands (run with the
// deploy's provider and service options, or commented on the pull request).
func (s *Summary) next(res engine.Result) string {
	switch res.Outcome {
	case engine.OutcomePaused:
		return "`ramp resume` (or comment `/ramp resume`) continues from where it stopped; `ramp promote` or `ramp rollback` ends it."
	case engine.OutcomePromoted:
		if s.promoted != nil && !s.promoted.PreviousUntil.IsZero() && s.started != nil && s.started.Stable != "" {
			return fmt.Sprintf("inside the rollback window, `ramp rollback` (or comment `/ramp rollback`) switches straight back to %s.",
				code(s.started.Stable))
		}
	case engine.OutcomeRolledBack:
		return "fix the candidate and deploy again; `ramp status` shows the service as it is."
	case engine.OutcomeCancelled, engine.OutcomeFailed:
		return "`ramp status` shows where the rollout stands and names the repair; `ramp resume` or `ramp rollback` finishes it."
	}
	return ""
}

func (s *Summary) warningList(b *strings.Builder) {
	n := len(s.warnings) + s.dropped
	if n == 0 {
		return
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(b, "<details><summary>⚠️ %d warning%s</summary>\n\n", n, plural)
	for _, w := range s.warnings {
		fmt.Fprintf(b, "- %s\n", inline(w))
	}
	if s.dropped > 0 {
		fmt.Fprintf(b, "- … %d more\n", s.dropped)
	}
	b.WriteString("\n</details>\n\n")
}

func (s *Summary) links(b *strings.Builder) {
	var ls []string
	add := func(name, url string) {
		if url != "" {
			ls = append(ls, fmt.Sprintf("[%s](%s)", name, linkEscaper.Replace(url)))
		}
	}
	if st := s.started; st != nil {
		add("service", st.ServiceURL)
		add("candidate", st.CandidateURL)
	} else if s.finished != nil {
		add("service", s.finished.Result.URL)
	}
	add("run", s.RunURL)
	if len(ls) > 0 {
		fmt.Fprintf(b, "**Links:** %s\n", strings.Join(ls, " · "))
	}
}

var (
	inlineEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r\n", " ", "\n", " ", "\r", " ")
	cellEscaper   = strings.NewReplacer("|", `\|`)
	linkEscaper   = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E")
)

// inline makes text safe in a Markdown paragraph: one line, no HTML.
func inline(s string) string { return inlineEscaper.Replace(clip(s, 2000)) }

// cell makes text safe in a table cell.
func cell(s string) string { return cellEscaper.Replace(inline(s)) }

// code renders s as a code span.
func code(s string) string {
	return "`" + strings.NewReplacer("`", "'", "\n", " ").Replace(clip(s, 200)) + "`"
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
