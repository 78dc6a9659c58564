package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// rollback sends all the traffic back to the stable revision and records why.
func (r *run) rollback(ctx context.Context, reason string) Result {
	from := r.weight
	err := r.e.Retry.do(ctx, "roll back", r.e.warn, func(ctx context.Context) error {
		return r.e.Provider.Rollback(ctx)
	})
	if err != nil && ctx.Err() != nil {
		return r.cancel(ctx)
	}
	if err != nil {
		r.rec.Phase, r.rec.Reason = providers.PhaseFailed, fmt.Sprintf("%s; then the rollback failed: %v", reason, err)
		if rerr := r.recordFinal(ctx); rerr != nil {
			r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", rerr))
		}
		return r.done(Result{Outcome: OutcomeFailed, Reason: r.rec.Reason, Err: err})
	}
	r.weight = 0
	r.rec.Phase, r.rec.Weight, r.rec.Reason = providers.PhaseRolledBack, 0, reason
	r.e.emit(&RolledBack{From: from, Reason: reason})
	if err := r.recordFinal(ctx); err != nil {
		r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", err))
	}
	return r.done(Result{Outcome: OutcomeRolledBack, Reason: reason})
}

// cancel runs when the process is cancelled (a CI job cancelled sends
// SIGINT, then kills the tree about 10 s later): one direct call sends all
// the traffic to stable, under a detached context with a short timeout, and
// the state is recorded for a later process to finish.
func (r *run) cancel(ctx context.Context) Result {
	cause := context.Cause(ctx)
	timeout := r.e.CancelTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second // + 2 s for the record: inside the runner's ~10 s
	}
	dctx, stop := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer stop()
	from := r.weight
	if r.rec.Phase == providers.PhasePromoted {
		return r.done(Result{Outcome: OutcomeCancelled, Reason: fmt.Sprintf("cancelled (%v) during the bake; the promotion stands", cause)})
	}
	if r.e.LeaveOnCancel {
		r.rec.Phase, r.rec.Reason = providers.PhaseCancelled, fmt.Sprintf("cancelled (%v); traffic left at %d%% (on-cancel: leave)", cause, r.weight)
		r.recordDetached(dctx)
		return r.done(Result{Outcome: OutcomeCancelled, Reason: r.rec.Reason})
	}
	reason := fmt.Sprintf("cancelled (%v); all traffic sent back to the stable revision", cause)
	if err := r.e.Provider.Rollback(dctx); err != nil {
		r.rec.Reason = fmt.Sprintf("cancelled (%v); the rollback did not finish (%v): run `ramp rollback` to finish it", cause, err)
		r.rec.Phase = providers.PhaseCancelled
		r.recordDetached(dctx)
		return r.done(Result{Outcome: OutcomeCancelled, Reason: r.rec.Reason, Err: err})
	}
	r.weight = 0
	r.rec.Phase, r.rec.Weight, r.rec.Reason = providers.PhaseRolledBack, 0, reason
	r.e.emit(&RolledBack{From: from, Reason: reason})
	r.recordDetached(dctx)
	return r.done(Result{Outcome: OutcomeCancelled, Reason: reason})
}

// recordDetached stores the record once, without retries, on the cancel
// path, with a budget of its own so a slow traffic call leaves it time.
func (r *run) recordDetached(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	r.rec.UpdatedAt = time.Now()
	err := r.e.Provider.Record(ctx, r.rec)
	if errors.Is(err, providers.ErrStale) && r.adopt(ctx) {
		err = r.e.Provider.Record(ctx, r.rec)
	}
	if err != nil {
		r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", err))
	}
}
