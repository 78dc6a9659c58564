package ecs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// apply makes t with rec (Version from the last stored) and fails the test
// on an error.
func apply(t *testing.T, p *Provider, rec *providers.Rollout, tr providers.Transition) {
	t.Helper()
	tr.Record = *rec
	stored, err := p.Apply(t.Context(), tr)
	if err != nil {
		t.Fatalf("%s: %v", tr, err)
	}
	*rec = stored
}

// TestDeployShiftPromote deploys a candidate, shifts 10% and 50% to it and
// promotes it keeping the old set warm, then reverts, all through the real
// SDK clients; each step is checked on the fake's listener and task sets.
func TestDeployShiftPromote(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		ctx := t.Context()
		rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "v2", Env: []string{"MODE=canary"}})
		if err != nil {
			t.Fatal(err)
		}
		if rev.ID != "v2" || !rev.Ready || e.weights() != [2]int{1, 0} {
			t.Fatalf("deployed %+v, weights %v", rev, e.weights())
		}
		rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: "", Candidate: "v2"}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRecord})
		for _, w := range []int{10, 50} {
			rec.Weight = w
			apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: w})
			if got := e.weights(); got != [2]int{100 - w, w} {
				t.Fatalf("after shift %d: weights %v", w, got)
			}
			st, err := p.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Weight != w || st.Candidate == nil || st.Candidate.ID != "v2" || st.Candidate.Image != nextImage || st.Rollout.Intent != nil {
				t.Fatalf("status after shift %d: %+v", w, st)
			}
		}
		rec.Phase, rec.Weight = providers.PhasePromoted, 100
		apply(t, p, &rec, providers.Transition{Action: providers.ActionPromote, Revision: "v2", KeepPrevious: time.Hour})
		st, err := p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Stable == nil || st.Stable.ID != "v2" || st.Candidate != nil || st.Previous == nil || e.weights() != [2]int{0, 100} {
			t.Fatalf("after promotion: %+v, weights %v", st, e.weights())
		}
		sets := e.w.TaskSets("prod", "web")
		if len(sets) != 2 || sets[1].Status != "PRIMARY" || sets[1].Image != nextImage || sets[1].TargetGroup != e.s.TargetGroups[1] {
			t.Fatalf("task sets after promotion: %+v", sets)
		}
		prev := st.Previous.ID
		rec.Phase = providers.PhaseRolledBack
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRevert, Revision: "v2"})
		st, err = p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Stable == nil || st.Stable.ID != prev || st.Candidate != nil || st.Previous != nil || e.weights() != [2]int{100, 0} {
			t.Fatalf("after the revert: %+v, weights %v", st, e.weights())
		}
		if sets := e.w.TaskSets("prod", "web"); len(sets) != 1 || sets[0].Image != stableImage {
			t.Errorf("task sets after the revert: %+v", sets)
		}
	})
}

// TestRollbackAndRedeploy rolls a candidate back at 10%, then deploys
// again: the weights go back to the stable, the candidate set is deleted,
// and the next candidate uses the same free target group.
func TestRollbackAndRedeploy(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		if _, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"}); err != nil {
			t.Fatal(err)
		}
		rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: "v2", Weight: 10}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 10})
		rec.Phase, rec.Weight = providers.PhaseRolledBack, 0
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRollback, Revision: "v2"})
		if got := e.weights(); got != [2]int{100, 0} {
			t.Errorf("weights after rollback %v", got)
		}
		if sets := e.w.TaskSets("prod", "web"); len(sets) != 1 || sets[0].Image != stableImage {
			t.Errorf("task sets after rollback: %+v", sets)
		}
		// The same rollback again changes nothing but the record.
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRollback, Revision: "v2"})
		rev, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
		if err != nil {
			t.Fatal(err)
		}
		sets := e.w.TaskSets("prod", "web")
		if len(sets) != 2 || sets[1].TargetGroup != e.s.TargetGroups[1] || rev.ID != "v2" {
			t.Errorf("redeploy %s: task sets %+v", rev.ID, sets)
		}
	})
}

// TestCandidateNeverHealthy deploys an image whose tasks never pass their
// health checks: Deploy fails with ErrNotReady saying what it saw, and the
// traffic is untouched.
func TestCandidateNeverHealthy(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		e.cfg.ReadyTimeout = 2 * time.Minute
		p := e.provider(t)
		_, err := p.Deploy(t.Context(), providers.Artifact{Image: "registry.example/web:unhealthy", Revision: "v2"})
		if !errors.Is(err, providers.ErrNotReady) {
			t.Fatalf("Deploy: %v, want ErrNotReady", err)
		}
		for _, want := range []string{"STABILIZING", "unhealthy (Target.FailedHealthChecks)", "no traffic was moved", `service "web"`, `cluster "prod"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if got := e.weights(); got != [2]int{1, 0} {
			t.Errorf("weights %v after a failed deploy", got)
		}
	})
}
