package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/failpoint"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// Engine runs plans against one provider.
type Engine struct {
	// Provider is the platform adapter.
	Provider providers.Provider
	// Service names the service in events.
	Service string
	// Gates are the probes checked during analyze and bake steps.
	Gates []gates.Gate
	// Metrics judge the traffic during analyze and bake steps.
	Metrics gates.Metrics
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
	// Hooks calls the rollout's webhooks at each phase (see Hooks); nil
	// calls none. The rollout webhooks are among Gates.
	Hooks Hooks
	// Events receives every event; nil drops them.
	Events Sink
	// WaitLock makes a deploy wait up to this long for a rollout in flight
	// to end instead of failing at once.
	WaitLock time.Duration
	// LeaseTTL is how long a driving run's lease lasts unless renewed;
	// zero means two intervals plus 30 s.
	LeaseTTL time.Duration
	// Holder names this process in leases; zero means providers.Self().
	Holder providers.Holder
	// Flag turns the feature flag of a plan's flag step on and off; nil
	// refuses a plan with one.
	Flag FlagSwitch

	once sync.Once
}

// Deploy starts a rollout of a: it reconciles the service, records the
// rollout with the intent to deploy (so of two deploys only one proceeds),
// deploys the candidate with no traffic, records it and executes the plan.
// rec carries the rollout's ID, commit and spec.
func (e *Engine) Deploy(ctx context.Context, plan strategies.Plan, a providers.Artifact, rec providers.Rollout) Result {
	if replaces(plan) {
		if _, err := e.replacer(plan); err != nil {
			return e.fail(err)
		}
	}
	if err := e.requestRouter(plan); err != nil {
		return e.fail(err)
	}
	if err := e.checkFlag(plan); err != nil {
		return e.fail(err)
	}
	r, st, err := e.claim(ctx, plan, a, rec)
	if err != nil {
		return e.fail(err)
	}
	plan, rec, first := r.plan, r.rec, st.Stable == nil
	var rev providers.Revision
	err = r.leased(ctx, func() error { // a candidate may take longer to start than a lease lasts
		return e.Retry.do(ctx, "deploy candidate", e.warn, func(ctx context.Context) error {
			var err error
			rev, err = e.start(ctx, plan, a)
			failpoint.Hit("deploy.after")
			return err
		})
	})
	if err != nil {
		return r.deployFailed(ctx, err)
	}
	if st.URL == "" { // a first deploy may create the service, and its URL, only now
		if cur, err := e.Provider.Status(ctx); err == nil {
			r.url = cur.URL
		}
	}
	r.candidate = rev
	e.emit(&Started{ID: rec.ID, Service: e.Service, Strategy: plan.Strategy, Stable: rec.Stable, Candidate: rev.ID,
		CandidateURL: rev.URL, ServiceURL: r.url, Plan: plan, FirstDeploy: first})
	if end := r.recordCandidate(ctx, rev); end != nil {
		return r.end(ctx, *end)
	}
	return r.execute(ctx, 0)
}

// maxClaims bounds the records a deploy tries while other processes keep
// changing the record between its read and its write.
const maxClaims = 5

// claim waits until no rollout is in flight (lock) and records rec as the
// rollout in flight with the intent to deploy a, compare-and-set against
// the record it read: of two deploys that read the same record, only one
// records. The other reads the record again and, like a deploy that came
// second, waits for that rollout to end (wait-lock) or fails naming it.
func (e *Engine) claim(ctx context.Context, plan strategies.Plan, a providers.Artifact, rec providers.Rollout) (*run, providers.Status, error) {
	deadline := time.Now().Add(e.WaitLock)
	for n := 1; ; n++ {
		st, err := e.lock(ctx, rec.ID, deadline)
		if err != nil {
			return nil, st, err
		}
		p := plan
		if st.Stable == nil {
			p = strategies.FirstDeploy(plan)
		}
		now := time.Now().UTC()
		next := rec
		next.Phase, next.Strategy, next.Step, next.Weight, next.Instances, next.Reason = providers.PhaseProgressing, p.Strategy, 0, 0, 0, ""
		next.Candidate, next.StartedAt, next.Version = "", now, st.Rollout.Version
		next.Intent = &providers.Intent{Action: providers.ActionDeploy, Revision: a.Revision, At: now}
		if st.Stable != nil {
			next.Stable = st.Stable.ID
		}
		r := &run{e: e, plan: p, rec: st.Rollout, stable: st.Stable, url: st.URL, driver: true}
		err = r.record(ctx, next)
		switch {
		case err == nil:
			return r, st, nil
		case !errors.Is(err, providers.ErrStale) || n >= maxClaims:
			return nil, st, fmt.Errorf("record the rollout before deploying: %w", err)
		}
	}
}

// recordCandidate completes the record of the deploy with its candidate.
// A rollback or pause made meanwhile by another process wins: the
// candidate is retired, or recorded as paused at 0%.
func (r *run) recordCandidate(ctx context.Context, rev providers.Revision) *stepEnd {
	next := r.rec
	next.Candidate, next.Intent = rev.ID, nil
	err := r.record(ctx, next)
	if errors.Is(err, providers.ErrStale) {
		end := r.control(ctx)
		if end == nil {
			next = r.rec
			next.Candidate, next.Intent = rev.ID, nil
			err = r.record(ctx, next)
		} else if end.elsewhere && r.rec.ID == next.ID {
			return r.adoptAfter(ctx, end, rev)
		} else {
			return end
		}
	}
	if err != nil {
		return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf("could not record the candidate: %v", err)}
	}
	return nil
}

