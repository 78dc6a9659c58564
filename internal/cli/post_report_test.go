package cli_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCancelledDeployIsReportedOnce cancels a deploy holding at 50% (the
// job was cancelled: exit 6), then runs the action's post step with the
// state the main step saved. The main step reported the cancellation (one
// final commit status, one summary section); the post step adds neither.
// Had the main step died before its reports went out (no STATE_reported),
// the post step reports the cancellation, as the main step ended it.
func TestCancelledDeployIsReportedOnce(t *testing.T) {
	t.Parallel()
	const rolledBack = "canary cancelled at 50%; all traffic is back on the stable revision"
	cases := []struct {
		onCancel   string
		phase      providers.Phase
		status     string // the main step's last commit status (error)
		unreported bool   // the post step finds no STATE_reported
		postStatus string // and sends this one (error)
	}{
		{onCancel: "rollback", phase: providers.PhaseRolledBack, status: rolledBack},
		{onCancel: "leave", phase: providers.PhaseCancelled, status: "canary cancelled; traffic left at 50%"},
		{onCancel: "rollback", phase: providers.PhaseRolledBack, status: rolledBack, unreported: true,
			postStatus: "rollout cancelled; traffic left at 0%"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s, reported %v", tc.onCancel, !tc.unreported), func(t *testing.T) {
			t.Parallel()
			j := newGHJob(t)
			j.firstDeploy(t)
			main := j.cancelledDeploy(t, tc.onCancel)
			if st := j.status(t); st.Rollout.Phase != tc.phase {
				t.Fatalf("after the cancelled deploy the rollout is %s (%s), want %s; the deploy said:\n%s", st.Rollout.Phase,
					st.Rollout.Reason, tc.phase, main.stdout)
			}
			before := j.snapshot(t)
			final := before.Statuses[len(before.Statuses)-1]
			if final.State != "error" || final.Description != tc.status {
				t.Errorf("the main step's last commit status is %s %q, want error %q", final.State, final.Description, tc.status)
			}
			if n := strings.Count(main.summary, "## Rollout of `web`"); n != 1 {
				t.Errorf("the main step's summary has %d sections, want 1:\n%s", n, main.summary)
			}

			env := map[string]string{"INPUT_ON-CANCEL": tc.onCancel}
			for k, v := range parseOutputs(t, main.state) {
				env["STATE_"+k] = v
			}
			if env["STATE_finished"] != "cancelled" || env["STATE_reported"] != "cancelled" {
				t.Fatalf("the main step saved %v, want finished and reported cancelled", env)
			}
			if tc.unreported {
				delete(env, "STATE_reported")
			}
			post := j.run(t, env, "post")
			wantExit(t, "post", post, cli.ExitOK)
			got := j.snapshot(t)
			newStatuses := got.Statuses[len(before.Statuses):]
			if !tc.unreported {
				if !strings.Contains(post.stdout, "the main step was cancelled and reported it") || post.summary != "" || len(newStatuses) != 0 {
					t.Errorf("post reported again: statuses %v, summary %q, stdout:\n%s", newStatuses, post.summary, post.stdout)
				}
				if diff := cmp.Diff(before.Deployments, got.Deployments); diff != "" {
					t.Errorf("post changed the deployments (-before +after):\n%s", diff)
				}
				return
			}
			if len(newStatuses) != 1 || newStatuses[0].State != "error" || newStatuses[0].Description != tc.postStatus {
				t.Errorf("post sent statuses %v, want one: error %q", newStatuses, tc.postStatus)
			}
		})
	}
}

// cancelledDeploy deploys v2 of ghHeadSHA with on-cancel as one step of
// the job, cancels it once it holds at 50%, and returns the step, which
// must have exited with the cancelled code.
func (j *ghJob) cancelledDeploy(t *testing.T, onCancel string) ghStep {
	t.Helper()
	j.steps++
	dir := filepath.Join(j.dir, fmt.Sprintf("step%d", j.steps))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := maps.Clone(j.base)
	maps.Copy(vars, map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_STATE": filepath.Join(dir, "state"), "GITHUB_SHA": ghHeadSHA, "INPUT_REVISION": "v2", "INPUT_ENV": "SAMPLE_VERSION=v2",
		"INPUT_HOLD": "10m", "INPUT_ON-CANCEL": onCancel})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type ended struct {
		code           int
		stdout, stderr string
	}
	done := make(chan ended, 1)
	go func() {
		code, stdout, stderr := rampCtx(ctx, vars, "deploy")
		done <- ended{code, stdout, stderr}
	}()
	deadline := time.Now().Add(stepTimeout)
	for st := j.status(t); st.Rollout.Phase != providers.PhaseProgressing || st.Weight != 50; st = j.status(t) {
		if time.Now().After(deadline) {
			t.Fatalf("the deploy never held at 50%%: %s at %d%%", st.Rollout.Phase, st.Weight)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	e := <-done
	s := ghStep{code: e.code, stdout: e.stdout, stderr: e.stderr, outputs: readOptional(t, vars["GITHUB_OUTPUT"]),
		summary: readOptional(t, vars["GITHUB_STEP_SUMMARY"]), state: readOptional(t, vars["GITHUB_STATE"])}
	wantExit(t, "cancelled deploy", s, cli.ExitCancelled)
	noToken(t, map[string]string{"stdout": unmasked(s.stdout), "stderr": unmasked(s.stderr), "the summary": s.summary})
	if !strings.Contains(s.stdout, "::add-mask::"+ghubtest.Token) {
		t.Errorf("the cancelled deploy did not mask the token:\n%s", s.stdout)
	}
	return s
}
