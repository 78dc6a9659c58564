package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// run is one execution of a plan.
type run struct {
	e         *Engine
	plan      strategies.Plan
	rec       providers.Rollout
	candidate providers.Revision
	stable    *providers.Revision
	url       string
	weight    int
	// shiftCut says a shift was cut short by a cancellation: the provider
	// may have made it, so weight may be behind the traffic.
	shiftCut bool
	// instances is how many instances run the candidate (strategy rolling).
	instances int
	// slack lengthens the lease of a transition that may outlast one (a
	// batch of instances replaced): its lease cannot be renewed meanwhile,
	// since a renewal is a write of the same record.
	slack time.Duration
	// driver means this run drives the rollout (deploy, resume) and holds
	// its lease; a command from the CLI or a PR comment does not.
	driver bool
	// revert means a rollback goes back to the previous revision: the run's
	// candidate is the promoted stable revision, stable the previous one.
	revert bool
	// metrics is the run's metric analysis, started on first use; guards
	// and metricErrs tally its guardrails' and source's checks.
	metrics    *gates.Analysis
	guards     []gates.Tally
	metricErrs gates.Tally
	// guardJudged says which guardrails judged in the current step.
	guardJudged []bool
	// verdict is set once a gate or the judge decided a rollback.
	verdict gates.JudgeVerdict
	// promoted is why the judge let the candidate be promoted, if it did.
	promoted string
	// routing is the request routing the last shift set (strategy ab).
	routing *providers.Routing
}

// stepEnd is how a step ended when it did not simply pass.
type stepEnd struct {
	outcome Outcome
	reason  string
	err     error
	// elsewhere means another process already ended the rollout (promoted,
	// rolled back or paused it): this one only reports, it changes nothing.
	elsewhere bool
}

// execute runs the plan from step start; it is the one loop of the engine.
// A rollout nothing has moved in yet (step 0 at 0%) begins with its
// confirm-rollout and pre-rollout webhooks.
func (r *run) execute(ctx context.Context, start int) Result {
	if start == 0 && r.weight == 0 {
		if end := r.begin(ctx); end != nil {
			return r.end(ctx, *end)
		}
	}
	for i := start; i < len(r.plan.Steps); i++ {
		if ctx.Err() != nil {
			return r.cancel(ctx)
		}
		step := r.plan.Steps[i]
		began := time.Now()
		r.e.emit(&StepStarted{Index: i, Total: len(r.plan.Steps), Step: step})
		var end *stepEnd
		switch step.Kind {
		case strategies.KindShift:
			if end = r.confirm(ctx, i, gates.HookConfirmTrafficIncrease, step.Weight); end == nil {
				end = r.shift(ctx, i, step.Weight)
			}
		case strategies.KindReplace:
			if end = r.confirm(ctx, i, gates.HookConfirmTrafficIncrease, step.Weight); end == nil {
				end = r.replace(ctx, i, step)
			}
		case strategies.KindAnalyze:
			end = r.analyze(ctx, i, step)
		case strategies.KindFlag:
			end = r.flagOn(ctx, i, step)
		case strategies.KindPause:
			end = r.pause(ctx, i+1, "the plan pauses here")
		case strategies.KindConclude:
			end = r.conclude(ctx, i, step)
		case strategies.KindPromote:
			if end = r.control(ctx); end == nil { // a pause or rollback made elsewhere wins
				var reason string
				if reason, end = r.beforePromote(ctx, i); end == nil {
					if end = r.confirm(ctx, i, gates.HookConfirmPromotion, 100); end == nil {
						end = r.promote(ctx, i, reason)
					}
				}
			}
		case strategies.KindBake:
			if !r.e.WaitBake {
				// The Promoted event and the record say how long the previous
				// version stays warm; the reason does not repeat it.
				return r.done(Result{Outcome: OutcomePromoted, Reason: r.promotedBecause(
					"every step before the bake passed (not waiting for the bake)")})
			}
			end = r.analyze(ctx, i, step)
		default:
			panic(fmt.Sprintf("engine: unhandled step kind %q", step.Kind))
		}
		if end != nil {
			return r.end(ctx, *end)
		}
		r.e.emit(&StepDone{Index: i, Step: step, Took: time.Since(began), Verdict: r.stepVerdict(step)})
	}
	return r.done(Result{Outcome: OutcomePromoted, Reason: r.promotedBecause("every step passed")})
}

// promotedBecause prefixes why the judge let the candidate through, if it
// had a say, to what the run says.
func (r *run) promotedBecause(what string) string {
	if r.promoted == "" {
		return what
	}
	return r.promoted + "; " + what
}

// end turns a step's end into the run's result, rolling back if needed.
func (r *run) end(ctx context.Context, end stepEnd) Result {
	if end.elsewhere {
		return r.done(Result{Outcome: end.outcome, Reason: end.reason, Err: end.err})
	}
	switch end.outcome {
	case OutcomeRolledBack:
		return r.rollback(ctx, end.reason)
	case OutcomeCancelled:
		return r.cancel(ctx)
	}
	return r.done(Result{Outcome: end.outcome, Reason: end.reason, Err: end.err})
}

