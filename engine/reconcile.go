package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// maxRepairs bounds the repairs one reconcile makes before it acts anyway.
const maxRepairs = 4

// lockPoll spaces the reads of a deploy waiting for a rollout in flight.
const lockPoll = 2 * time.Second

// Reconcile reads the service and repairs every drift between the record
// and the platform that needs no decision (see providers.Diagnose): it
// finishes an interrupted transition as its intent says, puts back a split
// that differs from the record, completes a record the platform shows
// finished, and retires a candidate no record names. It leaves alone what a
// live process drives. Each repair is reported as a warning; the status it
// returns is read after the last one, its Drift what remains.
func (e *Engine) Reconcile(ctx context.Context) (providers.Status, error) {
	return e.reconcile(ctx)
}

func (e *Engine) reconcile(ctx context.Context) (providers.Status, error) {
	return e.reconcileWith(ctx, nil)
}

// reconcileWith is reconcile, calling repaired (if set) for each repair.
func (e *Engine) reconcileWith(ctx context.Context, repaired func(providers.Drift)) (providers.Status, error) {
	st, err := e.settled(ctx)
	for n := 0; err == nil && n < maxRepairs; n++ {
		d, ok := fixable(st.Drift)
		if !ok {
			return st, nil
		}
		t := *d.Fix
		t.Record.Version, t.Record.UpdatedAt = st.Rollout.Version, time.Now().UTC()
		err = e.Retry.do(ctx, "repair: "+t.String(), e.warn, func(ctx context.Context) error {
			_, err := e.Provider.Apply(ctx, t)
			return err
		})
		switch {
		case errors.Is(err, providers.ErrStale): // changed meanwhile: read it again
		case err != nil:
			e.warn(fmt.Sprintf("could not repair (%s): %v", d.Detail, err))
			return st, nil
		default:
			e.warn(fmt.Sprintf("repaired: %s; made %s and recorded rollout %s as %s", d.Detail, t, t.Record.ID, t.Record.Phase))
			if repaired != nil {
				repaired(d)
			}
		}
		st, err = e.status(ctx)
	}
	return st, err
}

// settled reads the service, waiting up to settleTimeout while a live
// process makes a transition it stated.
func (e *Engine) settled(ctx context.Context) (providers.Status, error) {
	by := time.Now().Add(settleTimeout)
	for {
		st, err := e.status(ctx)
		if err != nil || !settling(st) || !time.Now().Before(by) {
			return st, err
		}
		if err := sleep(ctx, settlePoll); err != nil {
			return st, err
		}
	}
}

// settleTimeout bounds the wait for a live driver to finish a transition
// it stated; settlePoll spaces the reads meanwhile.
const (
	settleTimeout = 10 * time.Second
	settlePoll    = 200 * time.Millisecond
)

// settling reports whether a live process is making a transition it
// stated (not a deploy, which takes minutes): a command waits for it, so
// it acts on the record of the outcome.
func settling(st providers.Status) bool {
	in := st.Rollout.Intent
	return in != nil && in.Action != providers.ActionDeploy && len(st.Drift) > 0 && st.Drift[0].Driven
}

// sleep waits d, or returns the context's cause.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// fixable is the first drift this process may repair now.
func fixable(ds []providers.Drift) (providers.Drift, bool) {
	for _, d := range ds {
		if d.Fix != nil && !d.Driven {
			return d, true
		}
	}
	return providers.Drift{}, false
}

// lock reconciles the service and returns its status once no rollout is in
// flight: at once, or after waiting until deadline for it to end.
func (e *Engine) lock(ctx context.Context, id string, deadline time.Time) (providers.Status, error) {
	for waited := false; ; waited = true {
		st, err := e.reconcile(ctx)
		if err != nil {
			return st, err
		}
		if !st.Rollout.Phase.InFlight() {
			return st, nil
		}
		err = e.describeInFlight(st, "deploy")
		if !time.Now().Before(deadline) {
			if waited {
				err = fmt.Errorf("waited %s (wait-lock): %w", e.WaitLock, err)
			}
			return st, err
		}
		if !waited {
			e.warn(fmt.Sprintf("%v; waiting up to %s (wait-lock) for it to end", err, e.WaitLock))
		}
		t := time.NewTimer(min(lockPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return st, fmt.Errorf("deploy %s: cancelled while waiting for the rollout in flight: %w", id, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// inFlightError explains a record write refused because another process
// started or drove a rollout meanwhile.
func (e *Engine) inFlightError(ctx context.Context, verb string, cause error) error {
	st, err := e.status(ctx)
	if err != nil {
		return cause
	}
	return e.describeInFlight(st, verb)
}

// describeInFlight is the error for verb refused by the rollout in st: it
// names the rollout, who drives it and the commands that end it.
func (e *Engine) describeInFlight(st providers.Status, verb string) error {
	rec := st.Rollout
	what := fmt.Sprintf("rollout %s", rec.ID)
	if rec.Candidate != "" {
		what += fmt.Sprintf(" of %s", rec.Candidate)
	}
	what += fmt.Sprintf(" is %s at %d%%", rec.Phase, rec.Weight)
	if rec.Intent != nil && rec.Intent.Action == providers.ActionDeploy {
		what = fmt.Sprintf("rollout %s is deploying its candidate", rec.ID)
	}
	if l := rec.Lease; l != nil && rec.Phase == providers.PhaseProgressing {
		if alive, _ := l.Alive(time.Now()); alive {
			what += fmt.Sprintf(", driven by %s (lease until %s)", l.Holder, l.Until.Format(time.RFC3339))
		}
	}
	return fmt.Errorf("%s %q: a rollout is already in flight: %s; end it first with ramp promote or ramp rollback (or ramp resume it): %w",
		verb, e.Service, what, providers.ErrConflict)
}
