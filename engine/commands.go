package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// Promote promotes the rollout in flight at once, skipping its remaining
// steps (like `kubectl argo rollouts promote --full`), from any process.
func (e *Engine) Promote(ctx context.Context, reason string) Result {
	st, err := e.inFlight(ctx, "promote")
	if err != nil {
		return e.fail(err)
	}
	r := e.runFor(st)
	if end := r.promote(ctx, len(r.plan.Steps)); end != nil {
		return r.end(ctx, *end)
	}
	r.rec.Reason = reason
	if err := r.recordFinal(ctx); err != nil {
		e.warn(fmt.Sprintf("the rollout record could not be updated: %v", err))
	}
	return r.done(Result{Outcome: OutcomePromoted, Reason: reason})
}

// Rollback sends all the traffic back to the stable revision, or, after a
// promotion and inside the rollback window, straight back to the previous
// version without analysis.
func (e *Engine) Rollback(ctx context.Context, reason string) Result {
	st, err := e.status(ctx)
	if err != nil {
		return e.fail(err)
	}
	switch {
	case st.Candidate != nil:
		return e.runFor(st).rollback(ctx, reason)
	case st.Previous != nil && st.Rollout.Phase == providers.PhasePromoted &&
		(st.Rollout.PreviousUntil.IsZero() || time.Now().Before(st.Rollout.PreviousUntil)):
		r := e.runFor(st)
		r.candidate, r.weight = *st.Stable, 100
		r.rec.Stable = st.Previous.ID
		return r.rollback(ctx, reason)
	}
	err = fmt.Errorf("roll back %q: no rollout in flight and no previous version kept warm (phase %q): %w",
		e.Service, st.Rollout.Phase, providers.ErrNoCandidate)
	return e.fail(err)
}

// Pause marks the rollout in flight as paused; the process running it stops
// at its next check and exits with the paused code.
func (e *Engine) Pause(ctx context.Context, reason string) Result {
	st, err := e.inFlight(ctx, "pause")
	if err != nil {
		return e.fail(err)
	}
	r := e.runFor(st)
	end := r.pause(ctx, st.Rollout.Step, reason)
	return r.end(ctx, *end)
}

// runFor builds a run over the rollout the status shows.
func (e *Engine) runFor(st providers.Status) *run {
	r := &run{e: e, rec: st.Rollout, stable: st.Stable, url: st.URL, weight: st.Weight}
	if st.Candidate != nil {
		r.candidate = *st.Candidate
	}
	return r
}
