package local

import (
	"context"
	"fmt"

	"github.com/ramp-deploy/ramp/providers"
)

// scales reports whether t must start replicas before it can be made: a
// replace (strategy rolling), a rollback whose stable revision lost
// replicas to one, a promotion whose candidate does not run on every one.
func (a *Agent) scales(t providers.Transition) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch t.Action {
	case providers.ActionReplace:
		return true
	case providers.ActionRollback:
		return a.stable != nil && a.stable.count() < a.stable.want
	case providers.ActionPromote:
		return a.candidate != nil && a.candidate.count() < a.candidate.want
	}
	return false
}

// scaler is the agent as a providers.Stepwise platform, for the
// transitions that start replicas: the record is written on its own, and
// the act starts replicas with the lock released.
type scaler struct{ a *Agent }

// Record stores r alone, compare-and-set, and persists it.
func (s scaler) Record(_ context.Context, r providers.Rollout) (providers.Rollout, error) {
	a := s.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return providers.Rollout{}, fmt.Errorf("record rollout %s: %w", r.ID, errClosing)
	}
	next, err := providers.NextRecord(a.rollout, r)
	if err != nil {
		return providers.Rollout{}, err
	}
	a.rollout = next
	if err := a.persistLocked(); err != nil {
		return providers.Rollout{}, fmt.Errorf("record rollout %s: %w", r.ID, err)
	}
	return next, nil
}

// Traffic makes t: it starts the replicas t needs, waiting for each
// one's health, then swaps the routing table, and only then retires the
// replicas t replaces. Nothing happens when the agent already shows t.
func (s scaler) Traffic(ctx context.Context, t providers.Transition) error {
	a := s.a
	a.mu.Lock()
	st := a.rolesLocked()
	if t.Done(st) {
		a.mu.Unlock()
		return nil
	}
	if err := t.Check(st); err != nil {
		a.mu.Unlock()
		return err
	}
	cand, stable := a.candidate, a.stable
	a.mu.Unlock()
	switch t.Action {
	case providers.ActionReplace:
		return a.replace(ctx, t, cand, stable)
	case providers.ActionRollback:
		if stable != nil {
			if err := a.grow(ctx, stable, stable.want); err != nil { // traffic goes back to stable anyway
				a.log.Printf("rollback %s: the stable revision %s could not be restored on every replica: %v", cand.id, stable.id, err)
			}
		}
	case providers.ActionPromote:
		if err := a.grow(ctx, cand, cand.want); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return a.settle(t, cand)
}

// grow starts replicas of r until it runs n, and adds them to the routing
// table.
func (a *Agent) grow(ctx context.Context, r *revision, n int) error {
	a.mu.Lock()
	missing := n - r.count()
	a.mu.Unlock()
	started, err := a.startReplicas(ctx, r, missing)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r.replicas = append(r.replicas, started...)
	a.routeLocked()
	return a.persistLocked()
}

// settle makes a rollback's or a promotion's traffic change once its
// replicas run, unless the candidate changed meanwhile.
func (a *Agent) settle(t providers.Transition, cand *revision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return fmt.Errorf("%s: %w", t, errClosing)
	}
	if a.candidate != cand {
		return fmt.Errorf("%s: the candidate changed meanwhile: %w", t, providers.ErrConflict)
	}
	a.trafficLocked(t)
	return a.persistLocked()
}

// replace runs cand on t.Instances replicas and stable on the rest of the
// candidate's full count. At most t.Surge replicas beyond that count run
// meanwhile (one more when none would serve otherwise): the stable
// replicas the batch replaces beyond the surge leave the routing table
// (and drain) before the new ones start; the others leave it once the new
// ones are ready and routed.
func (a *Agent) replace(ctx context.Context, t providers.Transition, cand, stable *revision) error {
	a.mu.Lock()
	n := cand.want
	k := min(t.Instances, n)
	keep := 0
	if stable != nil {
		keep = n - k
	}
	addCand, addStable := max(k-cand.count(), 0), max(keep-stable.count(), 0)
	// One replica at least keeps serving, whatever max-unavailable allows:
	// a single replica replaced with no surge starts its successor first.
	early := min(max(stable.count()-keep, 0), max(addCand-t.Surge, 0), max(stable.count()+cand.count()-1, 0))
	var first []*replica
	if early > 0 {
		cut := stable.count() - early
		stable.replicas, first = stable.replicas[:cut:cut], stable.replicas[cut:]
		a.routeLocked()
		if err := a.persistLocked(); err != nil {
			a.log.Printf("%s: %v", t, err)
		}
	}
	a.mu.Unlock()
	for _, rp := range first {
		a.retireReplica(stable.id, rp, "replaced by "+cand.id+" (max-unavailable)")
	}
	started, err := a.startReplicas(ctx, cand, addCand)
	if err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	var restarted []*replica
	if stable != nil {
		if restarted, err = a.startReplicas(ctx, stable, addStable); err != nil {
			for _, rp := range started {
				a.stopReplica(cand.id, rp)
			}
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return a.swap(t, cand, stable, started, restarted, k, keep)
}

// swap adds the started replicas, takes out those beyond k (candidate)
// and keep (stable), routes t.Weight to the candidate and persists it,
// then retires the replicas taken out.
func (a *Agent) swap(t providers.Transition, cand, stable *revision, started, restarted []*replica, k, keep int) error {
	a.mu.Lock()
	if a.closing || a.candidate != cand || a.stable != stable {
		a.mu.Unlock()
		for _, rp := range append(started, restarted...) {
			a.stopReplica(cand.id, rp)
		}
		return fmt.Errorf("%s: the revisions changed meanwhile: %w", t, providers.ErrConflict)
	}
	var goneCand, goneStable []*replica
	cand.replicas = append(cand.replicas, started...)
	cand.replicas, goneCand = cand.replicas[:k:k], cand.replicas[k:]
	if stable != nil {
		stable.replicas = append(stable.replicas, restarted...)
		stable.replicas, goneStable = stable.replicas[:keep:keep], stable.replicas[keep:]
	}
	a.weight = t.Weight
	a.routeLocked()
	err := a.persistLocked()
	a.mu.Unlock()
	a.log.Printf("%d replicas of %s (%d%%), %d of the stable revision", k, cand.id, t.Weight, keep)
	for _, rp := range goneCand {
		a.retireReplica(cand.id, rp, "more replicas than the rollout sets")
	}
	for _, rp := range goneStable {
		a.retireReplica(stable.id, rp, "replaced by "+cand.id)
	}
	return err
}
