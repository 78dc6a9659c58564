//go:build unix

package cli_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers"
)

// atStep waits until the deploy starts step i of its plan.
func atStep(i int) func(*service, *proc) {
	return func(_ *service, p *proc) {
		p.waitFor("step "+strconv.Itoa(i), func(ev event) bool { return ev.Type == "step_started" && ev.Index == i })
	}
}

// holdingAt waits until the deploy checks its gates at weight.
func holdingAt(weight int) func(*service, *proc) {
	return func(_ *service, p *proc) {
		p.waitFor("a gate check at "+strconv.Itoa(weight)+"%", func(ev event) bool { return ev.Type == "gate_checked" && ev.Weight == weight })
	}
}

// startingCandidate waits until the record shows the deploy starting its
// candidate (the intent to deploy, stated before it starts it).
func startingCandidate(s *service, _ *proc) {
	for deadline := time.Now().Add(procTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if in := s.status().st.Rollout.Intent; in != nil && in.Action == providers.ActionDeploy {
			return
		}
	}
	s.t.Fatal("the record never showed the deploy starting its candidate")
}

// finished is the final event of a command's JSON output.
func finished(t *testing.T, out string) event {
	t.Helper()
	for _, ev := range events(out) {
		if ev.Type == "finished" {
			return ev
		}
	}
	t.Fatalf("no finished event:\n%s", out)
	return event{}
}

// TestPromoteFromAnotherProcessWhileTheDeployShifts promotes from a second
// process whose write is delayed by a second, while the deploy of 10, 50,
// 100 shifts or starts its candidate: whichever write lands first, the
// promotion stands. The deploy reports it was promoted (or fails on a race
// it cannot win) and never rolls back; all the traffic ends on v2.
func TestPromoteFromAnotherProcessWhileTheDeployShifts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		deployFP string // failpoints of the deploy
		hold     string
		when     func(*service, *proc) // returns when the promote starts
		// waits means the promote comes while the deploy starts its
		// candidate, and must wait for it to be recorded.
		waits bool
	}{
		{"promote lands during the deploy's slowed shift", "apply.shift.before=sleep(3s)@2", "200ms", atStep(2), false},
		{"the deploy shifts during the delayed promote", "", "1s,3s", holdingAt(10), false},
		{"promote while the candidate starts", "deploy.after=sleep(2s)", "3s", startingCandidate, true},
		{"promote issued 0.1s into the deploy", "", "200ms", func(*service, *proc) { time.Sleep(100 * time.Millisecond) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			d := s.start(c.deployFP, deployArgs("v2", "--steps=10,50,100", "--hold="+c.hold)...)
			c.when(s, d)
			var pcode int
			var pout string
			if c.waits { // at once, in this process, well inside the deploy's two seconds
				pout = s.must(cli.ExitOK, "promote", "--output=json")
			} else {
				pcode, pout = s.start("apply.promote.before=sleep(1s)", "promote", "--output=json").wait()
			}
			dcode, dout := d.wait()
			t.Logf("promote: exit %d, %q; deploy: exit %d, %q", pcode, finished(t, pout).Result.Reason, dcode, finished(t, dout).Result.Reason)

			// Only a promote that ran before the deploy recorded anything
			// finds no rollout in flight (the last one is promoted).
			if pcode != cli.ExitOK && !(pcode == cli.ExitProvider && strings.Contains(pout, `no rollout in flight (phase \"promoted\")`)) {
				t.Errorf("promote: exit %d, want %d:\n%s", pcode, cli.ExitOK, pout)
			}
			if c.waits && !strings.Contains(pout, "is starting its candidate; waiting") {
				t.Errorf("promote did not wait for the candidate being started:\n%s", pout)
			}
			if dcode != cli.ExitOK && dcode != cli.ExitProvider {
				t.Errorf("deploy: exit %d, want %d (promoted) or %d (lost a race):\n%s", dcode, cli.ExitOK, cli.ExitProvider, dout)
			}
			if ev := finished(t, dout); dcode == cli.ExitOK && ev.Result.Outcome != "promoted" {
				t.Errorf("deploy: exit 0 with outcome %q", ev.Result.Outcome)
			}
			for _, ev := range events(dout) {
				if ev.Type == "rolled_back" {
					t.Errorf("the deploy rolled back:\n%s", dout)
				}
			}
			o := s.status()
			o.mustAgree(t)
			if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhasePromoted || revID(o.st.Stable) != "v2" {
				t.Errorf("status: exit %d, want v2 promoted:\n%s", o.code, o.text)
			}
			s.mustRoute("v2", "", 0)
			s.finish()
		})
	}
}