// adoptAfter settles the candidate of a deploy that another process
// paused or rolled back while it was starting: a pause keeps it, recorded;
// anything else retires it. The run then ends as that process decided.
func (r *run) adoptAfter(ctx context.Context, end *stepEnd, rev providers.Revision) *stepEnd {
	t := providers.Transition{Action: providers.ActionRollback, Revision: rev.ID}
	next := r.rec
	if next.Phase == providers.PhasePaused {
		t = providers.Transition{Action: providers.ActionRecord}
		next.Candidate = rev.ID
	}
	next.Intent = nil
	if err := r.transition(context.WithoutCancel(ctx), r.e.Retry, t, next); err != nil {
		r.e.warn(fmt.Sprintf("could not settle candidate %s after the rollout was %s elsewhere: %v", rev.ID, next.Phase, err))
	}
	return end
}

// deployFailed ends a run whose candidate did not start: nothing moved, so
// the record says rolled back (not ready) or failed, and the intent goes.
func (r *run) deployFailed(ctx context.Context, err error) Result {
	next := r.rec
	next.Intent, next.Reason = nil, err.Error()
	out := OutcomeFailed
	switch {
	case ctx.Err() != nil:
		out, next.Reason = OutcomeCancelled, "cancelled while deploying the candidate"
		next.Phase = providers.PhaseRolledBack
	case errors.Is(err, providers.ErrNotReady):
		out, next.Phase = OutcomeRolledBack, providers.PhaseRolledBack // no traffic ever moved
	default:
		next.Phase = providers.PhaseFailed
	}
	if rerr := r.recordFinalAs(ctx, next); rerr != nil {
		r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", rerr))
	}
	res := Result{Outcome: out, Reason: next.Reason, Err: err, URL: r.url, Rollout: r.rec}
	if r.stable != nil {
		res.Stable = r.stable.ID
	}
	return r.e.finish(res)
}

// Resume continues a paused (or orphaned) rollout from the step its record
// names, with the plan rebuilt from the record's spec. A rollout progressing
// under a live process's lease is refused, saying until when.
func (e *Engine) Resume(ctx context.Context, plan strategies.Plan) Result {
	st, err := e.reconcile(ctx)
	if err == nil {
		err = e.requireInFlight(st, "resume")
	}
	if err != nil {
		return e.fail(err)
	}
	if l := st.Rollout.Lease; st.Rollout.Phase == providers.PhaseProgressing && l != nil && l.ID != e.holder().ID {
		if alive, _ := l.Alive(time.Now()); alive {
			return e.fail(fmt.Errorf("resume %q: rollout %s is driven by %s (lease until %s); pause it first, or wait until then: %w",
				e.Service, st.Rollout.ID, l.Holder, l.Until.Format(time.RFC3339), providers.ErrConflict))
		}
	}
	if st.Stable == nil { // the plan of a first deploy, as Deploy chose it
		plan = strategies.FirstDeploy(plan)
	}
	r := &run{e: e, plan: plan, rec: st.Rollout, candidate: *st.Candidate, stable: st.Stable, url: st.URL, weight: st.Weight,
		instances: st.Rollout.Instances, driver: true, routing: plan.RoutingAt(st.Rollout.Step)}
	next := r.rec
	next.Phase, next.Reason = providers.PhaseProgressing, ""
	if err := r.record(ctx, next); err != nil {
		if errors.Is(err, providers.ErrStale) {
			err = e.inFlightError(ctx, "resume", err)
		}
		return e.fail(err)
	}
	e.emit(&Started{ID: r.rec.ID, Service: e.Service, Strategy: plan.Strategy, Stable: r.rec.Stable, Candidate: r.rec.Candidate,
		CandidateURL: st.Candidate.URL, ServiceURL: st.URL, Plan: plan, Resumed: true})
	return r.execute(ctx, min(r.rec.Step, len(plan.Steps)-1))
}

func (e *Engine) status(ctx context.Context) (providers.Status, error) {
	var st providers.Status
	err := e.Retry.do(ctx, "read service status", e.warn, func(ctx context.Context) error {
		var err error
		st, err = e.Provider.Status(ctx)
		return err
	})
	if err == nil {
		st.Drift = providers.Diagnose(st, time.Now())
	}
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

// inFlight reconciles the service and requires a rollout in flight for verb.
func (e *Engine) inFlight(ctx context.Context, verb string) (providers.Status, error) {
	st, err := e.reconcile(ctx)
	if err != nil {
		return st, err
	}
	return st, e.requireInFlight(st, verb)
}

// requireInFlight refuses verb unless st has a rollout in flight.
func (e *Engine) requireInFlight(st providers.Status, verb string) error {
	if st.Candidate == nil || !st.Rollout.Phase.InFlight() || st.Rollout.Candidate != st.Candidate.ID {
		return fmt.Errorf("%s %q: no rollout in flight (phase %q): %w", verb, e.Service, st.Rollout.Phase, providers.ErrNoCandidate)
	}
	return nil
}

func (e *Engine) finish(r Result) Result {
	e.emit(&Finished{Result: r})
	return r
}
