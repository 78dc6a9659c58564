package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// analyze holds the weight for the step's hold, checking the gates and the
// metrics every interval. It passes once the hold is over and every probe's
// last check succeeded; it holds on while a probe has no verdict, up to the
// progress deadline, and so does a guardrail that has not judged yet in the
// step (its windows pool until they hold min-requests). The comparative
// judge never holds a step: its evidence accumulates across steps and an
// inconclusive comparison is decided before promotion (on-inconclusive).
func (r *run) analyze(ctx context.Context, i int, step strategies.Step) *stepEnd {
	start := time.Now()
	deadline := start.Add(max(step.Hold, r.e.ProgressDeadline))
	tallies := make([]gates.Tally, len(r.e.Gates))
	r.newStep()
	interval := r.plan.Interval
	for checks := 0; ; checks++ {
		if step.Hold > 0 || checks > 0 {
			if end := r.sleep(ctx, interval); end != nil {
				return end
			}
		}
		verdicts, end := r.check(ctx, i, interval, tallies)
		if end != nil {
			return end
		}
		// Read commands from other processes after the gates, right before
		// deciding, so a pause or promote made during a check is not lost.
		if end := r.control(ctx); end != nil {
			return end
		}
		elapsed := time.Since(start)
		waiting := pending(verdicts)
		if elapsed >= step.Hold && len(waiting) == 0 {
			return nil
		}
		if elapsed >= step.Hold && len(waiting) > 0 {
			if !time.Now().Before(deadline) {
				return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf(
					"no verdict within progress-deadline %s: %s", r.e.ProgressDeadline, strings.Join(waiting, "; "))}
			}
			r.e.emit(&Holding{Weight: r.weight, Reason: strings.Join(waiting, "; ")})
		}
	}
}

// check runs every gate once and returns their verdicts, or how the step
// ends when a gate fails.
func (r *run) check(ctx context.Context, i int, window time.Duration, tallies []gates.Tally) ([]gates.Verdict, *stepEnd) {
	target := gates.Target{Candidate: r.candidate, Stable: r.stable, ServiceURL: r.url, Weight: r.weight, Window: window}
	verdicts := make([]gates.Verdict, 0, len(r.e.Gates))
	for g, gate := range r.e.Gates {
		res := gate.Check(ctx, target)
		if ctx.Err() != nil {
			return nil, &stepEnd{outcome: OutcomeCancelled}
		}
		tallies[g] = tallies[g].Add(res)
		v := gates.Assess(tallies[g], r.e.Limits)
		r.e.emit(&GateChecked{Index: i, Weight: r.weight, Result: res, Verdict: v})
		if v.Outcome == gates.Failed || v.Outcome == gates.Error {
			return nil, &stepEnd{outcome: OutcomeRolledBack, reason: v.Reason}
		}
		verdicts = append(verdicts, v)
	}
	if r.weight > 0 || !r.routing.Empty() { // the metrics judge traffic: there is none at 0% with no cohort
		held, end := r.checkMetrics(ctx, i, target)
		if end != nil {
			return nil, end
		}
		for _, why := range held {
			verdicts = append(verdicts, gates.Verdict{Outcome: gates.Inconclusive, Reason: why})
		}
	}
	return verdicts, nil
}

// pending lists the reasons of the verdicts still waiting for data.
func pending(vs []gates.Verdict) []string {
	var out []string
	for _, v := range vs {
		if v.Outcome != gates.Successful {
			out = append(out, v.Reason)
		}
	}
	return out
}

// sleep waits d, or reports the cancellation.
func (r *run) sleep(ctx context.Context, d time.Duration) *stepEnd {
	if sleep(ctx, d) != nil {
		return &stepEnd{outcome: OutcomeCancelled}
	}
	return nil
}

// control reads the record on the service for commands from other
// processes (a pause, a promotion, a rollback, a replacing or resuming
// run) and returns how the run ends when one ended it. Otherwise it adopts
// the record's version, puts back a split someone changed, and renews the
// run's lease.
func (r *run) control(ctx context.Context) *stepEnd {
	st, err := r.e.Provider.Status(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return &stepEnd{outcome: OutcomeCancelled}
		}
		r.e.warn(fmt.Sprintf("could not read the service status (checking again next interval): %v", err))
		return nil
	}
	if end := r.endedElsewhere(st); end != nil {
		r.dropOwnIntent(ctx, st)
		return end
	}
	r.rec.Version = st.Rollout.Version
	if !r.driver { // a command acts on the rollout as it stands now
		r.rec, r.weight, r.instances = st.Rollout, st.Weight, st.Rollout.Instances
		return nil
	}
	if r.rec.Phase != providers.PhaseProgressing {
		return nil
	}
	if st.Candidate == nil || st.Candidate.ID != r.candidate.ID {
		return r.vanished(ctx, st)
	}
	if r.rec.Replaces() && st.Instances != nil && !st.Instances.Ahead(r.instances) && (st.Instances.Candidate != r.instances || st.Weight != r.weight) {
		return r.reinstance(ctx, *st.Instances)
	}
	if !r.rec.Replaces() && (st.Weight != r.weight || !r.routing.Equal(st.Routing)) {
		return r.reshift(ctx, st.Weight)
	}
	r.renew(ctx)
	return nil
}

