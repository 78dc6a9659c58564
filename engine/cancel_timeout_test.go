package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// hangingRollback is a platform whose rollbacks, once hang is set, never
// answer: each waits for its context.
type hangingRollback struct {
	providertest.Fake
	hang *atomic.Bool
}

func (h hangingRollback) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	if h.hang.Load() && t.Action == providers.ActionRollback {
		<-ctx.Done()
		return providers.Rollout{}, ctx.Err()
	}
	return h.Fake.Apply(ctx, t)
}

// TestCancelGivesUpAfterCancelTimeout cancels a deploy holding at 50%
// while the platform no longer answers its rollback: the run ends exactly
// CancelTimeout (6s when unset) after the cancellation, on the bubble's
// clock, inside the ~10 s a CI runner grants between its signal and the
// kill. The end-to-end TestCancelledJob measures a real process but
// asserts no duration, so that a loaded machine cannot fail it.
func TestCancelGivesUpAfterCancelTimeout(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ set, want time.Duration }{{0, 6 * time.Second}, {3 * time.Second, 3 * time.Second}} {
		t.Run(fmt.Sprintf("CancelTimeout=%s", c.set), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				e := newEngine(p, &recorder{})
				hang := &atomic.Bool{}
				e.Provider, e.CancelTimeout = hangingRollback{Fake: providertest.Fake{P: p}, hang: hang}, c.set
				ctx, cancel := context.WithCancelCause(t.Context())
				var cancelled time.Time
				p.OnCall("Observe", func() {
					if p.Snapshot().Weight == 50 && !hang.Load() {
						hang.Store(true)
						cancelled = time.Now()
						cancel(errors.New("SIGTERM"))
					}
				})
				res := e.Deploy(ctx, canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if took := time.Since(cancelled); took != c.want {
					t.Errorf("the cancelled run ended %s after the cancellation, want %s", took, c.want)
				}
				if res.Outcome != engine.OutcomeCancelled || res.Err == nil {
					t.Errorf("outcome %s (%v), want cancelled with the rollback's error", res.Outcome, res.Err)
				}
				if st := p.Snapshot(); st.Weight != 50 || st.Rollout.Phase != providers.PhaseCancelled {
					t.Errorf("weight %d, phase %s; want 50%% left, recorded as cancelled", st.Weight, st.Rollout.Phase)
				}
			})
		})
	}
}

// landedThenCancelled is a platform whose shift to weight makes the shift
// and then, before it answers, has the run cancelled: the answer is lost
// to the cancellation, as when a CI job is cancelled while a shift call is
// on the wire.
type landedThenCancelled struct {
	providertest.Fake
	weight int
	cancel context.CancelCauseFunc
}

func (l landedThenCancelled) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	rec, err := l.Fake.Apply(ctx, t)
	if err == nil && t.Action == providers.ActionShift && t.Weight == l.weight {
		l.cancel(errors.New("SIGTERM"))
		return providers.Rollout{}, ctx.Err()
	}
	return rec, err
}

// TestCancelledDuringAShiftThatLanded: a run cancelled while its shift to
// 50% was on the wire, which the platform made, says it was cancelled at
// 50% (the platform's weight), not at the 10% it had last seen.
func TestCancelledDuringAShiftThatLanded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		rec := &recorder{}
		e := newEngine(p, rec)
		ctx, cancel := context.WithCancelCause(t.Context())
		e.Provider = landedThenCancelled{Fake: providertest.Fake{P: p}, weight: 50, cancel: cancel}
		res := e.Deploy(ctx, canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeCancelled {
			t.Fatalf("outcome %s (%s), want cancelled", res.Outcome, res.Reason)
		}
		var from = -1
		rec.mu.Lock()
		for _, ev := range rec.events {
			if rb, ok := ev.(*engine.RolledBack); ok {
				from = rb.From
			}
		}
		rec.mu.Unlock()
		if from != 50 {
			t.Errorf("rolled back from %d%%, want 50%% (where the cancelled shift left the traffic)", from)
		}
		if st := p.Snapshot(); st.Weight != 0 || st.Rollout.Phase != providers.PhaseRolledBack {
			t.Errorf("weight %d, phase %s; want 0%%, rolled back", st.Weight, st.Rollout.Phase)
		}
	})
}
