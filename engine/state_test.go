package engine_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// deadHolder names a process that has exited, on this host: a driver
// killed mid-rollout.
func deadHolder(t *testing.T) providers.Holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run a short-lived process: %v", err)
	}
	h := providers.Self()
	h.PID = cmd.Process.Pid
	return h
}

// write stores rec as the platform's record (and makes t's traffic change),
// from the version the platform holds, as another process would.
func write(t *testing.T, p *providertest.Platform, tr providers.Transition, rec providers.Rollout) {
	t.Helper()
	rec.Version = p.Snapshot().Rollout.Version
	tr.Record = rec
	if _, err := (providertest.Fake{P: p}).Apply(t.Context(), tr); err != nil {
		t.Fatalf("apply %s: %v", tr, err)
	}
}

// progressing sets the platform up with v2 deployed at weight w under a
// progressing record whose lease holder is h.
func progressing(t *testing.T, p *providertest.Platform, w int, h providers.Holder) providers.Rollout {
	t.Helper()
	if _, err := (providertest.Fake{P: p}).Deploy(t.Context(), art); err != nil {
		t.Fatal(err)
	}
	rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Strategy: "canary", Step: 1, Weight: w, Stable: "v1", Candidate: "v2",
		Lease: &providers.Lease{Holder: h, Until: time.Now().Add(time.Hour)}}
	write(t, p, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: w}, rec)
	return rec
}

func TestSecondDeployFailsAtOnceAndKeepsTheFirstCandidate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		plan := canaryPlan(t, "10,100")
		plan.Steps[1].Hold = time.Hour
		go newEngine(p, &recorder{}).Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
		time.Sleep(time.Minute)
		start := time.Now()
		res := newEngine(p, &recorder{}).Deploy(t.Context(), plan, providers.Artifact{Image: "app:v3", Revision: "v3"}, providers.Rollout{ID: "r2"})
		if res.Outcome != engine.OutcomeFailed || !errors.Is(res.Err, providers.ErrConflict) || time.Since(start) > 0 {
			t.Fatalf("second deploy: %s after %s (%v), want an immediate conflict", res.Outcome, time.Since(start), res.Err)
		}
		for _, want := range []string{"already in flight", "rollout r1 of v2", "driven by", "ramp promote or ramp rollback"} {
			if !strings.Contains(res.Reason, want) {
				t.Errorf("reason %q lacks %q", res.Reason, want)
			}
		}
		if st := p.Snapshot(); st.Candidate == nil || st.Candidate.ID != "v2" || st.Rollout.ID != "r1" || count(p, "Deploy app:v3") != 0 {
			t.Errorf("the second deploy touched the first one's rollout: %+v", st)
		}
		newEngine(p, &recorder{}).Rollback(t.Context(), "cleanup")
	})
}

func TestWaitLockWaitsForTheRolloutInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		healthy(p, "v3")
		go newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		time.Sleep(time.Second)
		second := newEngine(p, &recorder{})
		second.WaitLock = time.Hour
		res := second.Deploy(t.Context(), canaryPlan(t, "100"), providers.Artifact{Image: "app:v3", Revision: "v3"}, providers.Rollout{ID: "r2"})
		if res.Outcome != engine.OutcomePromoted || res.Stable != "v3" {
			t.Fatalf("waiting deploy: %s (%s), want v3 promoted", res.Outcome, res.Reason)
		}
		if st := p.Snapshot(); st.Previous == nil || st.Previous.ID != "v2" {
			t.Errorf("previous %v, want v2 (the first rollout finished first)", st.Previous)
		}
	})
}

