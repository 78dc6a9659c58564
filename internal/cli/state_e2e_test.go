//go:build unix

package cli_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers"
)

// TestKilledBetweenShiftAndRecord kills the deploy right after the agent
// made its k-th shift, before the process could use the answer: the
// record and the split must agree (both are one write), status must call
// the rollout orphaned only, and resume must take it over at once and
// promote.
func TestKilledBetweenShiftAndRecord(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		k      string
		weight int
	}{{"1", 10}, {"2", 50}} {
		t.Run("shift "+c.k, func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			const point = "apply.shift.after"
			s.start(point+"=kill@"+c.k, deployArgs("v2", "--steps=10,50,100")...).mustBeKilled(point)

			o := s.status()
			o.mustAgree(t)
			if o.code != cli.ExitDrift || !slices.Equal(o.drifts(), []string{string(providers.DriftOrphaned)}) {
				t.Errorf("status: exit %d, drift %v; want exit %d for an orphaned rollout only:\n%s", o.code, o.drifts(), cli.ExitDrift, o.text)
			}
			if o.recWeight != c.weight || o.st.Rollout.Phase != providers.PhaseProgressing || !strings.Contains(o.text, "ramp resume, ramp promote or ramp rollback") || !strings.Contains(o.text, "which held it, is gone") {
				t.Errorf("status after the kill at shift %s: want progressing at %d%%, its driver gone, with resume, promote or rollback as the repair:\n%s", c.k, c.weight, o.text)
			}
			s.mustRoute("v1", "v2", c.weight)

			before := o.st.Rollout.Version
			if out, o := s.repairOut(), s.status(); o.st.Rollout.Version != before || o.code != cli.ExitDrift {
				t.Errorf("repair changed an orphaned rollout it must leave to a decision (version %d to %d, status exit %d):\n%s",
					before, o.st.Rollout.Version, o.code, out)
			}

			start := time.Now()
			out := s.must(cli.ExitOK, "resume")
			t.Logf("resume took over the orphaned rollout and promoted in %s", time.Since(start).Round(10*time.Millisecond))
			if strings.Contains(out, "driven by") {
				t.Errorf("resume waited for or named the dead driver:\n%s", out)
			}
			o = s.status()
			o.mustAgree(t)
			if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhasePromoted || revID(o.st.Stable) != "v2" {
				t.Errorf("status after resume: exit %d, want v2 promoted:\n%s", o.code, o.text)
			}
			s.mustRoute("v2", "", 0)
			s.finish()
		})
	}
}

// repairOut runs `ramp repair`, which exits 7 while drift remains.
func (s *service) repairOut() string {
	s.t.Helper()
	code, out, stderr := ramp(s.t, s.vars, "repair")
	if code != cli.ExitOK && code != cli.ExitDrift {
		s.t.Fatalf("repair: exit %d:\n%s\n%s", code, out, stderr)
	}
	return out + stderr
}

// TestKilledAfterPromoteBeforeRecord kills the deploy right after the agent
// promoted: the promotion and its record are one write, so status shows it
// promoted with nothing to repair, and a rollback inside the rollback
// window goes back to the previous version.
func TestKilledAfterPromoteBeforeRecord(t *testing.T) {
	t.Parallel()
	s := newService(t)
	const point = "apply.promote.after"
	s.start(point+"=kill", deployArgs("v2", "--steps=10,50,100")...).mustBeKilled(point)

	o := s.status()
	o.mustAgree(t)
	if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhasePromoted || revID(o.st.Stable) != "v2" || revID(o.st.Previous) != "v1" {
		t.Errorf("status after the kill: exit %d, want v2 promoted with v1 kept warm:\n%s", o.code, o.text)
	}
	s.mustRoute("v2", "", 0)

	s.must(cli.ExitOK, "rollback")
	o = s.status()
	o.mustAgree(t)
	if o.code != cli.ExitOK || o.st.Rollout.Phase != providers.PhaseRolledBack || revID(o.st.Stable) != "v1" {
		t.Errorf("status after the rollback: exit %d, want v1 stable again:\n%s", o.code, o.text)
	}
	s.mustRoute("v1", "", 0)

	s.must(cli.ExitOK, deployArgs("v3")...)
	s.mustRoute("v3", "", 0)
	s.finish()
}

// TestKilledAfterDeployBeforeRecord kills the deploy once its candidate
// started and before the record names it. Status reports the interrupted
// deploy; then either a rollback retires the candidate and leaves the
// stable version serving (no record may claim the stable was rolled back)
// and a new deploy works, or a resume adopts the candidate and promotes it.
func TestKilledAfterDeployBeforeRecord(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		then    func(s *service)
		serving string
	}{
		{"rollback", func(s *service) { s.must(cli.ExitOK, "rollback") }, "v1"},
		{"resume", func(s *service) { s.must(cli.ExitOK, "resume") }, "v2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			const point = "deploy.after"
			s.start(point+"=kill", deployArgs("v2", "--steps=10,50,100")...).mustBeKilled(point)

			o := s.status()
			if o.code != cli.ExitDrift || !slices.Equal(o.drifts(), []string{string(providers.DriftInterrupted)}) ||
				!strings.Contains(o.text, "did not record its candidate") {
				t.Errorf("status: exit %d, drift %v; want the interrupted deploy (exit %d):\n%s", o.code, o.drifts(), cli.ExitDrift, o.text)
			}
			if revID(o.st.Stable) != "v1" || o.weight != 0 {
				t.Errorf("status: the stable version or the split moved:\n%s", o.text)
			}
			s.mustRoute("v1", "", 0)

			c.then(s)
			o = s.status()
			o.mustAgree(t)
			if o.code != cli.ExitOK || revID(o.st.Stable) != c.serving || o.st.Candidate != nil {
				t.Errorf("status after %s: exit %d, want %s serving alone:\n%s", c.name, o.code, c.serving, o.text)
			}
			if c.serving == "v1" && (o.st.Rollout.Phase != providers.PhaseRolledBack || o.st.Rollout.Candidate != "v2") {
				t.Errorf("the record after the rollback should say v2 was rolled back:\n%s", o.text)
			}
			s.mustRoute(c.serving, "", 0)

			if c.serving == "v1" {
				s.must(cli.ExitOK, deployArgs("v3", "--steps=50,100")...)
				s.mustRoute("v3", "", 0)
			}
			s.finish()
		})
	}
}
