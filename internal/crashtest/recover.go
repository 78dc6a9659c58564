package crashtest

import (
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
)

// maxRecoverySteps bounds the commands one recovery runs.
const maxRecoverySteps = 6

// recover is what a user runs after the stop, reading the status before
// each command as `ramp status` shows it:
//
//   - drift whose repair is `ramp repair`: Reconcile;
//   - a rollout progressing with nobody driving it (or left cancelled):
//     Resume, which carries it on as the deploy would have;
//   - a deploy killed before it recorded its candidate (nothing recorded,
//     or recorded and repaired as cut short): the deploy again, as a CI
//     job is re-run;
//   - otherwise (promoted, rolled back, paused): nothing; a pause holds.
//
// It returns the commands run, e.g. ["repair" "resume"].
func (s Suite) recover(t *testing.T, svc *Service, o *outcome, dead providers.Holder, j *journal) []string {
	ctx := t.Context()
	plan, err := o.c.Scenario.plan(s.Interval)
	if err != nil {
		t.Fatal(err)
	}
	var did []string
	rerun := false
	for range maxRecoverySteps {
		p := NewProc(svc.Connect())
		e := s.engineFor(svc, p, finished(dead), j, "recovery")
		st, err := p.Status(ctx)
		if err != nil {
			t.Errorf("recovery: status: %v", err)
			return did
		}
		rec := st.Rollout
		var res engine.Result
		switch {
		case repairable(providers.Diagnose(st, time.Now())):
			did = append(did, "repair")
			if _, err := e.Reconcile(ctx); err != nil {
				t.Errorf("recovery: repair: %v", err)
				return did
			}
			continue
		case rec.Phase == providers.PhaseProgressing || rec.Phase == providers.PhaseCancelled:
			did = append(did, "resume")
			res = e.Resume(ctx, plan)
		case o.killed && !rerun && (rec.ID != rolloutID || rec.Candidate == ""):
			did, rerun = append(did, "deploy again"), true
			res = e.Deploy(ctx, plan, svc.Artifact, providers.Rollout{ID: rolloutID + "-rerun"})
		default:
			return did
		}
		if res.Outcome == engine.OutcomeFailed {
			t.Errorf("recovery: %s failed: %s", did[len(did)-1], res.Reason)
			return did
		}
	}
	t.Errorf("the recovery did not settle after %q", did)
	return did
}

// repairable reports whether status tells the user to run `ramp repair`.
func repairable(ds []providers.Drift) bool {
	for _, d := range ds {
		if d.Repair == providers.RepairCommand {
			return true
		}
	}
	return false
}