// TestPromoteElsewhereIsNeverUndone promotes from another process while
// the deploy process is about to shift from 10% to 50%: the deploy's shift
// is refused as stale, it reads the promotion and stops; nothing rolls back.
func TestPromoteElsewhereIsNeverUndone(t *testing.T) {
	t.Parallel()
	for _, stepwise := range []bool{false, true} {
		t.Run(map[bool]string{false: "atomic", true: "stepwise"}[stepwise], func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				if stepwise {
					p.Stepwise()
				}
				healthy(p, "v2")
				other := newEngine(p, &recorder{})
				var promoted engine.Result
				asked := false
				method := map[bool]string{false: "Apply shift", true: "Record"}[stepwise]
				p.OnCall(method, func() {
					if st := p.Snapshot(); st.Weight == 10 && !asked {
						asked = true
						promoted = other.Promote(t.Context(), "promoted by bob")
					}
				})
				res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if promoted.Outcome != engine.OutcomePromoted {
					t.Fatalf("promote: %s (%s)", promoted.Outcome, promoted.Reason)
				}
				if res.Outcome != engine.OutcomePromoted || !strings.Contains(res.Reason, "elsewhere") {
					t.Errorf("deploy process: %s (%s), want it to report the promotion made elsewhere", res.Outcome, res.Reason)
				}
				st := p.Snapshot()
				if st.Stable == nil || st.Stable.ID != "v2" || st.Candidate != nil || st.Rollout.Phase != providers.PhasePromoted ||
					st.Rollout.Reason != "promoted by bob" || count(p, "Apply rollback")+count(p, "Traffic rollback") != 0 {
					t.Errorf("after the race: stable %v candidate %v record %s %q", st.Stable, st.Candidate, st.Rollout.Phase, st.Rollout.Reason)
				}
				if ds := providers.Diagnose(st, time.Now()); len(ds) != 0 {
					t.Errorf("drift after the race: %+v", ds)
				}
			})
		})
	}
}

func TestResumeActsAtOnceWhenTheDriverIsGone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		progressing(t, p, 10, deadHolder(t))
		res := newEngine(p, &recorder{}).Resume(t.Context(), canaryPlan(t, "10,50,100"))
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("resume after the driver died: %s (%s), want promoted", res.Outcome, res.Reason)
		}
	})
}

func TestResumeRefusesALiveDriverSayingUntilWhen(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		live := providers.Self()
		progressing(t, p, 10, live)
		res := newEngine(p, &recorder{}).Resume(t.Context(), canaryPlan(t, "10,50,100"))
		if res.Outcome != engine.OutcomeFailed || !strings.Contains(res.Reason, "driven by "+live.String()) || !strings.Contains(res.Reason, "lease until") {
			t.Fatalf("resume under a live driver: %s (%s), want a refusal naming it", res.Outcome, res.Reason)
		}
		time.Sleep(2 * time.Hour) // the lease expires
		if res := newEngine(p, &recorder{}).Resume(t.Context(), canaryPlan(t, "10,50,100")); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("resume after the lease expired: %s (%s)", res.Outcome, res.Reason)
		}
	})
}

func TestRepairFinishesAnInterruptedTransition(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1").Stepwise()
		rec := progressing(t, p, 10, deadHolder(t))
		rec.Weight = 50
		rec.Intent = &providers.Intent{Action: providers.ActionShift, Revision: "v2", Weight: 50, At: time.Now()}
		write(t, p, providers.Transition{Action: providers.ActionRecord}, rec) // stated, then the process died
		events := &recorder{}
		st, err := newEngine(p, events).Reconcile(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st.Weight != 50 || st.Rollout.Intent != nil || st.Rollout.Weight != 50 {
			t.Errorf("after repair: weight %d, record %+v; want the shift to 50%% made and recorded", st.Weight, st.Rollout)
		}
		if len(st.Drift) != 1 || st.Drift[0].Kind != providers.DriftOrphaned {
			t.Errorf("drift left %+v, want only the orphaned rollout (a person resumes or ends it)", st.Drift)
		}
		if !strings.Contains(events.warnings(), "repaired: rollout r1 stated \"shift v2 to 50%\"") {
			t.Errorf("no repair reported: %s", events.warnings())
		}
	})
}

// TestStaleProgressingRecordAfterAPromotion is the record a process killed
// between its promotion and the final record left behind: every command
// completes the record first, so a rollback finds the warm previous version.
func TestStaleProgressingRecordAfterAPromotion(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1").Stepwise()
		rec := progressing(t, p, 50, deadHolder(t))
		rec.Phase = providers.PhasePromoted
		rec.Intent = &providers.Intent{Action: providers.ActionPromote, Revision: "v2", KeepPrevious: time.Hour}
		write(t, p, providers.Transition{Action: providers.ActionPromote, Revision: "v2", KeepPrevious: time.Hour}, rec)
		res := newEngine(p, &recorder{}).Rollback(t.Context(), "rolled back by dave")
		if res.Outcome != engine.OutcomeRolledBack {
			t.Fatalf("rollback: %s (%s)", res.Outcome, res.Reason)
		}
		if st := p.Snapshot(); st.Stable.ID != "v1" || st.Rollout.Phase != providers.PhaseRolledBack || st.Rollout.Intent != nil {
			t.Errorf("after rollback: stable %s, record %+v", st.Stable.ID, st.Rollout)
		}
	})
}

