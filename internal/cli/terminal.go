package cli

import (
	"context"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/report"
)

// terminal reports whether w, under the lock synced puts around it, is a
// terminal a person watches, and its width in columns (0 when unknown).
// TERM=dumb is not: it cannot rewrite a line.
func terminal(w io.Writer, getenv func(string) string) (width int, ok bool) {
	if l, locked := w.(*lockedWriter); locked {
		w = l.w
	}
	f, isFile := w.(*os.File)
	if !isFile || getenv("TERM") == "dumb" || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	if width, _, err := term.GetSize(int(f.Fd())); err == nil {
		return width, true
	}
	return 0, true
}

// console is the human reporter, terse when live (see report.Console):
// plain lines, and on a terminal the status line during holds, whose
// countdowns run until stop is called.
func (a *app) console(live bool) (c *report.Console, stop func()) {
	c = &report.Console{W: a.env.Stdout, Live: live}
	width, ok := terminal(a.env.Stdout, a.env.Getenv)
	if !ok {
		return c, func() {}
	}
	c.Status, c.Width = true, width
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Refresh(ctx) }()
	return c, func() { cancel(); <-done }
}

// recordProgress is where a progressing rollout stands as its record
// tells: the step and its hold, and the weight. The time left in the hold,
// the next check and the evidence are known to the deploy driving it,
// whose live status line shows them.
func recordProgress(r providers.Rollout) (report.Progress, bool) {
	steps := recordedPlan(r)
	if r.Phase != providers.PhaseProgressing || len(steps) == 0 {
		return report.Progress{}, false
	}
	i := min(max(r.Step, 0), len(steps)-1)
	return report.Progress{Step: i + 1, Steps: len(steps), Kind: steps[i].Kind, Weight: r.Weight, Hold: steps[i].Hold,
		HoldLeft: -1, NextCheck: -1}, true
}
