package local

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// apply makes one transition under the agent's lock: the record's
// compare-and-set, the traffic change (one atomic swap of the routing
// table) and the persisted state, together, so no reader ever sees the
// split and the record disagree. A transition that must start processes
// first (see scales) is made as a recorded intent, the act and the
// outcome instead, since it cannot hold the lock that long.
func (a *Agent) apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, err
	}
	if a.scales(t) {
		a.scaling.Lock()
		defer a.scaling.Unlock()
		return providers.ApplyStepwise(ctx, scaler{a}, t)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return providers.Rollout{}, fmt.Errorf("%s: %w", t, errClosing)
	}
	next, err := providers.NextRecord(a.rollout, t.Record)
	if err != nil {
		return providers.Rollout{}, err
	}
	if st := a.rolesLocked(); !t.Done(st) {
		if err := t.Check(st); err != nil {
			return providers.Rollout{}, err
		}
		a.trafficLocked(t)
	}
	a.rollout = next
	if err := a.persistLocked(); err != nil {
		return providers.Rollout{}, fmt.Errorf("%s: %w", t, err)
	}
	return next, nil
}

// rolesLocked is the revisions and the weight, without health checks, for
// Transition.Done and Check; a.mu must be held.
func (a *Agent) rolesLocked() providers.Status {
	st := providers.Status{Weight: a.weight, Routing: a.routing, Instances: &providers.Instances{Stable: a.stable.count(), Candidate: a.candidate.count()}}
	ref := func(r *revision) *providers.Revision {
		if r == nil {
			return nil
		}
		return &providers.Revision{ID: r.id}
	}
	st.Stable, st.Candidate, st.Previous = ref(a.stable), ref(a.candidate), ref(a.previous)
	return st
}

// trafficLocked makes t's traffic change, which Check allowed; a.mu must
// be held. Retired revisions drain in the background.
func (a *Agent) trafficLocked(t providers.Transition) {
	switch t.Action {
	case providers.ActionShift:
		a.weight, a.routing = t.Weight, t.Routing
		a.routeLocked()
		a.log.Printf("weight %d%% to %s, routing %s", t.Weight, a.candidate.id, t.Routing)
	case providers.ActionPromote:
		a.promoteLocked(t.KeepPrevious)
	case providers.ActionRollback:
		c := a.candidate
		a.candidate, a.weight = nil, 0
		a.routeLocked()
		a.retire(c, "rolled back")
	case providers.ActionRevert:
		old, prev := a.stable, a.previous
		a.previous = nil
		a.dropPreviousLocked("")
		a.stable = prev
		a.routeLocked()
		a.log.Printf("roll back to previous revision %s", prev.id)
		a.retire(old, "rolled back to the previous revision")
	}
}

// promoteLocked makes the candidate stable with all the traffic and keeps
// the revision it replaces warm for keep (retiring it now when keep is 0);
// a.mu must be held.
func (a *Agent) promoteLocked(keep time.Duration) {
	old := a.stable
	a.stable, a.candidate, a.weight = a.candidate, nil, 0
	a.routeLocked()
	a.log.Printf("promote %s", a.stable.id)
	a.dropPreviousLocked("replaced by a newer previous revision")
	if old != nil && keep > 0 {
		a.previous, a.previousUntil = old, time.Now().Add(keep).UTC()
		a.previousTimer = time.AfterFunc(keep, func() { a.expirePrevious(old) })
	} else if old != nil {
		a.retire(old, "promotion replaced it")
	}
}

// dropPreviousLocked retires the warm previous revision, if any; a.mu must
// be held.
func (a *Agent) dropPreviousLocked(why string) {
	if a.previousTimer != nil {
		a.previousTimer.Stop()
		a.previousTimer = nil
	}
	if p := a.previous; p != nil {
		a.previous = nil
		a.retire(p, why)
	}
	a.previousUntil = time.Time{}
}

// expirePrevious retires p once its keep-previous window has passed, if it
// is still the previous revision.
func (a *Agent) expirePrevious(p *revision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing || a.previous != p {
		return
	}
	a.dropPreviousLocked("keep-previous window passed")
	if err := a.persistLocked(); err != nil {
		a.log.Printf("expire previous %s: %v", p.id, err)
	}
}