// TestRollbackOfAnUnrecordedCandidateKeepsHistory: a candidate deployed
// without a record (a process killed before its first record, or a change
// by hand) is retired; the promoted rollout before it stays as recorded.
func TestRollbackOfAnUnrecordedCandidateKeepsHistory(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		if res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "100"), art, providers.Rollout{ID: "r1"}); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("setup: %s", res.Outcome)
		}
		if _, err := (providertest.Fake{P: p}).Deploy(t.Context(), providers.Artifact{Image: "app:v3", Revision: "v3"}); err != nil {
			t.Fatal(err)
		}
		res := newEngine(p, &recorder{}).Rollback(t.Context(), "by erin")
		if res.Outcome != engine.OutcomeRolledBack || !strings.Contains(res.Reason, "v3") {
			t.Fatalf("rollback: %s (%s), want v3 retired", res.Outcome, res.Reason)
		}
		st := p.Snapshot()
		if st.Candidate != nil || st.Stable.ID != "v2" || st.Rollout.ID != "r1" || st.Rollout.Phase != providers.PhasePromoted {
			t.Errorf("after rollback: stable %s candidate %v record %s %s; want v2 stable and r1 still promoted", st.Stable.ID, st.Candidate, st.Rollout.ID, st.Rollout.Phase)
		}
	})
}

// TestPauseDuringAShiftLeavesTheRecordedSplit pauses while the deploy's
// shift to 50% is being applied (stepwise: between its intent and its act).
func TestPauseDuringAShiftLeavesTheRecordedSplit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1").Stepwise()
		healthy(p, "v2")
		other := newEngine(p, &recorder{})
		paused := false
		p.OnCall("Traffic", func() {
			if st := p.Snapshot(); st.Weight == 10 && st.Rollout.Weight == 50 && !paused {
				paused = true
				go func() { // another process, while the shift is being made
					if res := other.Pause(t.Context(), "paused by carol"); res.Outcome != engine.OutcomePaused {
						t.Errorf("pause: %s (%s)", res.Outcome, res.Reason)
					}
				}()
				time.Sleep(time.Millisecond) // the pause reads the record stating the shift
			}
		})
		res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePaused {
			t.Fatalf("deploy process: %s (%s), want paused", res.Outcome, res.Reason)
		}
		st := p.Snapshot()
		if st.Rollout.Phase != providers.PhasePaused || st.Weight != st.Rollout.Weight {
			t.Errorf("paused record at %d%%, platform at %d%%: they must agree", st.Rollout.Weight, st.Weight)
		}
		if ds := providers.Diagnose(st, time.Now()); len(ds) != 0 {
			t.Errorf("drift after the pause: %+v", ds)
		}
	})
}

// TestCommandsWhileTheCandidateStarts pauses or rolls back a rollout from
// another process while its deploy is still starting the candidate.
func TestCommandsWhileTheCandidateStarts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		command   func(*engine.Engine) engine.Result
		want      engine.Outcome
		candidate bool
	}{
		{func(e *engine.Engine) engine.Result { return e.Pause(context.Background(), "paused by frank") }, engine.OutcomePaused, true},
		{func(e *engine.Engine) engine.Result { return e.Rollback(context.Background(), "rolled back by frank") }, engine.OutcomeRolledBack, false},
	}
	for _, c := range cases {
		t.Run(string(c.want), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				var cmd engine.Result
				p.OnCall("Deploy", func() { cmd = c.command(newEngine(p, &recorder{})) })
				res := newEngine(p, &recorder{}).Deploy(t.Context(), canaryPlan(t, "10,100"), art, providers.Rollout{ID: "r1"})
				if cmd.Outcome != c.want || res.Outcome != c.want {
					t.Fatalf("command %s (%s), deploy %s (%s); want both %s", cmd.Outcome, cmd.Reason, res.Outcome, res.Reason, c.want)
				}
				st := p.Snapshot()
				if (st.Candidate != nil) != c.candidate || st.Weight != 0 || st.Stable.ID != "v1" {
					t.Errorf("after: candidate %v at %d%%, stable %s", st.Candidate, st.Weight, st.Stable.ID)
				}
				if ds := providers.Diagnose(st, time.Now()); len(ds) != 0 {
					t.Errorf("drift: %+v", ds)
				}
				if c.candidate && (st.Rollout.Candidate != "v2" || st.Rollout.Intent != nil) {
					t.Errorf("paused record %+v, want candidate v2 recorded", st.Rollout)
				}
			})
		})
	}
}
