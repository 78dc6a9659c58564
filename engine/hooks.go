package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/hooks"
)

// Hooks calls the rollout's webhooks of one type (gates.HookTypes); what
// their answers mean is the engine's to decide:
//
//   - confirm-rollout (before the first step, the candidate deployed at 0%),
//     confirm-traffic-increase (before each shift) and confirm-promotion
//     (before the candidate takes all the traffic) must all answer 2xx for
//     the rollout to go on; until they do it holds where it is, asking
//     again every interval, and after the progress deadline it pauses. It
//     never rolls back on their account, and a command from another
//     process (pause, promote, rollback) wins while it holds.
//   - pre-rollout runs once the candidate is deployed, before any traffic
//     moves: a webhook that does not answer 2xx rolls back.
//   - rollout webhooks are gates (see hooks.Set.Gates), not called here.
//   - rollback (after a rollback this process made) and post-rollout
//     (after a promotion or rollback it made) are told; their answers
//     change nothing and a failure is a warning.
type Hooks interface {
	// Call calls every webhook of type kind about the rollout at t and
	// returns their answers, none when no webhook has that type. It
	// returns once each answered or gave up (its timeout and retries), or
	// ctx ended.
	Call(ctx context.Context, kind string, t hooks.Target) []hooks.Answer
}

// callHooks calls the webhooks of kind, next being the weight asked for,
// and reports each answer as an event.
func (r *run) callHooks(ctx context.Context, kind string, next int) []hooks.Answer {
	if r.e.Hooks == nil {
		return nil
	}
	t := hooks.Target{Candidate: r.candidate.ID, Stable: r.rec.Stable, Weight: r.weight, Next: next}
	if r.stable != nil {
		t.Stable = r.stable.ID
	}
	answers := r.e.Hooks.Call(ctx, kind, t)
	for _, a := range answers {
		r.e.emit(&HookCalled{Weight: r.weight, Answer: a})
	}
	return answers
}

// begin runs before the first step of a rollout nothing has moved in yet:
// confirm-rollout, then pre-rollout.
func (r *run) begin(ctx context.Context) *stepEnd {
	if end := r.confirm(ctx, 0, gates.HookConfirmRollout, 0); end != nil {
		return end
	}
	for _, a := range r.callHooks(ctx, gates.HookPreRollout, 0) {
		if ctx.Err() != nil {
			return &stepEnd{outcome: OutcomeCancelled}
		}
		if !a.OK {
			return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf("pre-rollout webhook %s: %s", a.Hook, a.Explain())}
		}
	}
	return nil
}

// confirm asks the webhooks of kind, before step i, whether the rollout
// may go on to weight next, until every one answers 2xx. Meanwhile the
// rollout holds at its weight: it asks again every interval and reads the
// commands of other processes in between, so a pause, promotion or
// rollback made elsewhere ends the wait. Still unconfirmed after the
// progress deadline, it pauses at step i (resume asks again); it never
// rolls back on a confirmation's account.
func (r *run) confirm(ctx context.Context, i int, kind string, next int) *stepEnd {
	if r.e.Hooks == nil {
		return nil
	}
	deadline := time.Now().Add(max(r.e.ProgressDeadline, r.plan.Interval))
	for {
		var waiting []string
		for _, a := range r.callHooks(ctx, kind, next) {
			if !a.OK {
				waiting = append(waiting, fmt.Sprintf("%s webhook %s: %s", kind, a.Hook, a.Explain()))
			}
		}
		if ctx.Err() != nil {
			return &stepEnd{outcome: OutcomeCancelled}
		}
		if len(waiting) == 0 {
			return nil
		}
		why := strings.Join(waiting, "; ")
		if !time.Now().Before(deadline) {
			return r.pause(ctx, i, fmt.Sprintf("not confirmed within progress-deadline %s: %s; resume to ask again, or promote or roll back",
				r.e.ProgressDeadline, why))
		}
		r.e.emit(&Holding{Weight: r.weight, Reason: "waiting for confirmation: " + why})
		if end := r.sleep(ctx, r.plan.Interval); end != nil {
			return end
		}
		if end := r.control(ctx); end != nil {
			return end
		}
	}
}

// tell tells the webhooks of each kind in turn (rollback, post-rollout);
// a failure is a warning, and nothing else.
func (r *run) tell(ctx context.Context, kinds ...string) {
	for _, kind := range kinds {
		for _, a := range r.callHooks(ctx, kind, 0) {
			if !a.OK {
				r.e.warn(fmt.Sprintf("%s webhook %s: %s (its answer changes nothing)", kind, a.Hook, a.Explain()))
			}
		}
	}
}
