package engine_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// TestCrashSlowCandidateKeepsItsLease starts a candidate that takes longer than
// a lease (50s at a 10s interval) to become ready, and promotes from
// another process meanwhile: the deploy renews its lease while it waits,
// so the promotion waits for the candidate and promotes it, instead of
// taking the deploy for dead and repairing its rollout as cut short.
func TestCrashSlowCandidateKeepsItsLease(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		p.OnCall("Deploy", func() { time.Sleep(90 * time.Second) })
		promoted := make(chan engine.Result)
		go func() {
			time.Sleep(10 * time.Second)
			promoted <- newEngine(p, &recorder{}).Promote(context.Background(), "promoted by bob")
		}()
		res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Errorf("deploy: %s (%s), want promoted (elsewhere)", res.Outcome, res.Reason)
		}
		if res := <-promoted; res.Outcome != engine.OutcomePromoted {
			t.Errorf("promote: %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if st := p.Snapshot(); st.Stable.ID != "v2" || st.Rollout.Phase != providers.PhasePromoted || st.Rollout.Reason != "promoted by bob" {
			t.Errorf("stable %s, rollout %s (%s); want v2 promoted by bob", st.Stable.ID, st.Rollout.Phase, st.Rollout.Reason)
		}
	})
}