// endedElsewhere is how the run ends when the record on the service shows
// that another process ended or took over the rollout; nil otherwise.
func (r *run) endedElsewhere(st providers.Status) *stepEnd {
	rec := st.Rollout
	if rec.ID != r.rec.ID {
		return &stepEnd{outcome: OutcomeFailed, reason: fmt.Sprintf("rollout %s replaced by %s elsewhere", r.rec.ID, rec.ID),
			err: fmt.Errorf("rollout replaced: %w", providers.ErrConflict), elsewhere: true}
	}
	switch rec.Phase {
	case providers.PhasePaused:
		if r.rec.Phase == providers.PhasePaused { // paused already when this run read it: a command on a paused rollout
			return nil
		}
		r.rec = rec
		r.e.emit(&Paused{Weight: st.Weight, Step: rec.Step, Reason: rec.Reason, Elsewhere: true})
		return &stepEnd{outcome: OutcomePaused, reason: rec.Reason, elsewhere: true}
	case providers.PhasePromoted, providers.PhaseRolledBack, providers.PhaseFailed, providers.PhaseCancelled:
		if r.rec.Phase != rec.Phase {
			r.rec = rec
			out := map[providers.Phase]Outcome{providers.PhasePromoted: OutcomePromoted, providers.PhaseRolledBack: OutcomeRolledBack,
				providers.PhaseFailed: OutcomeFailed, providers.PhaseCancelled: OutcomeCancelled}[rec.Phase]
			return &stepEnd{outcome: out, reason: "done elsewhere: " + rec.Reason, elsewhere: true}
		}
	case providers.PhaseProgressing:
		if l := rec.Lease; r.driver && l != nil && l.ID != r.e.holder().ID {
			r.rec = rec
			return &stepEnd{outcome: OutcomeFailed, reason: fmt.Sprintf("rollout %s is now driven by %s", rec.ID, l.Holder),
				err: fmt.Errorf("rollout taken over: %w", providers.ErrConflict), elsewhere: true}
		}
	}
	return nil
}

// dropOwnIntent clears a transition this run stated and made, which a
// command from another process copied into its record while the run was
// making it: the platform shows it made, so the record need not say
// "maybe not made" once this run, which alone could finish it, stops.
func (r *run) dropOwnIntent(ctx context.Context, st providers.Status) {
	rec := st.Rollout
	in, l := rec.Intent, rec.Lease
	if in == nil || in.Action == providers.ActionDeploy || l == nil || l.ID != r.e.holder().ID || !in.Transition(rec).Done(st) {
		return
	}
	r.rec = rec
	rec.Intent = nil
	if err := r.transition(context.WithoutCancel(ctx), Backoff{Attempts: 1}, providers.Transition{Action: providers.ActionRecord}, rec); err != nil {
		r.e.warn(fmt.Sprintf("could not clear the %s this run made from the record: %v", in.Transition(rec), err))
	}
}

// vanished handles a progressing rollout whose candidate the platform no
// longer shows: promoted or rolled back outside ramp. The record is
// completed to say so, and the run ends as the platform shows; it never
// rolls back what it cannot see.
func (r *run) vanished(ctx context.Context, st providers.Status) *stepEnd {
	for _, d := range providers.Diagnose(st, time.Now()) {
		if d.Fix == nil || d.Fix.Action != providers.ActionRecord ||
			(d.Kind != providers.DriftUnrecordedPromotion && d.Kind != providers.DriftUnrecordedRollback) {
			continue
		}
		if err := r.record(ctx, d.Fix.Record); err != nil {
			r.e.warn(fmt.Sprintf("the rollout record could not be updated: %v", err))
		}
		out, reason := OutcomeRolledBack, "the candidate was taken out of the service outside this run: "+d.Detail
		if d.Kind == providers.DriftUnrecordedPromotion {
			out, reason = OutcomePromoted, "the candidate was promoted outside this run: "+d.Detail
		}
		return &stepEnd{outcome: out, reason: reason, elsewhere: true}
	}
	return &stepEnd{outcome: OutcomeFailed, reason: fmt.Sprintf("candidate %s was replaced outside this run", r.candidate.ID),
		err: fmt.Errorf("candidate replaced: %w", providers.ErrConflict), elsewhere: true}
}

// controlAfter explains a provider call that failed because the rollout
// changed under it (promoted or rolled back elsewhere): it reads the record,
// and returns nil when nothing changed elsewhere.
func (r *run) controlAfter(ctx context.Context, err error) *stepEnd {
	if !errors.Is(err, providers.ErrNoCandidate) && !errors.Is(err, providers.ErrConflict) && !errors.Is(err, providers.ErrStale) {
		return nil
	}
	return r.control(ctx)
}

// reshift puts the split back where the record says when the platform
// reports another one (someone edited the service): the engine trusts what
// the platform reports, and corrects it.
func (r *run) reshift(ctx context.Context, reported int) *stepEnd {
	r.e.warn(fmt.Sprintf("the platform reports %d%% to the candidate, not the %d%% this rollout set; setting %d%% again",
		reported, r.weight, r.weight))
	t := providers.Transition{Action: providers.ActionShift, Revision: r.candidate.ID, Weight: r.weight, Routing: r.routing}
	err := r.transition(ctx, r.e.Retry, t, r.rec)
	switch {
	case err == nil, errors.Is(err, providers.ErrStale): // changed meanwhile: the next check reads it
		return nil
	case ctx.Err() != nil:
		return &stepEnd{outcome: OutcomeCancelled}
	}
	return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf(
		"the platform reports %d%% instead of %d%% and the split could not be set again: %v", reported, r.weight, err)}
}
