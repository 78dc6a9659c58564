package crashtest

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
)

// rolloutID is the ID of the rollout every case deploys.
const rolloutID = "r1"

// outcome is what one case saw, for the checks and the summary.
type outcome struct {
	c Case
	// stopped: the stop was reached; killed: the deploy process was killed.
	stopped, killed bool
	// decided is the phase the command from another process decided, or
	// PhaseNone when it was refused (or the mode runs none).
	decided providers.Phase
	// drift is what status showed after the stop; recovery what was run.
	drift    []providers.Drift
	recovery []string
}

// runCase runs one case and checks it; it returns the deploy process's
// calls.
func (s Suite) runCase(t *testing.T, c Case, dead providers.Holder, st *stats) []Call {
	t.Helper()
	ctx := t.Context()
	svc := s.Service(t, c.Scenario)
	plan, err := c.Scenario.plan(s.Interval)
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("CRASHTEST_JOURNAL") != "" {
			t.Logf("case %s at call %q:%s", c, c.At, j)
		}
	})
	// The deploy process is seen by another process while it runs only
	// in the command modes; then its PID must be alive until it returns.
	holder, exit := finished(dead), func() {}
	if c.Mode != Kill {
		holder, exit = standIn(t)
	}
	drv := NewProc(svc.Connect())
	if svc.OnWrite != nil {
		svc.OnWrite(drv.Tap)
	}
	o := outcome{c: c}
	settle := func() {} // waits for the command from another process
	switch c.Mode {
	case Uninterrupted:
	case Kill:
		drv.Stop(c.K, c.When, nil)
	default:
		other := s.engineFor(svc, NewProc(svc.Connect()), finished(dead), j, "other process")
		done := make(chan struct{})
		drv.Stop(c.K, c.When, func() {
			go func() {
				defer close(done)
				res, decided := c.Mode.command(ctx, other)
				o.decided = decided
				j.add("other process: %s %s call %d: %s (%s)", c.Mode, c.When, c.K, res.Outcome, res.Reason)
			}()
			_, at := drv.Stopped()
			s.hold(at, done)
		})
		settle = func() {
			if stopped, _ := drv.Stopped(); stopped {
				<-done
			}
		}
	}
	res, ended := drive(func() engine.Result {
		return s.engineFor(svc, drv, holder, j, "deploy").Deploy(ctx, plan, svc.Artifact, providers.Rollout{ID: rolloutID})
	})
	exit()
	settle()
	stopped, at := drv.Stopped()
	o.stopped, o.killed = stopped, !ended
	if ended {
		j.add("deploy: returned %s (%s)", res.Outcome, res.Reason)
	} else {
		j.add("deploy: killed %s call %d (%q)", c.When, c.K, at)
	}
	if stopped && at != c.At {
		j.add("note: call %d was %q in this run, %q in the uninterrupted one", c.K, at, c.At)
	}
	if late := drv.Late(); len(late) > 0 {
		j.add("deploy: after the kill, %d more calls ended their goroutine: %q", len(late), late)
	}
	if c.Mode == Uninterrupted && res.Outcome != outcomeOf(c.Scenario.End) {
		t.Errorf("the uninterrupted rollout ended %s (%s), want %s", res.Outcome, res.Reason, c.Scenario.End)
	}
	s.afterStop(t, svc, &o, dead, j)
	st.add(o)
	if svc.Check != nil {
		svc.Check(t)
	}
	return drv.Calls()
}

// afterStop is the new process: status, the check that it reports what
// disagrees, the recovery, and the checks of the end state.
func (s Suite) afterStop(t *testing.T, svc *Service, o *outcome, dead providers.Holder, j *journal) {
	ctx := t.Context()
	l := providers.Lease{Holder: dead, Until: time.Now().Add(time.Hour)}
	if alive, _ := l.Alive(time.Now()); alive {
		t.Fatalf("pid %d, standing for finished processes, was reused; run again", dead.PID)
	}
	obs := svc.Connect()
	st, err := obs.Status(ctx)
	if err != nil {
		t.Fatalf("status after the stop: %v", err)
	}
	o.drift = providers.Diagnose(st, time.Now())
	j.add("status: %s", describe(st, o.drift))
	found := Disagreements(st)
	switch {
	case len(found) > 0 && len(o.drift) == 0:
		t.Errorf("status shows no drift, but %q", found)
	case len(found) == 0 && len(o.drift) > 0:
		t.Errorf("status shows drift %s, but the record and the platform agree", kinds(o.drift))
	}
	for _, d := range o.drift {
		if d.Repair == "" || d.Detail == "" {
			t.Errorf("drift %s names no repair or no detail: %+v", d.Kind, d)
		}
	}
	o.recovery = s.recover(t, svc, o, dead, j)
	end, err := obs.Status(ctx)
	if err != nil {
		t.Fatalf("status after the recovery: %v", err)
	}
	j.add("end: %s", describe(end, nil))
	if ds := providers.Diagnose(end, time.Now()); len(ds) > 0 {
		t.Errorf("after the recovery (%q) status still shows drift %s: %s", o.recovery, kinds(ds), ds[0].Detail)
	}
	if found := Disagreements(end); len(found) > 0 {
		t.Errorf("after the recovery (%q) %q", o.recovery, found)
	}
	want, why := o.c.Scenario.End, "the deploy, uninterrupted"
	if o.decided != providers.PhaseNone {
		want, why = o.decided, string(o.c.Mode)+" from another process, which succeeded"
	}
	cand := svc.Candidate
	if cand == "" {
		cand = svc.Artifact.Revision
	}
	if svc.Renames && end.Rollout.Candidate != "" && slices.Contains(o.recovery, "deploy again") {
		cand = end.Rollout.Candidate
	}
	for _, p := range CheckEnd(end, Want{Phase: want, Stable: svc.Stable, Candidate: cand,
		PauseWeight: o.c.Scenario.PauseWeight, Natural: o.decided == providers.PhaseNone,
		NoPrevious: svc.NoPrevious || o.c.Scenario.rolling()}) {
		t.Errorf("end state (as decided by %s; recovery %q): %s", why, o.recovery, p)
	}
}

// outcomeOf is the engine outcome that ends a rollout in phase p.
func outcomeOf(p providers.Phase) engine.Outcome {
	return map[providers.Phase]engine.Outcome{providers.PhasePromoted: engine.OutcomePromoted,
		providers.PhaseRolledBack: engine.OutcomeRolledBack, providers.PhasePaused: engine.OutcomePaused}[p]
}
