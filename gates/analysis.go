package gates

import (
	"context"
	"time"
)

// Metrics is how a rollout's traffic is judged: the source that measures
// it, the comparative judge and the guardrails.
type Metrics struct {
	// Source measures both versions' traffic; nil turns metrics off.
	Source MetricSource
	// Judge configures the comparative judge; nil turns it off.
	Judge *JudgeSpec
	// Guardrails are the absolute limits, copied for each rollout.
	Guardrails []Guardrail
	// OnInconclusive is what an inconclusive comparison at the end of the
	// last step before 100% does: promote, hold or rollback.
	OnInconclusive string
}

// The values of on-inconclusive.
const (
	OnInconclusivePromote  = "promote"
	OnInconclusiveHold     = "hold"
	OnInconclusiveRollback = "rollback"
)

// Enabled reports whether anything reads the metrics.
func (m Metrics) Enabled() bool {
	return m.Source != nil && (m.Judge != nil || len(m.Guardrails) > 0)
}

// Start returns a fresh analysis for one rollout, or nil when metrics are
// off.
func (m Metrics) Start() *Analysis {
	if !m.Enabled() {
		return nil
	}
	a := &Analysis{source: m.Source}
	if m.Judge != nil {
		a.judge = NewJudge(*m.Judge)
	}
	for _, g := range m.Guardrails {
		a.guards = append(a.guards, &g)
	}
	return a
}

// maxGap bounds the window one poll covers, in polls: after a longer gap
// (a pause, a long failed call) the analysis measures only the latest
// interval instead of asking for data the source may no longer keep.
const maxGap = 10

// Analysis reads a rollout's traffic window after window, feeding the
// judge and the guardrails, whose evidence accumulates across windows,
// weight changes and steps. It is not safe for concurrent use.
type Analysis struct {
	source MetricSource
	judge  *Judge
	guards []*Guardrail
	// last is the end of the last window measured.
	last time.Time
}

// Poll is what one poll of the metrics found.
type Poll struct {
	// Observation is the window's traffic.
	Observation Observation `json:"observation"`
	// Evidence is the judge's standing after the window; nil when the
	// judge is off.
	Evidence *Evidence `json:"evidence,omitempty"`
	// Guardrails are the guardrails' checks, in order.
	Guardrails []Result `json:"guardrails,omitempty"`
	// Err is why the source could not be read; the window is then measured
	// with the next one.
	Err error `json:"-"`
}

// Poll measures the traffic since the previous poll (the last t.Window on
// the first) up to now, and judges it.
func (a *Analysis) Poll(ctx context.Context, t Target, now time.Time) Poll {
	start := a.last
	if start.IsZero() || now.Sub(start) > maxGap*t.Window || !now.After(start) {
		start = now.Add(-t.Window)
	}
	q := CountQuery{Candidate: t.Candidate.ID, Window: Window{Start: start, End: now}}
	if t.Stable != nil {
		q.Stable = t.Stable.ID
	}
	o, err := a.source.Observe(ctx, q)
	if err != nil {
		return Poll{Err: err}
	}
	a.last = now
	o.Window = q.Window
	return a.judgeWindow(o)
}

// judgeWindow feeds one observation to the judge and the guardrails.
func (a *Analysis) judgeWindow(o Observation) Poll {
	p := Poll{Observation: o}
	if a.judge != nil {
		e := a.judge.Observe(o)
		p.Evidence = &e
	}
	for _, g := range a.guards {
		p.Guardrails = append(p.Guardrails, g.Observe(o))
	}
	return p
}

// Evidence is the judge's standing; nil when the judge is off.
func (a *Analysis) Evidence() *Evidence {
	if a == nil || a.judge == nil {
		return nil
	}
	e := a.judge.Evidence()
	return &e
}
