package report

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Progress is where a running rollout stands: what the live status line
// shows during a hold, and `ramp status` once. Unknown parts are left out.
type Progress struct {
	// Step is the step in progress, from 1, of Steps.
	Step, Steps int
	// Kind is what the step does.
	Kind strategies.Kind
	// Weight is the candidate's share of the traffic.
	Weight int
	// Hold is the step's hold, shown when the time left is unknown.
	Hold time.Duration
	// HoldLeft is the time left in the step's hold; Waiting, once the hold
	// is over, why the step holds on. Neither is known when HoldLeft < 0
	// and Waiting is empty.
	HoldLeft time.Duration
	Waiting  string
	// NextCheck is the time to the next check; < 0 when unknown.
	NextCheck time.Duration
	// Evidence is what the checks found so far, in words.
	Evidence string
}

// String renders p on one line: "step 2 of 5 · analyse at 10% · 42s left
// in the hold · next check in 12s · judge: evidence against 0.76, for 0.72
// of 100 needed".
func (p Progress) String() string {
	parts := []string{fmt.Sprintf("step %d of %d", p.Step, p.Steps)}
	what := fmt.Sprintf("%d%%", p.Weight)
	if p.Kind != "" {
		what = fmt.Sprintf("%s at %d%%", stepName(p.Kind), p.Weight)
	}
	if p.HoldLeft < 0 && p.Waiting == "" && p.Hold > 0 {
		what += " for " + human(p.Hold)
	}
	parts = append(parts, what)
	switch {
	case p.Waiting != "":
		parts = append(parts, "hold over, waiting: "+p.Waiting)
	case p.HoldLeft >= 0:
		parts = append(parts, countdown(p.HoldLeft)+" left in the hold")
	}
	if p.NextCheck >= 0 {
		parts = append(parts, "next check in "+countdown(p.NextCheck))
	}
	if p.Evidence != "" {
		parts = append(parts, p.Evidence)
	}
	return strings.Join(parts, " · ")
}

// countdown is a time left in whole seconds, never negative.
func countdown(d time.Duration) string {
	return human(max(d, 0).Round(time.Second))
}

// hold is what the status line knows of the step in progress.
type hold struct {
	step     engine.StepStarted
	began    time.Time
	last     time.Time // the latest check, or the step's start
	waiting  string
	passed   int // gate checks passed in the step
	failed   int // and not passed
	interval time.Duration
}

// holds reports whether a step of kind k holds its weight for a while,
// checking: the steps the status line is shown for.
func holds(k strategies.Kind) bool { return k == strategies.KindAnalyze || k == strategies.KindBake }

// follow updates the status line's view of the rollout with ev; called
// with c.mu held.
func (c *Console) follow(ev engine.Event) {
	switch e := ev.(type) {
	case *engine.Started:
		c.interval = e.Plan.Interval
	case *engine.StepStarted:
		c.hold = nil
		if holds(e.Step.Kind) {
			c.hold = &hold{step: *e, began: e.At.At, last: e.At.At, interval: c.interval}
		}
	case *engine.GateChecked:
		if h := c.hold; h != nil {
			h.last = e.At.At
			if e.Result.Outcome == gates.Successful {
				h.passed++
			} else {
				h.failed++
			}
		}
	case *engine.Judged:
		if c.hold != nil {
			c.hold.last = e.At.At
		}
	case *engine.Holding:
		if c.hold != nil {
			c.hold.waiting = e.Reason
		}
	case *engine.StepDone, *engine.Paused, *engine.Promoted, *engine.RolledBack, *engine.Finished:
		c.hold = nil
	}
}

// progress is the status line's facts at now, or false outside a hold.
func (c *Console) progress(now time.Time) (Progress, bool) {
	h := c.hold
	if h == nil {
		return Progress{}, false
	}
	p := Progress{Step: h.step.Index + 1, Steps: h.step.Total, Kind: h.step.Step.Kind, Weight: h.step.Step.Weight,
		HoldLeft: max(h.began.Add(h.step.Step.Hold).Sub(now), 0), Waiting: clip(h.waiting, 120), NextCheck: -1}
	if h.interval > 0 {
		p.NextCheck = max(h.last.Add(h.interval).Sub(now), 0)
	}
	switch {
	case c.evidence != nil && c.evidence.Verdict != gates.VerdictNone:
		e := c.evidence
		p.Evidence = fmt.Sprintf("judge: evidence against %s, for %s of %s needed", gates.FormatEvidence(strongest(e, true)),
			gates.FormatEvidence(strongest(e, false)), gates.FormatEvidence(e.Needed))
	case h.passed+h.failed > 0:
		p.Evidence = fmt.Sprintf("checks: %d passed, %d not", h.passed, h.failed)
	default:
		p.Evidence = "no check yet"
	}
	return p, true
}

// drawStatus writes the status line at now in place of the one shown, or
// erases it outside a hold; called with c.mu held.
func (c *Console) drawStatus(now time.Time) {
	p, ok := c.progress(now)
	switch {
	case ok:
		width := c.Width
		if width <= 0 {
			width = 80
		}
		_, _ = fmt.Fprint(c.W, clearLine+fit(p.String(), width-1))
		c.shown = true
	case c.shown:
		_, _ = fmt.Fprint(c.W, clearLine)
		c.shown = false
	}
}

// fit cuts s to n runes, marking the cut, so that the line never wraps
// (a carriage return goes back only to the start of its last row).
func fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// Refresh redraws the status line every second, so that its countdowns
// run, until ctx is done; then it erases the line. It returns at once
// unless Status is set.
func (c *Console) Refresh(ctx context.Context) {
	if !c.Status {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			c.hold = nil
			c.drawStatus(time.Now())
			c.mu.Unlock()
			return
		case now := <-t.C:
			c.mu.Lock()
			if c.W != nil {
				c.drawStatus(now)
			}
			c.mu.Unlock()
		}
	}
}
