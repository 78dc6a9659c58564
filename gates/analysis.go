package gates

import (
	"context"
	"fmt"
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
	// AB, set for an A/B test (strategy ab), compares the variants
	// two-sided; nil leaves them uncompared.
	AB *ABSpec
	// Service is the service's name, for the A/B checks' {{.Service}}.
	Service string
	// Delay is how late the source shows traffic: every poll measures the
	// traffic up to Delay ago, (last − …, now − Delay], so it reads only
	// what the source already has. Consecutive windows still share their
	// bounds: nothing is counted twice or skipped, only later.
	Delay time.Duration
}

// DelayedSource is a metric source whose data becomes visible late (Cloud
// Monitoring: minutes after the requests). MetricsDelay is the delay the
// analysis applies when the user sets none.
type DelayedSource interface {
	MetricsDelay() time.Duration
}

// DefaultDelay is the delay src asks for: its MetricsDelay when it is a
// DelayedSource, zero otherwise.
func DefaultDelay(src MetricSource) time.Duration {
	if d, ok := src.(DelayedSource); ok {
		return max(d.MetricsDelay(), 0)
	}
	return 0
}

// The values of on-inconclusive.
const (
	OnInconclusivePromote  = "promote"
	OnInconclusiveHold     = "hold"
	OnInconclusiveRollback = "rollback"
)

// Enabled reports whether anything reads the metrics.
func (m Metrics) Enabled() bool {
	return m.Source != nil && (m.Judge != nil || len(m.Guardrails) > 0 || m.AB != nil)
}

// Start returns a fresh analysis for one rollout, or nil when metrics are
// off.
func (m Metrics) Start() *Analysis {
	if !m.Enabled() {
		return nil
	}
	a := &Analysis{source: m.Source, delay: max(m.Delay, 0), service: m.Service}
	if m.Judge != nil {
		a.judge = NewJudge(*m.Judge)
	}
	for _, g := range m.Guardrails {
		a.guards = append(a.guards, &g)
	}
	if m.AB != nil {
		a.ab, _ = NewComparison(*m.AB) // its checks' queries were parsed when the spec was validated
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
	ab     *Comparison
	delay  time.Duration
	// service is the service's name, for the checks' {{.Service}}.
	service string
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
	// AB is the A/B comparison after the window; nil outside an A/B test.
	AB *ABVerdict `json:"ab,omitempty"`
	// Err is why the source could not be read; the window is then measured
	// with the next one.
	Err error `json:"-"`
}

// Poll measures the traffic from the end of the previous window up to
// now − Delay (the last t.Window before that on the first poll, or after a
// gap of more than maxGap windows), and judges it. A poll with no new time
// to measure (the clock did not move on) judges an empty window and asks
// the source nothing, so no traffic is counted twice.
func (a *Analysis) Poll(ctx context.Context, t Target, now time.Time) Poll {
	end := now.Add(-a.delay)
	start := a.last
	switch {
	case start.IsZero() || end.Sub(start) > maxGap*t.Window:
		start = end.Add(-t.Window)
	case !end.After(start):
		return a.judgeWindow(Observation{Window: Window{Start: start, End: start}})
	}
	q := CountQuery{Candidate: t.Candidate.ID, Window: Window{Start: start, End: end}}
	if t.Stable != nil {
		q.Stable = t.Stable.ID
	}
	o, err := a.source.Observe(ctx, q)
	if err != nil {
		return Poll{Err: err}
	}
	o.Window = q.Window
	counts, err := a.checkCounts(ctx, t, q.Window)
	if err != nil {
		return Poll{Err: err}
	}
	a.last = end
	p := a.judgeWindow(o)
	if a.ab != nil {
		a.ab.Observe(o, counts)
		v := a.ab.Verdict()
		p.AB = &v
	}
	return p
}

// checkCounts reads the compared checks' values of both variants over w;
// nil outside an A/B test or with no check compared.
func (a *Analysis) checkCounts(ctx context.Context, t Target, w Window) ([][2]float64, error) {
	if a.ab == nil || len(a.ab.checks) == 0 || t.Stable == nil {
		return nil, nil
	}
	qs, ok := a.source.(QuerySource)
	if !ok {
		return nil, fmt.Errorf("the metrics source answers no queries, so the A/B test's checks cannot be compared")
	}
	queries, err := a.ab.Queries(QueryVars{Candidate: t.Candidate.ID, Stable: t.Stable.ID, Service: a.service, Window: qs.WindowVar(w)})
	if err != nil {
		return nil, err
	}
	return CheckCounts(ctx, qs, queries, w)
}

// AB is the A/B comparison's standing; nil outside an A/B test.
func (a *Analysis) AB() *ABVerdict {
	if a == nil || a.ab == nil {
		return nil
	}
	v := a.ab.Verdict()
	return &v
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
