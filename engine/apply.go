package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/internal/failpoint"
	"github.com/ramp-deploy/ramp/providers"
)

// minLeaseTTL is the shortest lease a driving run takes: long enough for a
// slow platform call, short enough that a dead driver frees the rollout soon.
const minLeaseTTL = 30 * time.Second

// transition makes one transition of the run's rollout, retrying: the
// traffic change t names with next as the record, compare-and-set against
// the record this run last read. A write whose answer was lost and that is
// then refused as stale counts as made. On success the run's record is the
// one stored; an ErrStale means another process changed the record first.
func (r *run) transition(ctx context.Context, b Backoff, t providers.Transition, next providers.Rollout) error {
	next.UpdatedAt, next.Version = time.Now().UTC(), r.rec.Version
	switch {
	case r.driver && next.Phase == providers.PhaseProgressing:
		next.Lease = r.lease()
	case next.Intent == nil: // a stated transition keeps the lease of the process making it
		next.Lease = nil
	}
	t.Record = next
	var stored providers.Rollout
	err := b.do(ctx, fmt.Sprintf("%s (%s)", t, next.Phase), r.e.warn, func(ctx context.Context) error {
		var err error
		failpoint.Hit("apply." + string(t.Action) + ".before")
		stored, err = r.e.Provider.Apply(ctx, t)
		failpoint.Hit("apply." + string(t.Action) + ".after")
		if errors.Is(err, providers.ErrStale) {
			if st, rerr := r.e.Provider.Status(ctx); rerr == nil && providers.Landed(st.Rollout, next) {
				stored, err = st.Rollout, nil
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	r.rec = stored
	return nil
}

// record stores next with no traffic change.
func (r *run) record(ctx context.Context, next providers.Rollout) error {
	return r.transition(ctx, r.e.Retry, providers.Transition{Action: providers.ActionRecord}, next)
}

// lease is this run's lease, expiring one TTL (and the run's slack) from
// now.
func (r *run) lease() *providers.Lease {
	return &providers.Lease{Holder: r.e.holder(), Until: time.Now().UTC().Add(r.leaseTTL() + r.slack)}
}

// slowTransition is a transition that may take longer than a lease lasts
// (the platform starts new instances and waits for their health). It
// cannot be renewed while it runs, as a renewal writes the record the
// transition is writing, so its lease is made long enough for it at once:
// a lease and max(progress-deadline, 10m). A process that dies meanwhile
// holds the rollout that long at most, and less on its own host, where a
// holder's process is seen to be gone.
func (r *run) slowTransition(ctx context.Context, t providers.Transition, next providers.Rollout) error {
	r.slack = max(r.e.ProgressDeadline, 10*time.Minute)
	defer func() { r.slack = 0 }()
	return r.transition(ctx, r.e.Retry, t, next)
}

// leaseTTL is the lease a driving run takes: two check intervals and
// half a minute, so one slow poll never lets it lapse.
func (r *run) leaseTTL() time.Duration {
	if r.e.LeaseTTL > 0 {
		return r.e.LeaseTTL
	}
	return max(2*r.plan.Interval+minLeaseTTL, minLeaseTTL)
}

// renew extends the run's lease once less than half of it is left. A run
// that could not renew keeps going; a record changed meanwhile is read at
// the next check.
func (r *run) renew(ctx context.Context) {
	if !r.driver || r.rec.Phase != providers.PhaseProgressing {
		return
	}
	if l := r.rec.Lease; l != nil && l.ID == r.e.holder().ID && time.Until(l.Until) > r.leaseTTL()/2 {
		return
	}
	err := r.record(ctx, r.rec)
	if err != nil && !errors.Is(err, providers.ErrStale) && ctx.Err() == nil {
		r.e.warn(fmt.Sprintf("the lease on the rollout record could not be renewed: %v", err))
	}
}

// leased runs fn, renewing the run's lease every half lease meanwhile, so
// that no other process takes the run for dead while fn takes long (a
// candidate starting) and repairs its rollout under it. Renewals are quiet
// (one attempt, no event; the sink is not called from two goroutines); the
// last one's error is reported once fn is done. fn must not write the
// record itself (see slowTransition).
func (r *run) leased(ctx context.Context, fn func() error) error {
	rctx, stop := context.WithCancel(ctx)
	var failed error
	// The renewals write from a copy of the record, never r.rec, which
	// belongs to the run's own goroutine; the record they leave is adopted
	// once fn is done, unless a later one was read meanwhile.
	renewed := r.rec
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.leaseTTL() / 2)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				next := renewed
				next.UpdatedAt, next.Lease = time.Now().UTC(), r.lease()
				stored, err := r.e.Provider.Apply(rctx, providers.Transition{Action: providers.ActionRecord, Record: next})
				switch {
				case err == nil:
					renewed = stored
				case !errors.Is(err, providers.ErrStale) && rctx.Err() == nil:
					failed = err
				}
			}
		}
	}()
	err := fn()
	stop()
	<-done
	if renewed.Version > r.rec.Version {
		r.rec = renewed
	}
	if failed != nil {
		r.e.warn(fmt.Sprintf("the lease on the rollout record could not be renewed: %v", failed))
	}
	return err
}

// holder is the process run the engine's leases name.
func (e *Engine) holder() providers.Holder {
	e.once.Do(func() {
		if e.Holder.ID == "" {
			e.Holder = providers.Self()
		}
	})
	return e.Holder
}
