//go:build unix

package cli_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
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

// releaseFile returns a path for a wait(path) failpoint, and release, which
// creates the file and so lets the process held there go on.
func releaseFile(t *testing.T) (path string, release func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "release")
	return path, func() {
		t.Helper()
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// firstToEnd waits until one of ps has ended and returns it.
func firstToEnd(t *testing.T, ps ...*proc) *proc {
	t.Helper()
	timeout := time.After(procTimeout)
	for {
		for _, p := range ps {
			if p.exited() {
				return p
			}
		}
		select {
		case <-timeout:
			t.Fatalf("none of %d processes ended within %s", len(ps), procTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// anyPrints waits until one of ps prints an event for which match is true.
func anyPrints(t *testing.T, what string, match func(event) bool, ps ...*proc) {
	t.Helper()
	timeout := time.After(procTimeout)
	for {
		for _, p := range ps {
			p.mu.Lock()
			out := strings.Join(p.lines, "\n")
			p.mu.Unlock()
			if slices.ContainsFunc(events(out), match) {
				return
			}
		}
		select {
		case <-timeout:
			t.Fatalf("no process printed %s within %s", what, procTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitLockWarning matches the warning of a deploy that waits (wait-lock)
// for the rollout in flight to end.
func waitLockWarning(ev event) bool {
	return ev.Type == "warning" && strings.Contains(ev.Message, "(wait-lock) for it to end")
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
// it cannot win) and never rolls back; all the traffic ends on v2. Every
// order of the writes passes, so the sleeps only make some orders likelier;
// the case that must see the deploy starting its candidate holds the deploy
// there (wait) until the promote has seen it, on however slow a machine.
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
		{"promote while the candidate starts", "deploy.after=wait(RELEASE)", "3s", startingCandidate, true},
		{"promote issued 0.1s into the deploy", "", "200ms", func(*service, *proc) { time.Sleep(100 * time.Millisecond) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			path, release := releaseFile(t)
			d := s.start(strings.ReplaceAll(c.deployFP, "RELEASE", path), deployArgs("v2", "--steps=10,50,100", "--hold="+c.hold)...)
			c.when(s, d)
			var pcode int
			var pout string
			if c.waits { // the deploy is held with its candidate started until the promote waits for it
				pr := s.start("", "promote", "--output=json")
				pr.waitFor("the wait for the candidate", func(ev event) bool {
					return ev.Type == "warning" && strings.Contains(ev.Message, "is starting its candidate; waiting")
				})
				release()
				pcode, pout = pr.wait()
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

// TestPauseDuringAShift pauses while the deploy's shift to 50% is held
// (until the pause is done): the weight pause reports, the record's and the
// proxy's agree, the deploy exits paused, and resume promotes.
func TestPauseDuringAShift(t *testing.T) {
	t.Parallel()
	s := newService(t)
	path, release := releaseFile(t)
	d := s.start("apply.shift.before=wait("+path+")@2", deployArgs("v2", "--steps=10,50,100", "--hold=200ms")...)
	atStep(2)(s, d)
	var paused *event
	pout := s.must(cli.ExitOK, "pause", "--output=json")
	release()
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
// starts its candidate. The one that proceeds is held before it promotes
// until the other has ended, so a slow start of either cannot let both
// proceed one after the other.
func TestTwoDeploysAtOnce(t *testing.T) {
	t.Parallel()
	s := newService(t)
	for i, fp := range []string{"", slowRecord, ""} {
		a, b := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		path, release := releaseFile(t)
		fp = strings.TrimPrefix(fp+";apply.promote.before=wait("+path+")", ";")
		pa := s.start(fp, deployArgs(a, "--steps=50,100", "--hold=2s")...)
		pb := s.start(fp, deployArgs(b, "--steps=50,100", "--hold=2s")...)
		firstToEnd(t, pa, pb)
		release()
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
// The one that proceeds is held before it promotes until the other says it
// waits.
func TestTwoDeploysAtOnceWithWaitLock(t *testing.T) {
	t.Parallel()
	s := newService(t)
	for i, fp := range []string{"", slowRecord} {
		a, b := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		path, release := releaseFile(t)
		fp = strings.TrimPrefix(fp+";apply.promote.before=wait("+path+")", ";")
		pa := s.start(fp, deployArgs(a, "--steps=50,100", "--hold=2s", "--wait-lock=2m")...)
		pb := s.start(fp, deployArgs(b, "--steps=50,100", "--hold=2s", "--wait-lock=2m")...)
		anyPrints(t, "the wait-lock warning", waitLockWarning, pa, pb)
		release()
		acode, aout := pa.wait()
		bcode, bout := pb.wait()
		if acode != cli.ExitOK || bcode != cli.ExitOK {
			t.Fatalf("round %d: exits %d and %d, want both 0:\n%s\n%s", i, acode, bcode, aout, bout)
		}
		const waiting = "(wait-lock) for it to end" // see waitLockWarning
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
