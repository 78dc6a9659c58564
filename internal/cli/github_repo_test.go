package cli_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestMalformedRepositoryTurnsReportingOff deploys, then rolls back, with a
// GITHUB_REPOSITORY that is a local path, as some runners derive it: each
// step warns once, reports nothing to GitHub, and does its work.
func TestMalformedRepositoryTurnsReportingOff(t *testing.T) {
	t.Parallel()
	const repo = "/home/runner/work/shop/shop"
	warning := `GITHUB_REPOSITORY "` + repo + `" is not owner/name: GitHub reporting is off for this run`
	j := newGHJob(t)
	j.firstDeploy(t)
	env := map[string]string{"GITHUB_REPOSITORY": repo}
	steps := []struct {
		name   string
		run    func() ghStep
		exit   int
		result string
	}{
		{"deploy", func() ghStep { return j.deploy(t, ghHeadSHA, 2, env) }, cli.ExitOK, "promoted"},
		{"rollback", func() ghStep { return j.run(t, env, "rollback") }, cli.ExitOK, "rolled_back"},
	}
	for _, st := range steps { // in order: the rollback undoes the deploy
		s := st.run()
		wantExit(t, st.name, s, st.exit)
		if got := parseOutputs(t, s.outputs)["result"]; got != st.result {
			t.Errorf("%s: result output %q, want %q", st.name, got, st.result)
		}
		if diff := cmp.Diff([]string{warning}, warnings(s.stderr)); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s\nstderr:\n%s", st.name, diff, s.stderr)
		}
		if n := strings.Count(s.stdout, "::warning title=ramp::"); n != 1 {
			t.Errorf("%s: %d warning annotations, want 1:\n%s", st.name, n, s.stdout)
		}
		if strings.Contains(s.summary, repo) {
			t.Errorf("%s: the job summary links the malformed repository:\n%s", st.name, s.summary)
		}
	}
	if calls := j.snapshot(t).Calls; len(calls) != 0 {
		t.Errorf("GitHub API calls %q, want none", calls)
	}
}
