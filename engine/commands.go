package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// Promote promotes the rollout in flight at once, skipping its remaining
// steps (like `kubectl argo rollouts promote --full`), from any process.
// The running deploy, if any, finds its next write refused and stops.
func (e *Engine) Promote(ctx context.Context, reason string) Result {
	st, _, err := e.reconciled(ctx)
	if err == nil && deploying(st) {
		st, err = e.awaitCandidate(ctx, st)
	}
	if err == nil {
		err = e.requireInFlight(st, "promote")
	}
	if err != nil {
		return e.fail(err)
	}
	r := e.runFor(st)
	if end := r.promote(ctx, len(r.plan.Steps), reason); end != nil {
		return r.end(ctx, *end)
	}
	return r.done(Result{Outcome: OutcomePromoted, Reason: reason})
}

// Rollback sends all the traffic back to the stable revision, or, after a
// promotion and inside the rollback window, straight back to the previous
// version without analysis. A candidate no record names is retired without
// touching the record of the rollout before it.
func (e *Engine) Rollback(ctx context.Context, reason string) Result {
	st, repaired, err := e.reconciled(ctx)
	if err != nil {
		return e.fail(err)
	}
	for _, d := range repaired {
		if d.Kind == providers.DriftUnrecordedCandidate {
			return e.finish(Result{Outcome: OutcomeRolledBack, Reason: "retired " + d.Fix.Revision + ", a candidate no rollout recorded",
				Candidate: d.Fix.Revision, Stable: revisionID(st.Stable), URL: st.URL, Rollout: st.Rollout})
		}
	}
	switch {
	case deploying(st):
		return e.endDeploying(ctx, st, providers.PhaseRolledBack, reason)
	case e.requireInFlight(st, "roll back") == nil:
		return e.runFor(st).rollback(ctx, reason)
	case st.Candidate == nil && st.Previous != nil && st.Stable != nil && st.Rollout.Phase == providers.PhasePromoted &&
		st.Rollout.Candidate == st.Stable.ID &&
		(st.Rollout.PreviousUntil.IsZero() || time.Now().Before(st.Rollout.PreviousUntil)):
		r := e.runFor(st)
		r.candidate, r.stable, r.weight, r.revert = *st.Stable, st.Previous, 100, true
		return r.rollback(ctx, reason)
	}
	err = fmt.Errorf("roll back %q: no rollout in flight and no previous version kept warm (phase %q): %w",
		e.Service, st.Rollout.Phase, providers.ErrNoCandidate)
	return e.fail(err)
}

// Pause marks the rollout in flight as paused at the weight it has; the
// process running it stops at its next check or write and exits with the
// paused code.
func (e *Engine) Pause(ctx context.Context, reason string) Result {
	st, err := e.reconcile(ctx)
	if err == nil && deploying(st) {
		return e.endDeploying(ctx, st, providers.PhasePaused, reason)
	}
	if err == nil {
		err = e.requireInFlight(st, "pause")
	}
	if err != nil {
		return e.fail(err)
	}
	r := e.runFor(st)
	end := r.pause(ctx, -1, reason)
	return r.end(ctx, *end)
}

// deploying reports whether a live process is starting the candidate of
// the rollout on record.
func deploying(st providers.Status) bool {
	in := st.Rollout.Intent
	return st.Rollout.Phase == providers.PhaseProgressing && in != nil && in.Action == providers.ActionDeploy
}

// candidateWait bounds how long a promotion waits for a live deploy to
// record the candidate it is starting (the default ready-timeout).
const candidateWait = 2 * time.Minute

// awaitCandidate waits while a live process starts the candidate of the
// rollout on record, so that a promotion asked meanwhile promotes that
// candidate once it is recorded instead of finding none to promote.
func (e *Engine) awaitCandidate(ctx context.Context, st providers.Status) (providers.Status, error) {
	by := time.Now().Add(candidateWait)
	e.warn(fmt.Sprintf("rollout %s is starting its candidate; waiting up to %s for it to be recorded", st.Rollout.ID, candidateWait))
	for deploying(st) {
		if !time.Now().Before(by) {
			return st, fmt.Errorf("promote %q: rollout %s is still starting its candidate after %s; promote it once ramp status shows it: %w",
				e.Service, st.Rollout.ID, candidateWait, providers.ErrConflict)
		}
		if err := sleep(ctx, settlePoll); err != nil {
			return st, err
		}
		var err error
		if st, err = e.reconcile(ctx); err != nil {
			return st, err
		}
	}
	return st, nil
}

// endDeploying records a rollout whose candidate is still starting as
// paused or rolled back; the deploying process reads it when it records
// its candidate, and keeps it paused at 0% or retires it.
func (e *Engine) endDeploying(ctx context.Context, st providers.Status, phase providers.Phase, reason string) Result {
	r := e.runFor(st)
	next := r.rec
	next.Phase, next.Reason = phase, reason
	if err := r.record(ctx, next); err != nil {
		return e.fail(fmt.Errorf("%s rollout %s while its candidate starts: %w", phase, st.Rollout.ID, err))
	}
	out := map[providers.Phase]Outcome{providers.PhasePaused: OutcomePaused, providers.PhaseRolledBack: OutcomeRolledBack}[phase]
	return r.done(Result{Outcome: out, Reason: reason + " (while its candidate was starting: the deploying process settles it)"})
}

// reconciled is reconcile, also returning the drifts it repaired.
func (e *Engine) reconciled(ctx context.Context) (providers.Status, []providers.Drift, error) {
	var repaired []providers.Drift
	st, err := e.reconcileWith(ctx, func(d providers.Drift) { repaired = append(repaired, d) })
	return st, repaired, err
}

// runFor builds a command's run over the rollout the status shows.
func (e *Engine) runFor(st providers.Status) *run {
	r := &run{e: e, rec: st.Rollout, stable: st.Stable, url: st.URL, weight: st.Weight, instances: st.Rollout.Instances}
	if st.Candidate != nil {
		r.candidate = *st.Candidate
	}
	return r
}

func revisionID(r *providers.Revision) string {
	if r == nil {
		return ""
	}
	return r.ID
}
