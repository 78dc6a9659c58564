package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
)

// Console writes one line per event for people, each prefixed with the time
// elapsed since the rollout started and the candidate's weight:
//
//	[00:12]  25% | error-rate = 0.2% (threshold <= 1%, 412 samples over 10s) ok
//	[00:12]  25% | judge: errors 2/480 vs stable 31/9120 (ratio 0.1–4.8), evidence against 3.2, for 41 · needed 100 · inconclusive
//
// The comparative judge's standing is printed when its verdict changes and
// with each analyze step's end (at every poll when Live).
//
// Its zero value writes nothing; set W. It is safe for concurrent use and
// ignores write errors, so a closed terminal never fails a rollout.
type Console struct {
	// W receives the lines.
	W io.Writer
	// Live keeps the output terse for a terminal someone is watching: step
	// boundaries are left out and a gate's check is printed only when its
	// outcome differs from its previous check in the same step; the judge's
	// standing, though, is printed at every poll with traffic on both
	// versions.
	Live bool
	// Status keeps a status line under the output while a step holds,
	// rewritten in place (a carriage return and an erase-line sequence):
	// step k of n, weight, time left in the hold, time to the next check
	// and the evidence so far (see Progress). Set it only when W is a
	// terminal; Refresh runs its countdowns. Width is the terminal's width
	// in columns (80 when unset); the line is cut to fit it.
	Status bool
	Width  int

	mu     sync.Mutex
	origin time.Time
	weight int
	known  bool // whether weight is known (not before a resume's first report)
	total  int
	first  bool                     // a first deploy: nothing to keep warm
	last   map[string]gates.Outcome // per gate, in the current step
	// evidence is the judge's latest standing; judged the verdict last
	// printed.
	evidence *gates.Evidence
	judged   gates.JudgeVerdict
	// The status line: the plan's check interval, the hold in progress,
	// and whether the line is on screen.
	interval time.Duration
	hold     *hold
	shown    bool
}

// Event writes the line for ev; it is an engine.Sink.
func (c *Console) Event(ev engine.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := ev.(*engine.Started); ok || c.origin.IsZero() {
		c.origin = ev.Time()
	}
	c.track(ev)
	text, ok := c.text(ev)
	if c.Status {
		c.follow(ev)
	}
	if c.W == nil {
		return
	}
	if ok {
		w := "  ?%"
		if c.known {
			w = fmt.Sprintf("%3d%%", c.weight)
		}
		erase := ""
		if c.shown { // the line takes the status line's place
			erase, c.shown = clearLine, false
		}
		_, _ = fmt.Fprintf(c.W, "%s[%s] %s | %s\n", erase, clock(ev.Time().Sub(c.origin)), w, text)
	}
	if c.Status {
		c.drawStatus(ev.Time())
	}
}

// track follows the candidate's weight through the events that report it.
func (c *Console) track(ev engine.Event) {
	set := func(w int) { c.weight, c.known = w, true }
	switch e := ev.(type) {
	case *engine.Started:
		c.weight, c.known = 0, !e.Resumed
	case *engine.Shifted:
		set(e.Weight)
	case *engine.GateChecked:
		set(e.Weight)
	case *engine.Judged:
		set(e.Weight)
	case *engine.Holding:
		set(e.Weight)
	case *engine.Paused:
		set(e.Weight)
	case *engine.Promoted:
		set(100)
	case *engine.RolledBack:
		set(0)
	case *engine.Finished:
		set(e.Result.Weight)
	}
}

