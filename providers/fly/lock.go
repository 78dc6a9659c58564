package fly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// txn is one locked write of the record: the machine leases ramp holds,
// by machine ID, and the view read while holding the anchor's.
type txn struct {
	p      *Provider
	api    machinesAPI
	action string
	v      *view
	nonces map[string]string
}

// maxAnchorMoves bounds the locks tried while other writers keep moving
// the record between machines.
const maxAnchorMoves = 3

// begin takes the lease of the machine holding the record (or of the
// stable revision's first machine when none does) and reads the machines
// again under it: every writer takes that lease first, so the record read
// now stays the last written until the txn ends, and the record's Version
// is compared and set under the lock.
func (p *Provider) begin(ctx context.Context, action string) (*txn, error) {
	api, err := p.client()
	if err != nil {
		return nil, p.fail(action, err)
	}
	for n := 1; ; n++ {
		v, err := p.read(ctx, action)
		if err != nil {
			return nil, err
		}
		lock := v.anchor
		if lock == "" {
			r := p.rolesOf(v)
			if r.stable == nil {
				return nil, p.fail(action, p.canRun(r))
			}
			lock = r.stable.machines[0].ID
		}
		tx := &txn{p: p, api: api, action: action, nonces: map[string]string{}}
		if err := tx.lease(ctx, lock); err != nil {
			return nil, err
		}
		if tx.v, err = p.read(ctx, action); err != nil || tx.v.anchor == v.anchor || n >= maxAnchorMoves {
			if err == nil && tx.v.anchor != v.anchor {
				err = p.fail(action, fmt.Errorf("%w: the rollout record keeps moving between machines; another process is writing it", providers.ErrConflict))
			}
			if err != nil {
				tx.end(ctx)
				return nil, err
			}
			return tx, nil
		}
		tx.end(ctx) // the record moved meanwhile: lock its new machine
	}
}

// lease takes the machine's lease. While another holds it, it tries again
// for as long as one of ramp's leases lasts (a write by another process
// ends, a killed process's lease expires), then names the holder.
func (tx *txn) lease(ctx context.Context, id string) error {
	if _, held := tx.nonces[id]; held {
		return nil
	}
	deadline := tx.p.now().Add(leaseTTL + 5*time.Second)
	for {
		l, err := tx.api.AcquireLease(ctx, tx.p.app, id, "", leaseTTL)
		var ae *APIError
		switch {
		case err == nil:
			tx.nonces[id] = l.Nonce
			return nil
		case !errors.As(err, &ae) || !errors.Is(err, providers.ErrConflict):
			return tx.p.fail(tx.action, err)
		case !tx.p.now().Before(deadline):
			return tx.p.fail(tx.action, fmt.Errorf("%w: machine %s, which ramp locks to write the rollout record, is leased by another process (%s) for over %s: a deploy (flyctl or ramp) is changing the app; try again once it ends",
				providers.ErrConflict, id, ae.Message, leaseTTL))
		}
		if err := sleep(ctx, tx.p.poll); err != nil {
			return tx.p.fail(tx.action, err)
		}
	}
}

// nonce is the nonce of the lease held on the machine, or "".
func (tx *txn) nonce(id string) string { return tx.nonces[id] }

// write makes a write to a machine ramp holds no lease of, with the nonce
// of the lease held (none); when another holds the machine's lease (a
// process killed in the middle of a rollout holds it until it expires),
// it takes the lease, waiting as lease does, and writes again.
func (tx *txn) write(ctx context.Context, id string, f func(nonce string) error) error {
	err := f(tx.nonce(id))
	if _, held := tx.nonces[id]; held || !errors.Is(err, providers.ErrConflict) {
		return err
	}
	if err := tx.lease(ctx, id); err != nil {
		return err
	}
	return f(tx.nonce(id))
}

// store writes rec on the target machine, compare-and-set against the
// record read under the lock, and returns it as stored. A target other
// than the locked machine is leased too, so no writer locks it meanwhile.
func (tx *txn) store(ctx context.Context, rec providers.Rollout, target string) (providers.Rollout, error) {
	next, err := providers.NextRecord(tx.v.rec, rec)
	if err != nil {
		return providers.Rollout{}, tx.p.fail(tx.action, err)
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return providers.Rollout{}, tx.p.fail(tx.action, fmt.Errorf("encode the rollout record: %w", err))
	}
	if err := tx.lease(ctx, target); err != nil {
		return providers.Rollout{}, err
	}
	if err := tx.recheck(ctx); err != nil {
		return providers.Rollout{}, err
	}
	if err := tx.api.SetMetadata(ctx, tx.p.app, target, tx.nonce(target), keyRecord, string(raw)); err != nil {
		return providers.Rollout{}, tx.p.fail(tx.action, err)
	}
	tx.v.rec, tx.v.anchor = next, target
	return next, nil
}

// recheck renews the leases held and reads the record again right before
// a write: a process stalled past its lease (whose lock another took
// meanwhile) finds the record changed, ErrStale, and writes nothing.
func (tx *txn) recheck(ctx context.Context) error {
	for id, nonce := range tx.nonces {
		l, err := tx.api.AcquireLease(ctx, tx.p.app, id, nonce, leaseTTL)
		if err != nil {
			return tx.p.fail(tx.action, fmt.Errorf("%w: renew the lease of machine %s: %w", providers.ErrStale, id, err))
		}
		tx.nonces[id] = l.Nonce // a new nonce: ours had expired; the read below tells whether anyone wrote meanwhile
	}
	v, err := tx.p.read(ctx, tx.action)
	if err != nil {
		return err
	}
	if v.rec.Version != tx.v.rec.Version || v.anchor != tx.v.anchor {
		return tx.p.fail(tx.action, fmt.Errorf("record rollout %s: written from version %d, but the record is at version %d (rollout %s, %s): %w",
			tx.v.rec.ID, tx.v.rec.Version, v.rec.Version, v.rec.ID, v.rec.Phase, providers.ErrStale))
	}
	return nil
}

// end releases the leases; one left behind expires after leaseTTL.
func (tx *txn) end(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for id, nonce := range tx.nonces {
		_ = tx.api.ReleaseLease(ctx, tx.p.app, id, nonce) // a lease not released expires: nothing to repair
	}
	tx.nonces = map[string]string{}
}
