package fly

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// Apply makes t as providers.ApplyStepwise does, under the lease of the
// machine holding the record: the record states the transition, the
// machines change, the record states the outcome. The record goes on the
// first machine of the revision that is stable once t is made, so a
// promotion's record survives the stable machines it destroys. A
// transition whose revision does not hold its role (Transition.Check) is
// refused before anything is written, as is a weight the machine counts
// cannot give; one the platform already shows (Transition.Done) writes
// the record only. Every Apply also finishes what a transition cut short
// left: machines retired are destroyed, a stable revision's roles made
// whole.
func (p *Provider) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	action := t.String() + " on"
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, p.fail(action, err)
	}
	tx, err := p.begin(ctx, action)
	if err != nil {
		return providers.Rollout{}, err
	}
	defer tx.end(ctx)
	r := p.rolesOf(tx.v)
	if t.Action == providers.ActionRecord {
		target := tx.v.anchor // where the lock is (a rolling rollout may have no stable machine left)
		if target == "" && r.stable == nil {
			return providers.Rollout{}, p.fail(action, p.canRun(r))
		}
		if target == "" {
			target = r.stable.machines[0].ID
		}
		return tx.store(ctx, t.Record, target)
	}
	st := p.statusOf(tx.v, r)
	done := t.Done(st)
	if !done {
		if err := t.Check(st); err != nil {
			return providers.Rollout{}, p.fail(action, err)
		}
		if t.Action == providers.ActionShift {
			if err := checkWeights(groupsOf(machinesOf(r.stable), machinesOf(r.candidate)), t.Weight); err != nil {
				return providers.Rollout{}, p.fail(action, err)
			}
		}
	}
	target := p.home(tx.v, r, t)
	if target == "" {
		return providers.Rollout{}, p.fail(action, fmt.Errorf("%w: no machine is left to hold the record", providers.ErrNotFound))
	}
	stated := t.Record
	stated.Intent = &providers.Intent{Action: t.Action, Revision: t.Revision, Weight: t.Weight, KeepPrevious: t.KeepPrevious, At: p.now().UTC()}
	stored, err := tx.store(ctx, stated, target)
	if err != nil {
		return providers.Rollout{}, fmt.Errorf("state the intent to %s: %w", t, err)
	}
	if !done {
		if err := tx.traffic(ctx, r, t); err != nil {
			return stored, fmt.Errorf("%s (stated in the record, not made): %w", t, err)
		}
	}
	if err := tx.tidy(ctx); err != nil {
		return stored, fmt.Errorf("%s (made; finishing what an earlier transition left): %w", t, err)
	}
	out := t.Record
	out.Intent, out.Version = nil, stored.Version
	if stored, err = tx.store(ctx, out, target); err != nil {
		return providers.Rollout{}, fmt.Errorf("record the outcome of %s: %w", t, err)
	}
	return stored, nil
}

// home is the machine that holds the record once t is made: the first of
// the revision stable then; for a rolling rollout, the machine holding it
// now.
func (p *Provider) home(v *view, r roles, t providers.Transition) string {
	if r.candidate != nil && r.candidate.inPlace && v.anchor != "" {
		return v.anchor // updated in place, no machine goes away
	}
	keep := r.stable
	switch t.Action {
	case providers.ActionPromote:
		keep = r.candidate
	case providers.ActionRevert:
		keep = r.previous
	}
	if keep == nil {
		keep = r.stable
	}
	if keep == nil || len(keep.machines) == 0 {
		keep = r.candidate
	}
	if keep == nil || len(keep.machines) == 0 {
		return ""
	}
	return keep.machines[0].ID
}

// traffic makes t's change to the machines r describes. Each action
// changes roles in an order rolePrecedence reads unambiguously at every
// point, so Apply of the same transition finishes one cut short.
func (tx *txn) traffic(ctx context.Context, r roles, t providers.Transition) error {
	switch t.Action {
	case providers.ActionShift:
		if r.candidate.inPlace { // rolling: the split is the machines updated
			if t.Weight != 0 {
				return tx.p.fail(tx.action, fmt.Errorf("%w: candidate %s is rolled out in place, whose split is the machines updated (replace), not a weight; only 0%% (every machine put back) is taken", providers.ErrInvalid, t.Revision))
			}
			return tx.putBack(ctx, machinesOf(r.candidate))
		}
		return tx.shift(ctx, r, t.Weight)
	case providers.ActionReplace:
		return tx.replace(ctx, r, t.Instances)
	case providers.ActionPromote:
		if r.candidate.inPlace {
			return tx.settle(ctx, r)
		}
		return tx.promote(ctx, r, t)
	case providers.ActionRollback:
		if r.candidate.inPlace {
			return tx.restore(ctx, r)
		}
		if err := tx.route(ctx, machinesOf(r.stable), machinesOf(r.candidate)); err != nil {
			return err
		}
		return tx.setRole(ctx, machinesOf(r.candidate), roleRetired, "")
	case providers.ActionRevert:
		if err := tx.route(ctx, machinesOf(r.previous), machinesOf(r.stable)); err != nil {
			return err
		}
		if err := tx.setRole(ctx, machinesOf(r.stable), roleRetired, ""); err != nil {
			return err
		}
		return tx.setRole(ctx, machinesOf(r.previous), "", "")
	}
	return nil
}

