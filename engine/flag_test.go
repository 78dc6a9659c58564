package engine_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// flagSwitch records the percentages a flag is set to; a feature that
// breaks makes the candidate fail half its requests once it is on.
type flagSwitch struct {
	mu     sync.Mutex
	set    []int
	p      *providertest.Platform
	breaks bool
}

func (f *flagSwitch) SetFlag(_ context.Context, pct int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set = append(f.set, pct)
	if f.breaks && pct > 0 {
		f.p.SetHealth("v2", providertest.Health{ErrorRate: 0.5, LatencyMS: 20})
	}
	return nil
}

// TestFlagStep: a canary's flag step turns the flag on at its weight
// (the code shipped dark, then the feature on for the candidate's users),
// the gates judge the candidate with it on, and a rollback turns it off
// before the traffic goes back; a plan with a flag step and no flag
// configured is refused before anything is deployed.
func TestFlagStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		breaks  bool
		outcome engine.Outcome
		set     []int
	}{
		{"promoted with the flag on", false, engine.OutcomePromoted, []int{100}},
		{"the feature breaks: rolled back, flag off", true, engine.OutcomeRolledBack, []int{100, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				sw := &flagSwitch{p: p, breaks: tc.breaks}
				e := newEngine(p, &recorder{})
				e.Flag = sw
				res := e.Deploy(t.Context(), canaryPlan(t, "10,flag,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.outcome)
				}
				if !slices.Equal(sw.set, tc.set) {
					t.Errorf("flag set to %v, want %v", sw.set, tc.set)
				}
				if tc.breaks && slices.Contains(p.Calls(), "Apply shift v2 to 50% progressing") {
					t.Error("shifted to 50% with the feature failing")
				}
			})
		})
	}
	t.Run("no flag configured", func(t *testing.T) {
		t.Parallel()
		p := providertest.NewPlatform("http://svc", "v1")
		res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,flag,100"), art, providers.Rollout{ID: "r1"})
		if !errors.Is(res.Err, providers.ErrInvalid) || slices.ContainsFunc(p.Calls(), func(c string) bool { return c == "Deploy app:v2" }) {
			t.Errorf("Deploy = %s (%v); calls %v", res.Outcome, res.Err, p.Calls())
		}
	})
}
