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

// Engine runs plans against one provider.
type Engine struct {
	// Provider is the platform adapter.
	Provider providers.Provider
	// Service names the service in events.
	Service string
	// Gates are checked during analyze and bake steps.
	Gates []gates.Gate
	// Limits bound failed and erroring checks in a row.
	Limits gates.Limits
	// ProgressDeadline fails a step with no verdict after max(hold, it).
	ProgressDeadline time.Duration
	// RollbackWindow keeps the replaced version warm after promotion.
	RollbackWindow time.Duration
	// LeaveOnCancel leaves the traffic where it is on cancellation instead
	// of sending it all back to the stable revision.
	LeaveOnCancel bool
	// WaitBake makes the run also wait out the bake after promotion.
	WaitBake bool
	// CancelTimeout bounds the rollback made when the run is cancelled.
	CancelTimeout time.Duration
	// Retry is the backoff for provider calls.
	Retry Backoff
	// Events receives every event; nil drops them.
	Events Sink
}

// errConflict is returned when a rollout is already in flight.
var errConflict = errors.New("a rollout is already in flight")

// Deploy starts a rollout of a: it deploys the candidate with no traffic,
// records the rollout on the service and executes the plan. rec carries the
// rollout's ID, commit and spec.
func (e *Engine) Deploy(ctx context.Context, plan strategies.Plan, a providers.Artifact, rec providers.Rollout) Result {
	st, err := e.status(ctx)
	if err != nil {
		return e.fail(err)
	}
	if st.Rollout.Phase.InFlight() && st.Candidate != nil {
		err := fmt.Errorf("%w: rollout %s of %q is %s at %d%%; promote, roll back or resume it first: %w",
			errConflict, st.Rollout.ID, st.Candidate.ID, st.Rollout.Phase, st.Weight, providers.ErrConflict)
		return e.fail(err)
	}
	first := st.Stable == nil
	if first {
		plan = strategies.FirstDeploy(plan)
	}
	var rev providers.Revision
	err = e.Retry.do(ctx, "deploy candidate", e.warn, func(ctx context.Context) error {
		var err error
		rev, err = e.Provider.Deploy(ctx, a)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return e.finish(Result{Outcome: OutcomeCancelled, Reason: "cancelled while deploying the candidate", Err: err})
		}
		out := OutcomeFailed
		if errors.Is(err, providers.ErrNotReady) {
			out = OutcomeRolledBack // no traffic ever moved: the stable still serves it all
		}
		res := Result{Outcome: out, Reason: err.Error(), Err: err, URL: st.URL}
		if st.Stable != nil {
			res.Stable = st.Stable.ID
		}
		return e.finish(res)
	}
	if st.URL == "" { // a first deploy may create the service, and its URL, only now
		if cur, err := e.Provider.Status(ctx); err == nil {
			st.URL = cur.URL
		}
	}
	now := time.Now()
	rec.Phase, rec.Strategy, rec.Step, rec.Weight = providers.PhaseProgressing, plan.Strategy, 0, 0
	rec.Candidate, rec.StartedAt, rec.UpdatedAt, rec.Reason = rev.ID, now, now, ""
	if st.Stable != nil {
		rec.Stable = st.Stable.ID
	}
	e.emit(&Started{ID: rec.ID, Service: e.Service, Strategy: plan.Strategy, Stable: rec.Stable, Candidate: rev.ID,
		CandidateURL: rev.URL, ServiceURL: st.URL, Plan: plan, FirstDeploy: first})
	r := run{e: e, plan: plan, rec: rec, candidate: rev, stable: st.Stable, url: st.URL}
	if err := r.record(ctx); err != nil {
		return r.rollback(ctx, fmt.Sprintf("could not record the rollout: %v", err))
	}
	return r.execute(ctx, 0)
}

// Resume continues a paused (or orphaned) rollout from the step its record
// names, with the plan rebuilt from the record's spec.
func (e *Engine) Resume(ctx context.Context, plan strategies.Plan) Result {
	st, err := e.inFlight(ctx, "resume")
	if err != nil {
		return e.fail(err)
	}
	if st.Rollout.Phase == providers.PhaseProgressing {
		if age := time.Since(st.Rollout.UpdatedAt); age < 3*plan.Interval+30*time.Second {
			err := fmt.Errorf("resume %q: rollout %s is progressing and was updated %s ago; another process may be driving it (pause it first): %w",
				e.Service, st.Rollout.ID, age.Round(time.Second), providers.ErrConflict)
			return e.fail(err)
		}
	}
	if st.Stable == nil { // the plan of a first deploy, as Deploy chose it
		plan = strategies.FirstDeploy(plan)
	}
	rec := st.Rollout
	rec.Phase, rec.Reason = providers.PhaseProgressing, ""
	r := run{e: e, plan: plan, rec: rec, candidate: *st.Candidate, stable: st.Stable, url: st.URL, weight: st.Weight}
	e.emit(&Started{ID: rec.ID, Service: e.Service, Strategy: plan.Strategy, Stable: rec.Stable, Candidate: rec.Candidate,
		CandidateURL: st.Candidate.URL, ServiceURL: st.URL, Plan: plan, Resumed: true})
	if err := r.record(ctx); err != nil {
		return e.fail(err)
	}
	return r.execute(ctx, min(rec.Step, len(plan.Steps)-1))
}

func (e *Engine) status(ctx context.Context) (providers.Status, error) {
	var st providers.Status
	err := e.Retry.do(ctx, "read service status", e.warn, func(ctx context.Context) error {
		var err error
		st, err = e.Provider.Status(ctx)
		return err
	})
	return st, err
}

func (e *Engine) emit(ev Event) {
	if e.Events == nil {
		return
	}
	ev.stamp(time.Now())
	e.Events(ev)
}

func (e *Engine) warn(msg string) { e.emit(&Warning{Message: msg}) }

// fail closes a run that could not start or act.
func (e *Engine) fail(err error) Result {
	return e.finish(Result{Outcome: OutcomeFailed, Reason: err.Error(), Err: err})
}

// inFlight reads the service and requires a rollout in flight for verb.
func (e *Engine) inFlight(ctx context.Context, verb string) (providers.Status, error) {
	st, err := e.status(ctx)
	if err != nil {
		return st, err
	}
	if st.Candidate == nil || !st.Rollout.Phase.InFlight() {
		return st, fmt.Errorf("%s %q: no rollout in flight (phase %q): %w", verb, e.Service, st.Rollout.Phase, providers.ErrNoCandidate)
	}
	return st, nil
}

func (e *Engine) finish(r Result) Result {
	e.emit(&Finished{Result: r})
	return r
}
