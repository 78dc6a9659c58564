package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// rollback sends all the traffic back to the stable revision and records
// why, in one transition. A rollout another process ended meanwhile ends as
// that process decided: a promotion made elsewhere is never undone.
func (r *run) rollback(ctx context.Context, reason string) Result {
	from := r.weight
	reason += r.flagOff(ctx)
	t := r.rollbackTransition()
	end, err := r.attempt(ctx, func() error {
		return r.transition(ctx, r.e.Retry, t, r.rolledBack(reason))
	})
	if end != nil && end.elsewhere {
		return r.done(Result{Outcome: end.outcome, Reason: end.reason, Err: end.err})
	}
	if end != nil { // the check after a stale write ended nothing elsewhere: try once more
		err = r.transition(ctx, r.e.Retry, t, r.rolledBack(reason))
	}
	if err != nil && ctx.Err() != nil {
		return r.cancel(ctx)
	}
	if err != nil {
		next := r.rec
		next.Phase, next.Reason = providers.PhaseFailed, fmt.Sprintf("%s; then the rollback failed: %v", reason, err)
		if rerr := r.recordFinalAs(ctx, next); rerr != nil {
			r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", rerr))
		}
		return r.done(Result{Outcome: OutcomeFailed, Reason: next.Reason, Err: err})
	}
	r.weight = 0
	r.e.emit(&RolledBack{From: from, Reason: reason})
	r.tell(ctx, gates.HookRollback, gates.HookPostRollout)
	return r.done(Result{Outcome: OutcomeRolledBack, Reason: reason})
}

// rollbackTransition retires the run's candidate or, for a rollback after
// promotion (revert set), the stable revision it promoted.
func (r *run) rollbackTransition() providers.Transition {
	if r.revert {
		return providers.Transition{Action: providers.ActionRevert, Revision: r.candidate.ID}
	}
	return providers.Transition{Action: providers.ActionRollback, Revision: r.candidate.ID}
}

// rolledBack is the run's record once rolled back for reason.
func (r *run) rolledBack(reason string) providers.Rollout {
	next := r.rec
	next.Phase, next.Weight, next.Instances, next.Reason, next.Intent = providers.PhaseRolledBack, 0, 0, reason, nil
	if r.revert {
		next.Stable, next.PreviousUntil = r.stable.ID, time.Time{}
	}
	return next
}

// cancel runs when the process is cancelled (a CI job cancelled sends
// SIGINT, then kills the tree about 10 s later): one direct transition
// sends all the traffic to stable and records it, under a detached context
// with a short timeout; with on-cancel leave, the record alone says the
// rollout was cancelled with the split left where it is.
func (r *run) cancel(ctx context.Context) Result {
	cause := context.Cause(ctx)
	timeout := r.e.CancelTimeout
	if timeout <= 0 {
		timeout = 6 * time.Second // inside the runner's ~10 s
	}
	dctx, stop := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer stop()
	from := r.weight
	if r.shiftCut { // the shift may have landed: the platform says where the traffic is
		if st, err := r.e.Provider.Status(dctx); err == nil {
			from, r.weight = st.Weight, st.Weight
		}
	}
	if r.rec.Phase == providers.PhasePromoted {
		return r.done(Result{Outcome: OutcomeCancelled, Reason: fmt.Sprintf("cancelled (%v) during the bake; the promotion stands", cause)})
	}
	once := Backoff{Attempts: 1}
	if r.e.LeaveOnCancel {
		next := r.rec
		next.Phase, next.Reason = providers.PhaseCancelled, fmt.Sprintf("cancelled (%v); traffic left at %d%% (on-cancel: leave)", cause, from)
		if err := r.transition(dctx, once, providers.Transition{Action: providers.ActionRecord}, next); err != nil {
			return r.cancelFailed(dctx, err, next.Reason)
		}
		return r.done(Result{Outcome: OutcomeCancelled, Reason: next.Reason})
	}
	reason := fmt.Sprintf("cancelled (%v); all traffic sent back to the stable revision", cause)
	reason += r.flagOff(dctx)
	// A write of this run's that the cancellation cut short may have landed
	// (a lease renewal): attempt adopts the record's version and tries once
	// more when the rollback is refused as stale.
	end, err := r.attempt(dctx, func() error { return r.transition(dctx, once, r.rollbackTransition(), r.rolledBack(reason)) })
	if end != nil {
		return r.done(Result{Outcome: OutcomeCancelled, Reason: "cancelled; meanwhile " + end.reason, Err: end.err})
	}
	if err != nil {
		return r.cancelFailed(dctx, err, fmt.Sprintf("cancelled (%v); the rollback did not finish (%v): run `ramp rollback` to finish it", cause, err))
	}
	r.weight = 0
	r.e.emit(&RolledBack{From: from, Reason: reason})
	r.tell(dctx, gates.HookRollback, gates.HookPostRollout) // within what is left of the cancel timeout
	return r.done(Result{Outcome: OutcomeCancelled, Reason: reason})
}

// cancelFailed ends a cancelled run whose last transition failed: another
// process ended the rollout meanwhile (reported as it decided), or the
// record says it was cancelled, so the next command finishes it.
func (r *run) cancelFailed(ctx context.Context, err error, reason string) Result {
	if end := r.controlAfter(ctx, err); end != nil && end.elsewhere {
		return r.done(Result{Outcome: OutcomeCancelled, Reason: "cancelled; meanwhile " + end.reason, Err: end.err})
	}
	next := r.rec
	next.Phase, next.Reason = providers.PhaseCancelled, reason
	if rerr := r.transition(ctx, Backoff{Attempts: 1}, providers.Transition{Action: providers.ActionRecord}, next); rerr != nil {
		r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", rerr))
	}
	return r.done(Result{Outcome: OutcomeCancelled, Reason: reason, Err: err})
}