// done fills the result from the run and closes it.
func (r *run) done(res Result) Result {
	res.Candidate, res.Weight, res.URL, res.Rollout = r.candidate.ID, r.weight, r.url, r.rec
	res.Stable = r.rec.Stable
	res.AB = r.metrics.AB()
	if res.Evidence = r.metrics.Evidence(); res.Evidence != nil {
		res.Verdict = res.Evidence.Verdict
	}
	if r.verdict != "" {
		res.Verdict = r.verdict
	}
	if res.Outcome == OutcomePromoted { // the candidate rolled out is now stable
		res.Stable, res.Weight = r.candidate.ID, 100
	}
	return r.e.finish(res)
}

// finalTimeout bounds the record of a final state, made even while the
// process is being cancelled so the service never keeps a stale phase.
const finalTimeout = 5 * time.Second

// recordFinalAs stores a final record with no traffic change under a
// context the cancellation of the run does not reach.
func (r *run) recordFinalAs(ctx context.Context, next providers.Rollout) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalTimeout)
	defer cancel()
	return r.record(ctx, next)
}

// attempt runs write, which builds its record from r.rec, and again, up to
// staleRetries times, while it is refused as stale and nothing ended
// elsewhere (control then adopted the record's version). A non-nil stepEnd
// is how another process ended the rollout meanwhile.
func (r *run) attempt(ctx context.Context, write func() error) (*stepEnd, error) {
	err := write()
	for range staleRetries {
		if !errors.Is(err, providers.ErrStale) {
			return nil, err
		}
		if end := r.control(ctx); end != nil {
			return end, nil
		}
		err = write()
	}
	return nil, err
}

// staleRetries is how many times attempt writes again after a write lost
// to another process's: the other process (a deploy shifting, a command)
// writes a few times a step at most, so losing this many in a row means
// something keeps rewriting the record.
const staleRetries = 4

// failedWrite ends a step whose transition failed: cancelled, ended
// elsewhere, or rolled back with what.
func (r *run) failedWrite(ctx context.Context, err error, what string) *stepEnd {
	if ctx.Err() != nil {
		return &stepEnd{outcome: OutcomeCancelled}
	}
	if end := r.controlAfter(ctx, err); end != nil {
		return end
	}
	if !r.driver && errors.Is(err, providers.ErrStale) {
		// A command that keeps losing the record to the rollout's own
		// process changes nothing: it says so, and is run again.
		return &stepEnd{outcome: OutcomeFailed, elsewhere: true, err: err,
			reason: fmt.Sprintf("%s: the rollout record kept changing (%d writes lost to another process); run the command again: %v",
				what, staleRetries+1, err)}
	}
	return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf("%s: %v", what, err)}
}

// shift sets the candidate's weight and records the step in one transition.
func (r *run) shift(ctx context.Context, i, weight int) *stepEnd {
	from := r.weight
	routing := r.plan.RoutingAt(i + 1)
	t := providers.Transition{Action: providers.ActionShift, Revision: r.candidate.ID, Weight: weight, Routing: routing}
	end, err := r.attempt(ctx, func() error {
		next := r.rec
		next.Step, next.Weight = i+1, weight
		return r.transition(ctx, r.e.Retry, t, next)
	})
	if end != nil {
		return end
	}
	if err != nil {
		r.shiftCut = ctx.Err() != nil
		return r.failedWrite(ctx, err, fmt.Sprintf("could not shift to %d%%", weight))
	}
	r.weight, r.routing = weight, routing
	r.e.emit(&Shifted{From: from, Weight: weight})
	return nil
}

// pause records the rollout as paused; resuming continues at step next
// (the step the record names when next is negative).
func (r *run) pause(ctx context.Context, next int, reason string) *stepEnd {
	end, err := r.attempt(ctx, func() error {
		rec := r.rec
		if next >= 0 {
			rec.Step = next
		}
		rec.Phase, rec.Reason = providers.PhasePaused, reason
		return r.record(ctx, rec)
	})
	if end != nil {
		return end
	}
	if err != nil {
		return &stepEnd{outcome: OutcomeFailed, reason: "could not record the pause", err: err}
	}
	r.e.emit(&Paused{Weight: r.weight, Step: r.rec.Step, Reason: reason})
	return &stepEnd{outcome: OutcomePaused, reason: reason}
}

// promote makes the candidate stable, keeping the old version warm, and
// records it in one transition; reason, if set, replaces the record's.
func (r *run) promote(ctx context.Context, i int, reason string) *stepEnd {
	keep := r.e.RollbackWindow
	for _, s := range r.plan.Steps[min(i, len(r.plan.Steps)):] {
		if s.Kind == strategies.KindBake {
			keep = max(keep, s.Hold)
		}
	}
	if r.rec.Replaces() { // its old instances are replaced: none is left warm
		keep = 0
	}
	t := providers.Transition{Action: providers.ActionPromote, Revision: r.candidate.ID, KeepPrevious: keep}
	end, err := r.attempt(ctx, func() error {
		next := r.rec
		next.Phase, next.Step, next.Weight, next.PreviousUntil = providers.PhasePromoted, i+1, 100, time.Time{}
		if reason != "" {
			next.Reason = reason
		}
		if keep > 0 && r.stable != nil { // a first deploy keeps nothing warm
			next.PreviousUntil = time.Now().Add(keep).UTC()
		}
		return r.transition(ctx, r.e.Retry, t, next)
	})
	if end != nil {
		return end
	}
	if err != nil {
		return r.failedWrite(ctx, err, "could not promote")
	}
	r.weight = 100
	r.e.emit(&Promoted{Revision: r.candidate.ID, PreviousUntil: r.rec.PreviousUntil})
	r.tell(ctx, gates.HookPostRollout)
	return nil
}