// text is the line for ev after the prefix; false leaves the event out.
func (c *Console) text(ev engine.Event) (string, bool) {
	switch e := ev.(type) {
	case *engine.Started:
		c.first, c.evidence, c.judged = e.FirstDeploy, nil, ""
		return startedText(e), true
	case *engine.StepStarted:
		c.total, c.last = e.Total, nil
		return fmt.Sprintf("step %d/%d: %s", e.Index+1, e.Total, stepText(e.Step)), !c.Live
	case *engine.Shifted:
		if e.Instances > 0 { // a replace step of a rolling rollout
			return fmt.Sprintf("replaced: %d instances run the candidate (%d%% -> %d%% of the traffic)", e.Instances, e.From, e.Weight), true
		}
		return fmt.Sprintf("shifted %d%% -> %d%%", e.From, e.Weight), true
	case *engine.GateChecked:
		return c.gateText(e)
	case *engine.Judged:
		return c.judgedText(e)
	case *engine.Holding:
		return fmt.Sprintf("holding at %d%%: %s", e.Weight, e.Reason), true
	case *engine.StepDone:
		return c.stepDoneText(e), !c.Live
	case *engine.Warning:
		return "warning: " + e.Message, true
	case *engine.Paused:
		return fmt.Sprintf("paused at %d%%: %s", e.Weight, e.Reason), true
	case *engine.Promoted:
		s := fmt.Sprintf("promoted %s to stable", e.Revision)
		if !e.PreviousUntil.IsZero() && !c.first {
			s += fmt.Sprintf("; the previous revision stays warm for %s", human(e.PreviousUntil.Sub(e.At.At)))
		}
		return s, true
	case *engine.RolledBack:
		return fmt.Sprintf("rolled back from %d%% to 0%%: %s", e.From, e.Reason), true
	case *engine.Finished:
		return finishedText(e.Result, c.first), true
	case *engine.HookCalled:
		return hookText(e), true
	case *engine.Concluded:
		return abLines(e), true
	}
	return ev.Type(), true
}

func startedText(e *engine.Started) string {
	verb := "rollout"
	switch {
	case e.FirstDeploy:
		verb = "first deploy"
	case e.Resumed:
		verb = "resumed rollout"
	}
	stable := "stable " + e.Stable
	if e.Stable == "" {
		stable = "no stable revision"
	}
	return fmt.Sprintf("%s %s of %s: candidate %s, %s (%d steps, checks every %s)",
		e.Strategy, verb, e.Service, e.Candidate, stable, len(e.Plan.Steps), human(e.Plan.Interval))
}

func (c *Console) gateText(e *engine.GateChecked) (string, bool) {
	r := e.Result
	if c.Live {
		final := e.Verdict.Outcome == gates.Failed || e.Verdict.Outcome == gates.Error
		if prev, ok := c.last[r.Gate]; ok && prev == r.Outcome && !final {
			return "", false
		}
		if c.last == nil {
			c.last = map[string]gates.Outcome{}
		}
		c.last[r.Gate] = r.Outcome
	}
	return gates.Explain(r) + " " + mark(r, e.Verdict), true
}

// judgedText is the judge's standing after a poll: every poll when Live,
// otherwise only when the verdict changed.
func (c *Console) judgedText(e *engine.Judged) (string, bool) {
	if e.Evidence == nil { // the judge is off: the window's counts feed the guardrails
		return "", false
	}
	ev := *e.Evidence
	c.evidence = &ev
	changed := ev.Verdict != c.judged
	c.judged = ev.Verdict
	// A window without the stable (at 100%) adds nothing to compare.
	return judgeLine(&ev), changed || (c.Live && e.Stable.Requests > 0)
}

// stepDoneText closes a step, with the judge's standing at the end of an
// analyze step it weighed.
func (c *Console) stepDoneText(e *engine.StepDone) string {
	s := fmt.Sprintf("step %d/%d done in %s", e.Index+1, c.total, human(e.Took))
	if e.Verdict == "" || c.evidence == nil {
		return s
	}
	ev := *c.evidence
	ev.Verdict, c.judged = e.Verdict, e.Verdict
	return s + "; " + judgeLine(&ev)
}

// mark says what a check means for the rollout.
func mark(r gates.Result, v gates.Verdict) string {
	switch {
	case v.Outcome == gates.Failed:
		return "FAILED"
	case v.Outcome == gates.Error:
		return "ERROR"
	case r.Outcome == gates.Successful:
		return "ok"
	case r.Outcome == gates.Failed:
		return "failed (below the failure threshold, checking again)"
	case r.Outcome == gates.Error:
		return "(below the error threshold, checking again)"
	}
	return "(holding)"
}

// finishedText is the verdict line; it names the judge's verdict when the
// judge weighed the rollout. first is set for a first deploy.
func finishedText(r engine.Result, first bool) string {
	head, reason := verdictHead(r, first)
	s := "verdict: " + head
	if reason != "" {
		s += ": " + reason
	}
	if n := errNote(r); n != "" {
		s += " (error: " + n + ")"
	}
	return strings.ReplaceAll(s, "\n", " ")
}
