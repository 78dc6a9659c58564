package ecs

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ramp-deploy/ramp/providers"
)

// TestOverlappingWrites has processes write the next version of the
// record at the same instant, each from the same read: exactly one write
// counts, the others are ErrStale, whatever the interleaving, and what
// every reader reads afterwards is the winner's record.
func TestOverlappingWrites(t *testing.T) {
	t.Parallel()
	for _, writers := range []int{2, 3, 5} {
		t.Run(string(rune('0'+writers))+" writers", func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				base, err := e.provider(t).Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				results := make([]error, writers)
				for i := range writers {
					p := e.provider(t)
					wg.Go(func() {
						rec := base.Rollout
						rec.ID, rec.Phase = "r"+string(rune('a'+i)), providers.PhasePaused
						_, results[i] = p.Apply(t.Context(), providers.Transition{Action: providers.ActionRecord, Record: rec})
					})
				}
				wg.Wait()
				var won []string
				for i, err := range results {
					switch {
					case err == nil:
						won = append(won, "r"+string(rune('a'+i)))
					case !errors.Is(err, providers.ErrStale):
						t.Errorf("writer %d: %v, want ErrStale or success", i, err)
					}
				}
				st, err := e.provider(t).Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if len(won) != 1 || st.Rollout.ID != won[0] || st.Rollout.Version != base.Rollout.Version+1 {
					t.Errorf("winners %v; the record is %s at version %d (from %d)", won, st.Rollout.ID, st.Rollout.Version, base.Rollout.Version)
				}
			})
		})
	}
}

// TestDeadWritersClaim leaves the claim of a write whose process died
// before it wrote the head: the next write of that version waits until
// the claim expires, then counts; the dead write's tags are swept later.
func TestDeadWritersClaim(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		ctx := t.Context()
		st, err := p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dead := st.Rollout
		dead.ID, dead.Version = "dead", dead.Version+1
		body, _, err := chunkTags(state{Record: dead}, "deadbeef00", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.clientsFor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(e.s.Service), Tags: body}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rec := st.Rollout
		rec.ID = "alive"
		if _, err := p.Apply(ctx, providers.Transition{Action: providers.ActionRecord, Record: rec}); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < claimTTL || waited > claimTTL+10*time.Second {
			t.Errorf("the write waited %s for a dead claim, want about %s", waited, claimTTL)
		}
		if st, err := p.Status(ctx); err != nil || st.Rollout.ID != "alive" {
			t.Errorf("after the wait: %+v, %v", st.Rollout, err)
		}
	})
}