// promote routes the candidate only, retires an older previous revision,
// makes the stable one previous (or retired, with no window), and the
// candidate stable. With the stable revision gone already (a promotion
// cut short after that), only the candidate's roles are left to change.
func (tx *txn) promote(ctx context.Context, r roles, t providers.Transition) error {
	if err := tx.route(ctx, machinesOf(r.candidate), machinesOf(r.stable)); err != nil {
		return err
	}
	if r.stable != nil {
		if err := tx.setRole(ctx, machinesOf(r.previous), roleRetired, ""); err != nil {
			return err
		}
		// Retired at once, its window ends now: retire stops it before it
		// destroys it, as a machine that took all the traffic.
		role, until := roleRetired, tx.p.now().UTC().Format(time.RFC3339)
		if t.KeepPrevious > 0 {
			role, until = rolePrevious, tx.p.now().Add(t.KeepPrevious).UTC().Format(time.RFC3339)
		}
		if err := tx.setRole(ctx, machinesOf(r.stable), role, until); err != nil {
			return err
		}
	}
	return tx.setRole(ctx, machinesOf(r.candidate), "", "")
}

// setRole sets the machines' role ("" for stable) and rollback window.
func (tx *txn) setRole(ctx context.Context, ms []Machine, role, until string) error {
	for _, m := range ms {
		md := m.Config.Metadata()
		if md[keyRole] == role && md[keyPreviousUntil] == until {
			continue
		}
		err := tx.write(ctx, m.ID, func(nonce string) error {
			var err error
			if role == "" {
				err = tx.api.DeleteMetadata(ctx, tx.p.app, m.ID, nonce, keyRole)
			} else {
				err = tx.api.SetMetadata(ctx, tx.p.app, m.ID, nonce, keyRole, role)
			}
			if err == nil && until != "" {
				err = tx.api.SetMetadata(ctx, tx.p.app, m.ID, nonce, keyPreviousUntil, until)
			} else if err == nil && md[keyPreviousUntil] != "" {
				err = tx.api.DeleteMetadata(ctx, tx.p.app, m.ID, nonce, keyPreviousUntil)
			}
			return err
		})
		if err != nil {
			return tx.p.fail(tx.action, err)
		}
	}
	return nil
}

// tidy finishes what a transition cut short left, reading the machines
// again: the stable revision's machines all lose their role, and retired
// machines are stopped and destroyed.
func (tx *txn) tidy(ctx context.Context) error {
	v, err := tx.p.read(ctx, tx.action)
	if err != nil {
		return err
	}
	v.rec, v.anchor = tx.v.rec, tx.v.anchor
	tx.v = v
	r := tx.p.rolesOf(v)
	if err := tx.setRole(ctx, machinesOf(r.stable), "", ""); err != nil {
		return err
	}
	if v.staged != nil && v.staged.Revision != r.candidate.idOr("") { // promoted or left by another rollout
		if err := tx.unstage(ctx); err != nil {
			return err
		}
	}
	for _, rev := range r.retired {
		for _, m := range rev.machines {
			if m.ID == tx.v.anchor {
				continue // never reached: the record goes on a machine that stays
			}
			if err := tx.retire(ctx, m); err != nil {
				return tx.p.fail(tx.action, err)
			}
			delete(tx.nonces, m.ID) // its lease went with it
		}
	}
	return nil
}

// stopWait bounds how long retire waits for a machine to stop gracefully
// before it destroys it anyway.
const stopWait = 30 * time.Second

// retire destroys a machine. One that served as the stable revision (a
// rollback window, ended or none, in its metadata) is stopped first
// (SIGTERM: it finishes the requests it holds, which the fly-proxy sends
// it no more once it is cordoned), waited for up to stopWait, as flyctl's
// bluegreen retires the blue machines; a rolled-back candidate's is
// killed, as flyctl destroys green.
func (tx *txn) retire(ctx context.Context, m Machine) error {
	if m.State == "started" && m.Config.Metadata()[keyPreviousUntil] != "" {
		if err := tx.write(ctx, m.ID, func(nonce string) error { return tx.api.Stop(ctx, tx.p.app, m.ID, nonce) }); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, stopWait)
		err := tx.api.Wait(wctx, tx.p.app, m.ID, "", "stopped")
		cancel()
		if err != nil && ctx.Err() != nil {
			return err
		}
		// A machine slow to stop is killed by the destroy below.
	}
	return tx.write(ctx, m.ID, func(nonce string) error { return tx.api.Destroy(ctx, tx.p.app, m.ID, nonce) })
}
