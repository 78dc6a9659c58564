package report

import (
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// Limits on what a Summary keeps and renders, so that a long rollout still
// fits in a GitHub job summary (1 MiB per step).
const (
	// MaxRows is the most steps the table shows; the rest are counted on a
	// "… N more steps" row.
	MaxRows = 200
	// MaxWarnings is the most warnings listed.
	MaxWarnings = 20
	// MaxBytes bounds a document made by Markdown; rollouts that do not fit
	// are counted, not shown.
	MaxBytes = 1000 << 10
)

// Summary collects one rollout's events and renders them as Markdown: the
// verdict, the reason, a chart of the candidate's traffic over time, a table
// of the steps with each gate's last measurement and the comparative judge's
// evidence at the end of each analyze step, that evidence in full, and links. Its zero value
// is ready to use and it is safe for concurrent use. Everything it prints is
// relative to the rollout's start, so the output is a function of the
// events alone unless WallClock is set.
type Summary struct {
	// Title heads the rollout's section; empty means "Rollout of <service>".
	Title string
	// Service names the service for a rollout that ended before it started;
	// otherwise the rollout's start names it.
	Service string
	// RunURL links the CI run (or any page) that made the rollout; optional.
	RunURL string
	// WallClock adds the start time, in UTC, to the verdict.
	WallClock bool

	mu         sync.Mutex
	origin     time.Time // the Started event, or the first event before one
	last       time.Time // the latest event
	started    *engine.Started
	steps      []*stepRow
	points     []point // the candidate's weight, at each change
	promoted   *engine.Promoted
	rolledBack *engine.RolledBack
	finished   *engine.Finished
	warnings   []string
	dropped    int // warnings beyond MaxWarnings
	// checks are the windows of both versions' traffic the metrics were
	// judged on; failed is the check of a gate that failed the rollout.
	checks []check
	failed *engine.GateChecked
	// hooks are the webhook calls; hooksDropped those beyond MaxHookCalls.
	hooks        []string
	hooksDropped int
	// ab is an A/B test's latest comparison; concluded its end.
	ab        *gates.ABVerdict
	concluded *engine.Concluded
}

// stepRow is one step of the plan as the rollout ran it.
type stepRow struct {
	index int
	step  strategies.Step
	began time.Time
	took  time.Duration
	done  bool
	gates []gateCell // the last check of each gate, in order of first check
	// judge is the comparative judge's latest standing in the step;
	// verdict its verdict at the step's end.
	judge   *gates.Evidence
	verdict gates.JudgeVerdict
}

// judged reports whether the row shows the judge: an analyze step with
// traffic on the candidate that the judge weighed.
func (r *stepRow) judged() bool {
	return r.judge != nil && r.step.Kind == strategies.KindAnalyze && r.step.Weight > 0
}

// judgeVerdict is the judge's verdict at the step's end, or its latest.
func (r *stepRow) judgeVerdict() gates.JudgeVerdict {
	if r.verdict != "" {
		return r.verdict
	}
	return r.judge.Verdict
}

// gateCell is a gate's last check in a step, its standing after it, and
// how its checks in the step went.
type gateCell struct {
	res gates.Result
	v   gates.Verdict
	// checks counts the gate's checks in the step; passed, failed, nodata
	// (inconclusive) and errored count them by outcome.
	checks, passed, failed, nodata, errored int
}

// add counts a check and makes it the last.
func (c *gateCell) add(r gates.Result, v gates.Verdict) {
	c.res, c.v = r, v
	c.checks++
	switch r.Outcome {
	case gates.Successful:
		c.passed++
	case gates.Failed:
		c.failed++
	case gates.Error:
		c.errored++
	default:
		c.nodata++
	}
}

// point is the candidate's weight from an elapsed time on.
type point struct {
	at     time.Duration
	weight int
}

// Event records ev; it is an engine.Sink.
func (s *Summary) Event(ev engine.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := ev.Time()
	if s.origin.IsZero() {
		s.origin = t
	}
	if t.After(s.last) {
		s.last = t
	}
	switch e := ev.(type) {
	case *engine.Started:
		c := *e
		s.started, s.origin = &c, t
		if !e.Resumed {
			s.weight(t, 0)
		}
	case *engine.StepStarted:
		s.steps = append(s.steps, &stepRow{index: e.Index, step: e.Step, began: t})
	case *engine.Shifted:
		s.weight(s.origin, e.From)
		s.weight(t, e.Weight)
	case *engine.GateChecked:
		s.weight(t, e.Weight)
		s.gate(e)
		if (e.Verdict.Outcome == gates.Failed || e.Verdict.Outcome == gates.Error) && s.failed == nil {
			c := *e
			s.failed = &c
		}
	case *engine.Judged:
		s.weight(t, e.Weight)
		s.judged(t, e)
		if r := s.row(e.Index); r != nil && e.Evidence != nil {
			ev := *e.Evidence
			r.judge = &ev
		}
		if e.AB != nil {
			s.ab = e.AB
		}
	case *engine.Concluded:
		c := *e
		s.concluded = &c
		if e.Verdict != nil {
			s.ab = e.Verdict
		}
	case *engine.Holding:
		s.weight(t, e.Weight)
	case *engine.StepDone:
		if r := s.row(e.Index); r != nil {
			r.took, r.done, r.verdict = e.Took, true, e.Verdict
		}
	case *engine.Warning:
		if len(s.warnings) < MaxWarnings {
			s.warnings = append(s.warnings, e.Message)
		} else {
			s.dropped++
		}
	case *engine.Paused:
		s.weight(t, e.Weight)
	case *engine.Promoted:
		c := *e
		s.promoted = &c
		s.weight(t, 100)
	case *engine.RolledBack:
		c := *e
		s.rolledBack = &c
		s.weight(s.origin, e.From)
		s.weight(t, 0)
	case *engine.Finished:
		c := *e
		s.finished = &c
	case *engine.HookCalled:
		if len(s.hooks) < MaxHookCalls {
			s.hooks = append(s.hooks, hookText(e))
		} else {
			s.hooksDropped++
		}
	}
}

// weight notes the candidate's weight at t. The first weight known also
// stands for the time before it: a resumed rollout starts where it was.
func (s *Summary) weight(t time.Time, w int) {
	if len(s.points) == 0 {
		s.points = append(s.points, point{0, w})
		return
	}
	if s.points[len(s.points)-1].weight == w {
		return
	}
	at := max(t.Sub(s.origin), s.points[len(s.points)-1].at)
	s.points = append(s.points, point{at, w})
}

// row returns the latest row of step index, or nil.
func (s *Summary) row(index int) *stepRow {
	for i := len(s.steps) - 1; i >= 0; i-- {
		if s.steps[i].index == index {
			return s.steps[i]
		}
	}
	return nil
}

// gate records a check on its step's row.
func (s *Summary) gate(e *engine.GateChecked) {
	r := s.row(e.Index)
	if r == nil {
		return
	}
	for i := range r.gates {
		if r.gates[i].res.Gate == e.Result.Gate {
			r.gates[i].add(e.Result, e.Verdict)
			return
		}
	}
	var c gateCell
	c.add(e.Result, e.Verdict)
	r.gates = append(r.gates, c)
}

// Markdown renders the rollout as a Markdown section headed by its title.
func (s *Summary) Markdown() string { return Markdown(s) }
