package gates

import (
	"context"
	"fmt"
	"text/template"
	"time"
)

// CheckGate runs one custom check (a ramp.yaml checks entry) through a
// QuerySource at every check of the gates: its query, rendered for the
// candidate, over the last interval of traffic the source shows, must
// answer a value within Min and Max.
type CheckGate struct {
	spec   CheckSpec
	tmpl   *template.Template
	source QuerySource
	// service is the service's name, for {{.Service}}; delay is how late
	// the source shows traffic (the metrics delay).
	service string
	delay   time.Duration
}

// NewCheckGate parses the check's query for src. delay is the metrics
// delay: each check measures the interval that ended that long ago.
func NewCheckGate(spec CheckSpec, src QuerySource, service string, delay time.Duration) (*CheckGate, error) {
	t, err := ParseQuery(spec.Name, spec.Query)
	if err != nil {
		return nil, err
	}
	return &CheckGate{spec: spec, tmpl: t, source: src, service: service, delay: max(delay, 0)}, nil
}

// Name returns "check:" and the check's name.
func (g *CheckGate) Name() string { return "check:" + g.spec.Name }

// Check renders the query for the candidate and judges its value over the
// window of t.Window that ended the metrics delay ago. A query that cannot
// run is an Error outcome. An answer without data (no series, stale
// series, NaN) is never a pass: it is Inconclusive, so the step holds
// until the check has data or the progress deadline rolls back; only at 0%
// traffic, where the engine judges no metric either, does it pass, saying
// it was not judged.
func (g *CheckGate) Check(ctx context.Context, t Target) Result {
	end := time.Now().Add(-g.delay)
	w := Window{Start: end.Add(-t.Window), End: end}
	r := Result{Gate: g.Name(), Threshold: g.threshold(), Window: t.Window}
	vars := QueryVars{Version: t.Candidate.ID, Candidate: t.Candidate.ID, Service: g.service, Window: g.source.WindowVar(w)}
	if t.Stable != nil {
		vars.Stable = t.Stable.ID
	}
	q, err := RenderQuery(g.tmpl, vars)
	if err != nil {
		r.Outcome, r.Message = Error, err.Error()
		return r
	}
	r.Query = q
	v, ok, err := g.source.Value(ctx, q, w)
	switch {
	case err != nil:
		r.Outcome, r.Message = Error, err.Error()
	case !ok && t.Weight == 0:
		r.Outcome, r.Message = Successful, "no data at 0% traffic: not judged until the candidate takes traffic"
	case !ok:
		r.Outcome, r.Message = Inconclusive, "the query answered no data (no series, or only stale ones)"
	default:
		r.Value = v
		r.Outcome = Successful
		if (g.spec.Min != nil && v < *g.spec.Min) || (g.spec.Max != nil && v > *g.spec.Max) {
			r.Outcome = Failed
		}
	}
	return r
}

// threshold says what passes: "<= max", ">= min" or "min..max".
func (g *CheckGate) threshold() string {
	lo, hi := g.spec.Min, g.spec.Max
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%s..%s", FormatValue(*lo), FormatValue(*hi))
	case lo != nil:
		return ">= " + FormatValue(*lo)
	case hi != nil:
		return "<= " + FormatValue(*hi)
	}
	return "any"
}
