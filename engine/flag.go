package engine

import (
	"context"
	"fmt"

	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// FlagSwitch turns the feature flag of a canary's flag step
// (strategies.KindFlag) on and off, through a flag backend (see
// providers/flag): ship the code dark, then turn the feature on for the
// candidate's users at a chosen step.
type FlagSwitch interface {
	// SetFlag makes the flag serve pct percent of users.
	SetFlag(ctx context.Context, pct int) error
}

// checkFlag refuses a plan with a flag step when no flag is configured.
func (e *Engine) checkFlag(p strategies.Plan) error {
	if _, _, ok := p.FlagStep(); ok && e.Flag == nil {
		return fmt.Errorf("steps: the plan turns a feature flag on, but no flag is configured (set flag, flag-backend and the backend's inputs): %w", providers.ErrInvalid)
	}
	return nil
}

// flagOn runs a flag step: the flag on for step.Flag percent of users,
// then the record says the step passed. A rollback turns it off again
// (flagOff), whichever process makes it.
func (r *run) flagOn(ctx context.Context, i int, step strategies.Step) *stepEnd {
	if err := r.e.checkFlag(r.plan); err != nil {
		return &stepEnd{outcome: OutcomeFailed, reason: err.Error(), err: err}
	}
	if end := r.control(ctx); end != nil { // a pause or rollback made elsewhere wins
		return end
	}
	err := r.e.Retry.do(ctx, fmt.Sprintf("turn the flag on for %d%%", step.Flag), r.e.warn, func(ctx context.Context) error {
		return r.e.Flag.SetFlag(ctx, step.Flag)
	})
	if err != nil {
		if ctx.Err() != nil {
			return &stepEnd{outcome: OutcomeCancelled}
		}
		return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf("could not turn the flag on: %v", err), err: err}
	}
	end, err := r.attempt(ctx, func() error {
		next := r.rec
		next.Step = i + 1
		return r.record(ctx, next)
	})
	if end != nil {
		return end
	}
	if err != nil {
		return r.failedWrite(ctx, err, "could not record the flag turned on")
	}
	return nil
}

// flagOff turns the plan's flag off, when it has a flag step, before a
// rollback moves the traffic back; it reports what failed, for the
// rollback's reason, rather than stopping the rollback.
func (r *run) flagOff(ctx context.Context) string {
	if _, _, ok := r.plan.FlagStep(); !ok || r.e.Flag == nil {
		return ""
	}
	err := r.e.Retry.do(ctx, "turn the flag off", r.e.warn, func(ctx context.Context) error { return r.e.Flag.SetFlag(ctx, 0) })
	if err != nil {
		r.e.warn(fmt.Sprintf("the feature flag could not be turned off: %v", err))
		return fmt.Sprintf("; the feature flag could not be turned off (%v): turn it off by hand", err)
	}
	return ""
}
