package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// count returns how many calls start with prefix.
func count(p *providertest.Platform, prefix string) int {
	n := 0
	for _, c := range p.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// TestCommandsFromAnotherProcessDuringACheck runs a command from a second
// process while the deploy process is checking its gates at 10%.
func TestCommandsFromAnotherProcessDuringACheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		warm      bool // v1 was promoted a minute ago and is still warm
		command   func(*engine.Engine) engine.Result
		outcome   engine.Outcome
		stable    string
		rollbacks int
	}{
		{"rollback", false, func(e *engine.Engine) engine.Result { return e.Rollback(context.Background(), "by bob") },
			engine.OutcomeRolledBack, "v1", 1},
		{"rollback with a warm previous version", true, func(e *engine.Engine) engine.Result { return e.Rollback(context.Background(), "by bob") },
			engine.OutcomeRolledBack, "v1", 1},
		{"promote", false, func(e *engine.Engine) engine.Result { return e.Promote(context.Background(), "by bob") },
			engine.OutcomePromoted, "v2", 0},
		{"pause", false, func(e *engine.Engine) engine.Result { return e.Pause(context.Background(), "by bob") },
			engine.OutcomePaused, "v1", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v0")
				healthy(p, "v1")
				healthy(p, "v2")
				first := newEngine(p, &recorder{})
				if res := first.Deploy(t.Context(), canaryPlan(t, "100"), providers.Artifact{Image: "app:v1", Revision: "v1"},
					providers.Rollout{ID: "r0"}); res.Outcome != engine.OutcomePromoted {
					t.Fatalf("setup: %s", res.Outcome)
				}
				if !c.warm {
					time.Sleep(time.Hour) // v0 no longer warm
				}
				other := newEngine(p, &recorder{})
				done := false
				p.OnCall("Observe", func() {
					if p.Snapshot().Weight == 10 && !done {
						done = true
						c.command(other)
					}
				})
				before := count(p, "Apply rollback") + count(p, "Apply revert")
				res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome {
					t.Errorf("deploy process: %s (%s), want %s", res.Outcome, res.Reason, c.outcome)
				}
				st := p.Snapshot()
				if st.Stable.ID != c.stable {
					t.Errorf("stable %s, want %s", st.Stable.ID, c.stable)
				}
				if n := count(p, "Apply rollback") + count(p, "Apply revert") - before; n != c.rollbacks {
					t.Errorf("%d Rollback calls, want %d (no second rollback from the deploy process)", n, c.rollbacks)
				}
				if count(p, "Apply shift v2 to 50%") != 0 {
					t.Error("the deploy process went on to 50% after the command")
				}
				if st.Rollout.Phase == providers.PhaseFailed {
					t.Errorf("record is failed: %s", st.Rollout.Reason)
				}
			})
		})
	}
}

func TestResumeOfAFirstDeployKeepsItsPlan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "")
		p.SetTraffic(50)
		e := newEngine(p, &recorder{})
		ctx, cancel := context.WithCancel(t.Context())
		e.LeaveOnCancel = true
		p.OnCall("Apply record", func() {
			if p.Snapshot().Rollout.Phase == providers.PhaseNone {
				cancel()
			}
		})
		plan := canaryPlan(t, "10,50,100")
		plan.Steps[1].Hold = time.Minute
		res := e.Deploy(ctx, plan, art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeCancelled {
			t.Fatalf("first deploy: %s (%s), want cancelled", res.Outcome, res.Reason)
		}
		p.OnCall("Apply record", nil)
		res = newEngine(p, &recorder{}).Resume(t.Context(), plan)
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("resume: %s (%s)", res.Outcome, res.Reason)
		}
		if n := count(p, "Apply shift"); n != 0 {
			t.Errorf("resuming a first deploy shifted traffic %d times", n)
		}
	})
}

func TestResumeRefusesARolloutStillDriven(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		plan := canaryPlan(t, "10,100")
		plan.Steps[1].Hold = time.Hour
		go newEngine(p, &recorder{}).Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
		time.Sleep(time.Second)
		res := newEngine(p, &recorder{}).Resume(t.Context(), plan)
		if res.Outcome != engine.OutcomeFailed || !strings.Contains(res.Reason, "is driven by") {
			t.Errorf("resume: %s (%s), want a refusal", res.Outcome, res.Reason)
		}
		newEngine(p, &recorder{}).Rollback(t.Context(), "cleanup")
	})
}

// TestPauseDuringAShiftIsNotOverwritten pauses from another process while
// the deploy process is setting the next weight (a slow traffic update on a
// cloud platform): the deploy's record of the shift must not overwrite it.
func TestPauseDuringAShiftIsNotOverwritten(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		other := newEngine(p, &recorder{})
		paused := false
		p.OnCall("Apply shift", func() {
			if p.Snapshot().Weight == 10 && !paused {
				paused = true
				if res := other.Pause(context.Background(), "paused by carol"); res.Outcome != engine.OutcomePaused {
					t.Errorf("pause: %s (%s)", res.Outcome, res.Reason)
				}
			}
		})
		res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePaused {
			t.Fatalf("deploy process: %s (%s), want paused", res.Outcome, res.Reason)
		}
		st := p.Snapshot()
		if st.Rollout.Phase != providers.PhasePaused || st.Rollout.Reason != "paused by carol" {
			t.Errorf("record: %s %q, want the pause kept", st.Rollout.Phase, st.Rollout.Reason)
		}
		if count(p, "Apply promote") != 0 {
			t.Error("the paused rollout was promoted")
		}
	})
}

// TestACommandLosingTheRecordNeverRollsBack: a promote from another process
// whose writes are refused as stale (the deploy process keeps writing)
// reads the record again and retries; one that loses every time changes
// nothing and fails, never rolling back the rollout it was asked to promote.
func TestACommandLosingTheRecordNeverRollsBack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		stale   int
		outcome engine.Outcome
		stable  string
		phase   providers.Phase
	}{
		{"wins on a later write", 4, engine.OutcomePromoted, "v2", providers.PhasePromoted},
		{"loses every write", 5, engine.OutcomeFailed, "v1", providers.PhasePaused},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				if res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,pause,50,100"), art,
					providers.Rollout{ID: "r1"}); res.Outcome != engine.OutcomePaused {
					t.Fatalf("setup: %s", res.Outcome)
				}
				stale := make([]error, c.stale)
				for i := range stale {
					stale[i] = fmt.Errorf("written from version 6: %w", providers.ErrStale)
				}
				p.FailNext("Apply promote", stale...)
				res := newEngine(p, &recorder{}).Promote(t.Context(), "by bob")
				if res.Outcome != c.outcome {
					t.Errorf("promote: %s (%s), want %s", res.Outcome, res.Reason, c.outcome)
				}
				st := p.Snapshot()
				if st.Stable.ID != c.stable || st.Rollout.Phase != c.phase {
					t.Errorf("after: stable %s, phase %s; want %s, %s", st.Stable.ID, st.Rollout.Phase, c.stable, c.phase)
				}
				if n := count(p, "Apply rollback"); n != 0 {
					t.Errorf("%d rollbacks applied, want none", n)
				}
			})
		})
	}
}