// TestPauseDuringAShift pauses while the deploy's shift to 50% is slowed by
// two seconds: the weight pause reports, the record's and the proxy's agree,
// the deploy exits paused, and resume promotes.
func TestPauseDuringAShift(t *testing.T) {
	t.Parallel()
	s := newService(t)
	d := s.start("apply.shift.before=sleep(2s)@2", deployArgs("v2", "--steps=10,50,100", "--hold=200ms")...)
	atStep(2)(s, d)
	var paused *event
	pout := s.must(cli.ExitOK, "pause", "--output=json")
	for _, ev := range events(pout) {
		if ev.Type == "paused" {
			paused = &ev
		}
	}
	if paused == nil {
		t.Fatal("pause printed no paused event")
	}
	code, dout := d.wait()
	if code != cli.ExitPaused {
		t.Fatalf("deploy: exit %d, want %d (paused):\n%s", code, cli.ExitPaused, dout)
	}
	for _, ev := range events(dout) {
		if ev.Type == "paused" && ev.Weight != paused.Weight {
			t.Errorf("the deploy says paused at %d%%, the pause said %d%%", ev.Weight, paused.Weight)
		}
	}
	o := s.status()
	o.mustAgree(t)
	if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhasePaused || o.recWeight != paused.Weight {
		t.Errorf("status: exit %d; want paused at the %d%% pause reported:\n%s", o.code, paused.Weight, o.text)
	}
	t.Logf("paused at %d%%", paused.Weight)
	s.mustRoute("v1", "v2", paused.Weight)

	s.must(cli.ExitOK, "resume")
	o = s.status()
	o.mustAgree(t)
	if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhasePromoted || revID(o.st.Stable) != "v2" {
		t.Errorf("status after resume: exit %d, want v2 promoted:\n%s", o.code, o.text)
	}
	s.mustRoute("v2", "", 0)
	s.finish()
}

// slowRecord makes both deploys of a round read the record, then wait two
// seconds before their first write, so both write from the same version
// and the compare-and-set, not the read, picks the one that proceeds.
const slowRecord = "apply.record.before=sleep(2s)@1"

// TestTwoDeploysAtOnce starts two deploys of different versions at the
// same moment, round after round: exactly one proceeds and promotes its own
// version; the other fails at once naming the rollout in flight and never
// starts its candidate.
func TestTwoDeploysAtOnce(t *testing.T) {
	t.Parallel()
	s := newService(t)
	for i, fp := range []string{"", slowRecord, ""} {
		a, b := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		pa := s.start(fp, deployArgs(a, "--steps=50,100", "--hold=2s")...)
		pb := s.start(fp, deployArgs(b, "--steps=50,100", "--hold=2s")...)
		acode, aout := pa.wait()
		bcode, bout := pb.wait()
		if min(acode, bcode) != cli.ExitOK || max(acode, bcode) != cli.ExitProvider {
			t.Fatalf("round %d: exits %d and %d, want one 0 and one %d:\n%s\n%s", i, acode, bcode, cli.ExitProvider, aout, bout)
		}
		winner, loser, lout, wp, lp := a, b, bout, pa, pb
		if acode != cli.ExitOK {
			winner, loser, lout, wp, lp = b, a, aout, pb, pa
		}
		for _, w := range []string{"a rollout is already in flight", "ramp promote or ramp rollback"} {
			if !strings.Contains(lout, w) {
				t.Errorf("round %d: the refused deploy of %s does not say %q:\n%s", i, loser, w, lout)
			}
		}
		if !lp.ended.Before(wp.ended) {
			t.Errorf("round %d: the refused deploy of %s did not end before the one that proceeded", i, loser)
		}
		if _, err := os.Stat(filepath.Join(s.vars["RAMP_STATE_DIR"], loser+".log")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("round %d: the refused deploy started its candidate %s (%v)", i, loser, err)
		}
		o := s.status()
		o.mustAgree(t)
		if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhasePromoted || revID(o.st.Stable) != winner {
			t.Errorf("round %d: status exit %d, want %s promoted:\n%s", i, o.code, winner, o.text)
		}
		s.mustRoute(winner, "", 0)
	}
	s.finish()
}

// TestTwoDeploysAtOnceWithWaitLock starts two deploys with wait-lock at
// the same moment: one proceeds, the other waits for it to end, then
// deploys its own version, which ends stable with the first one kept warm.
func TestTwoDeploysAtOnceWithWaitLock(t *testing.T) {
	t.Parallel()
	s := newService(t)
	for i, fp := range []string{"", slowRecord} {
		a, b := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		pa := s.start(fp, deployArgs(a, "--steps=50,100", "--hold=2s", "--wait-lock=2m")...)
		pb := s.start(fp, deployArgs(b, "--steps=50,100", "--hold=2s", "--wait-lock=2m")...)
		acode, aout := pa.wait()
		bcode, bout := pb.wait()
		if acode != cli.ExitOK || bcode != cli.ExitOK {
			t.Fatalf("round %d: exits %d and %d, want both 0:\n%s\n%s", i, acode, bcode, aout, bout)
		}
		const waiting = "(wait-lock) for it to end"
		first, second := a, b
		if strings.Contains(aout, waiting) {
			first, second = b, a
		}
		if strings.Contains(aout, waiting) == strings.Contains(bout, waiting) {
			t.Errorf("round %d: want exactly one deploy to wait:\n%s\n%s", i, aout, bout)
		}
		o := s.status()
		o.mustAgree(t)
		if o.code != cli.ExitOK || revID(o.st.Stable) != second || revID(o.st.Previous) != first {
			t.Errorf("round %d: status exit %d, want %s promoted after %s:\n%s", i, o.code, second, first, o.text)
		}
		s.mustRoute(second, "", 0)
	}
	s.finish()
}
