package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

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
func (r *run) execute(ctx context.Context, start int) Result {
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
			end = r.shift(ctx, i, step.Weight)
		case strategies.KindAnalyze:
			end = r.analyze(ctx, i, step)
		case strategies.KindPause:
			end = r.pause(ctx, i+1, "the plan pauses here")
		case strategies.KindPromote:
			if end = r.control(ctx); end == nil { // a pause or rollback made elsewhere wins
				end = r.promote(ctx, i)
			}
		case strategies.KindBake:
			if !r.e.WaitBake {
				return r.done(Result{Outcome: OutcomePromoted, Reason: fmt.Sprintf(
					"promoted; the previous version stays warm for %s (not waiting for the bake)", step.Hold)})
			}
			end = r.analyze(ctx, i, step)
		default:
			panic(fmt.Sprintf("engine: unhandled step kind %q", step.Kind))
		}
		if end != nil {
			return r.end(ctx, *end)
		}
		r.e.emit(&StepDone{Index: i, Step: step, Took: time.Since(began)})
	}
	return r.done(Result{Outcome: OutcomePromoted, Reason: "every step passed"})
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
	if res.Outcome == OutcomePromoted { // the candidate rolled out is now stable
		res.Stable, res.Weight = r.candidate.ID, 100
	}
	return r.e.finish(res)
}

// finalTimeout bounds the record of a final state, made even while the
// process is being cancelled so the service never keeps a stale phase.
const finalTimeout = 5 * time.Second

// recordFinal stores a final record under a context the cancellation of
// the run does not reach. The traffic already moved, so the record must
// say so: a record changed meanwhile is read again and overwritten.
func (r *run) recordFinal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalTimeout)
	defer cancel()
	err := r.record(ctx)
	if errors.Is(err, providers.ErrStale) && r.adopt(ctx) {
		err = r.record(ctx)
	}
	return err
}

// record stores the rollout record, retrying; the provider refuses it with
// ErrStale when another process changed the record since this run read it.
func (r *run) record(ctx context.Context) error {
	r.rec.UpdatedAt = time.Now()
	err := r.e.Retry.do(ctx, "record rollout", r.e.warn, func(ctx context.Context) error {
		return r.e.Provider.Record(ctx, r.rec)
	})
	if err == nil {
		r.rec.Version++ // as providers.NextRecord stored it
	}
	return err
}

// adopt takes the Version of the record on the service, so the next write
// replaces it; it reports false when the record is another rollout's.
func (r *run) adopt(ctx context.Context) bool {
	st, err := r.e.Provider.Status(ctx)
	if err != nil || st.Rollout.ID != r.rec.ID {
		return false
	}
	r.rec.Version = st.Rollout.Version
	return true
}

// recordStep stores the progress of the rollout. A record changed by
// another process (a pause, a promotion, a rollback) ends the step as that
// process decided; any other change is adopted and written over.
func (r *run) recordStep(ctx context.Context) *stepEnd {
	err := r.record(ctx)
	if errors.Is(err, providers.ErrStale) {
		if end := r.control(ctx); end != nil {
			return end
		}
		err = r.record(ctx)
	}
	if err != nil && ctx.Err() == nil {
		r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", err))
	}
	return nil
}

// shift sets the candidate's weight. The split the platform reports is
// checked at the next poll (control), which reads the service anyway.
func (r *run) shift(ctx context.Context, i, weight int) *stepEnd {
	from := r.weight
	err := r.e.Retry.do(ctx, fmt.Sprintf("set weight %d%%", weight), r.e.warn, func(ctx context.Context) error {
		return r.e.Provider.SetWeight(ctx, weight)
	})
	if err != nil {
		if ctx.Err() != nil {
			return &stepEnd{outcome: OutcomeCancelled}
		}
		if end := r.controlAfter(ctx, err); end != nil {
			return end
		}
		return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf("could not shift to %d%%: %v", weight, err)}
	}
	r.weight = weight
	r.rec.Step, r.rec.Weight = i+1, weight
	r.e.emit(&Shifted{From: from, Weight: weight})
	return r.recordStep(ctx)
}

// pause records the rollout as paused; resuming continues at step next.
func (r *run) pause(ctx context.Context, next int, reason string) *stepEnd {
	r.rec.Phase, r.rec.Step, r.rec.Reason = providers.PhasePaused, next, reason
	err := r.record(ctx)
	if errors.Is(err, providers.ErrStale) { // changed meanwhile: pause unless it ended elsewhere
		r.rec.Phase = providers.PhaseProgressing
		if end := r.control(ctx); end != nil {
			return end
		}
		r.rec.Phase, r.rec.Step, r.rec.Reason = providers.PhasePaused, next, reason
		err = r.record(ctx)
	}
	if err != nil {
		return &stepEnd{outcome: OutcomeFailed, reason: "could not record the pause", err: err}
	}
	r.e.emit(&Paused{Weight: r.weight, Step: next, Reason: reason})
	return &stepEnd{outcome: OutcomePaused, reason: reason}
}

// promote makes the candidate stable, keeping the old version warm.
func (r *run) promote(ctx context.Context, i int) *stepEnd {
	keep := r.e.RollbackWindow
	for _, s := range r.plan.Steps[i:] {
		if s.Kind == strategies.KindBake {
			keep = max(keep, s.Hold)
		}
	}
	err := r.e.Retry.do(ctx, "promote", r.e.warn, func(ctx context.Context) error {
		return r.e.Provider.Promote(ctx, keep)
	})
	if err != nil {
		if ctx.Err() != nil {
			return &stepEnd{outcome: OutcomeCancelled}
		}
		if end := r.controlAfter(ctx, err); end != nil {
			return end
		}
		return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf("could not promote: %v", err)}
	}
	r.weight = 100
	r.rec.Phase, r.rec.Step, r.rec.Weight = providers.PhasePromoted, i+1, 100
	r.rec.PreviousUntil = time.Time{}
	if keep > 0 && r.stable != nil { // a first deploy keeps nothing warm
		r.rec.PreviousUntil = time.Now().Add(keep)
	}
	if err := r.recordFinal(ctx); err != nil {
		r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", err))
	}
	r.e.emit(&Promoted{Revision: r.candidate.ID, PreviousUntil: r.rec.PreviousUntil})
	return nil
}
