package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// analysis returns the run's metric analysis, started on first use; nil
// when no metric is judged.
func (r *run) analysis() *gates.Analysis {
	if r.metrics == nil {
		r.metrics = r.e.Metrics.Start()
		r.guards = make([]gates.Tally, len(r.e.Metrics.Guardrails))
		r.guardJudged = make([]bool, len(r.e.Metrics.Guardrails))
	}
	return r.metrics
}

// newStep starts a step's analysis: each guardrail must judge again.
func (r *run) newStep() {
	clear(r.guardJudged)
}

// checkMetrics reads one window of traffic and judges it: the comparative
// judge rolls back once its evidence against the candidate reaches 1/alpha,
// a guardrail once it failed failure-threshold times in a row, and a source
// that cannot be read error-threshold times in a row rolls back too. A
// guardrail that failed, or that has not judged once in this step (its pool
// of windows still short of min-requests), or a source that could not be
// read, holds the step until a check passes (pending lists why). The judge
// never holds: its evidence carries over, and on-inconclusive decides.
func (r *run) checkMetrics(ctx context.Context, i int, target gates.Target) (pending []string, end *stepEnd) {
	a := r.analysis()
	if a == nil {
		return nil, nil
	}
	p := a.Poll(ctx, target, time.Now())
	if ctx.Err() != nil {
		return nil, &stepEnd{outcome: OutcomeCancelled}
	}
	if p.Err != nil {
		res := gates.Result{Gate: "metrics", Outcome: gates.Error, Message: p.Err.Error(), Window: target.Window,
			Query: "traffic of " + target.Candidate.ID}
		r.metricErrs = r.metricErrs.Add(res)
		v := gates.Assess(r.metricErrs, r.e.Limits)
		r.e.emit(&GateChecked{Index: i, Weight: r.weight, Result: res, Verdict: v})
		if v.Outcome == gates.Error {
			r.verdict = gates.VerdictRollback
			return nil, &stepEnd{outcome: OutcomeRolledBack, reason: v.Reason}
		}
		return []string{v.Reason}, nil
	}
	r.metricErrs = gates.Tally{}
	o := p.Observation
	r.e.emit(&Judged{Index: i, Weight: r.weight, Window: o.Window, Evidence: p.Evidence,
		Candidate: gates.Tally2{Requests: o.Candidate.Requests, Bad: o.Candidate.Errors},
		Stable:    gates.Tally2{Requests: o.Stable.Requests, Bad: o.Stable.Errors}, AB: p.AB,
		CandidateP99MS: p99(o.Candidate.Latency), StableP99MS: p99(o.Stable.Latency)})
	if p.Evidence != nil && p.Evidence.Verdict == gates.VerdictRollback {
		r.verdict = gates.VerdictRollback
		return nil, &stepEnd{outcome: OutcomeRolledBack, reason: "the candidate is worse than the stable: " + worse(*p.Evidence)}
	}
	for g, res := range p.Guardrails {
		r.guards[g] = r.guards[g].Add(res)
		v := gates.Assess(r.guards[g], r.e.Limits)
		r.e.emit(&GateChecked{Index: i, Weight: r.weight, Result: res, Verdict: v})
		if res.Outcome != gates.Inconclusive {
			r.guardJudged[g] = true
		}
		switch {
		case v.Outcome == gates.Failed:
			r.verdict = gates.VerdictRollback
			return nil, &stepEnd{outcome: OutcomeRolledBack, reason: "guardrail " + v.Reason}
		case r.guards[g].Failures > 0: // failed, not yet passed again
			pending = append(pending, "guardrail "+v.Reason)
		case !r.guardJudged[g]: // no data is never a pass: each step needs one verdict
			pending = append(pending, "guardrail "+v.Reason)
		}
	}
	return pending, nil
}

// p99 is a window's p99 latency in milliseconds, 0 when unknown.
func p99(h gates.Histogram) float64 {
	v, _ := h.Quantile(0.99)
	return v
}

// worse explains the metrics whose evidence rolled the candidate back.
func worse(e gates.Evidence) string {
	var out string
	for _, m := range []*gates.MetricEvidence{&e.Errors, e.Latency} {
		if m != nil && m.Verdict == gates.VerdictRollback {
			if out != "" {
				out += "; "
			}
			out += m.Explain(e.Needed)
		}
	}
	return out
}

// stepVerdict is the judge's standing at the end of an analyze step that
// had traffic, empty otherwise.
func (r *run) stepVerdict(s strategies.Step) gates.JudgeVerdict {
	if s.Kind != strategies.KindAnalyze || s.Weight == 0 {
		return ""
	}
	if e := r.metrics.Evidence(); e != nil {
		return e.Verdict
	}
	return ""
}

// beforePromote decides the comparison before the move to 100%, when no
// stable is left to compare with: with evidence for the candidate it
// promotes saying so; an inconclusive comparison does what on-inconclusive
// says. It returns the promotion's reason, or how the step ends instead.
func (r *run) beforePromote(ctx context.Context, i int) (string, *stepEnd) {
	if r.plan.Strategy == strategies.AB { // the test's conclusion, or a person, decided
		return r.promoted, nil
	}
	e := r.metrics.Evidence()
	if e == nil || e.Verdict == gates.VerdictNone {
		return "", nil
	}
	switch e.Verdict {
	case gates.VerdictPromote:
		r.promoted = "promoted with evidence: " + e.Explain()
		return r.promoted, nil
	case gates.VerdictRollback: // not reached: the judge ended the step
		return "", &stepEnd{outcome: OutcomeRolledBack, reason: "the candidate is worse than the stable: " + worse(*e)}
	}
	seen := e.Errors.Candidate.Bad + e.Errors.Stable.Bad
	why := fmt.Sprintf("inconclusive: too few errors to compare (%d seen): %s", seen, e.Explain())
	switch r.e.Metrics.OnInconclusive {
	case gates.OnInconclusiveHold:
		return "", r.pause(ctx, i, why+"; on-inconclusive is hold: promote or roll back by command")
	case gates.OnInconclusiveRollback:
		return "", &stepEnd{outcome: OutcomeRolledBack, reason: why + "; on-inconclusive is rollback"}
	}
	r.promoted = fmt.Sprintf("promoted without evidence: %d errors seen (%s)", seen, e.Explain())
	return r.promoted, nil
}
