package cli_test

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/ghub"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestPRCommentCommands pauses a canary of ghHeadSHA at 20% and answers a
// `/ramp` comment on a pull request as the PR comment workflow does:
// `ramp comment` on an issue_comment event. Only a writer commenting on the
// pull request whose head was deployed may act; anyone else is refused
// politely and nothing changes, on the provider or on GitHub.
func TestPRCommentCommands(t *testing.T) {
	t.Parallel()
	rolledBack := "rollout rolled back from 20%: rolled back by @alice (PR comment)"
	cases := []struct {
		name      string
		fixture   string // in testdata/github
		result    string // the result output: done or refused
		reason    string // the summary output
		reactions []string
		calls     []string // the calls `ramp comment` makes, in order
		statuses  []ghubtest.Status
		deploy    []ghubtest.DeploymentStatus // added to the paused rollout's deployment
		reply     string                      // golden file of the reply
		changed   bool                        // the rollout was rolled back (v1 stable, 0%, the outputs say so); else nothing changed
	}{{
		name:      "a writer rolls back",
		fixture:   "writer-rollback.json",
		result:    "done",
		reason:    "rolled_back: rolled back by @alice (PR comment)",
		reactions: []string{"eyes", "rocket"},
		calls: []string{
			repoCall("POST", "issues/comments/2001/reactions"),
			repoCall("GET", "collaborators/alice/permission"),
			repoCall("GET", "pulls/42"),
			// The command reports on the paused rollout's commit and deployment.
			repoCall("GET", "deployments?environment=production&per_page=50&sha="+ghHeadSHA),
			repoCall("POST", "statuses/"+ghHeadSHA),
			repoCall("POST", "deployments/1001/statuses"),
			// A command rolling back may undo a promotion: is a deployment to restore?
			repoCall("GET", "deployments?environment=production&per_page=50"),
			repoCall("POST", "issues/comments/2001/reactions"),
			repoCall("POST", "issues/42/comments"),
		},
		statuses: []ghubtest.Status{commitStatus(ghHeadSHA, "failure", rolledBack)},
		deploy:   []ghubtest.DeploymentStatus{deploymentStatus("failure", rolledBack, "")},
		reply:    "comment_writer_rollback.golden",
		changed:  true,
	}, {
		name:      "a read-only user may not promote",
		fixture:   "reader-promote.json",
		result:    "refused",
		reason:    "only users with write access can promote; @rob has read access to acme/shop",
		reactions: []string{"eyes", "-1"},
		calls: []string{
			repoCall("POST", "issues/comments/2002/reactions"),
			repoCall("GET", "collaborators/rob/permission"),
			repoCall("POST", "issues/comments/2002/reactions"),
			repoCall("POST", "issues/42/comments"),
		},
		reply: "comment_reader_promote.golden",
	}, {
		name:      "a writer may not promote from another pull request",
		fixture:   "writer-promote.json",
		result:    "refused",
		reason:    "the rollout in flight was deployed from def5678, not this PR's head 1111111",
		reactions: []string{"eyes", "-1"},
		calls: []string{
			repoCall("POST", "issues/comments/2003/reactions"),
			repoCall("GET", "collaborators/alice/permission"),
			repoCall("GET", "pulls/43"),
			repoCall("POST", "issues/comments/2003/reactions"),
			repoCall("POST", "issues/43/comments"),
		},
		reply: "comment_other_head.golden",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := newGHJob(t)
			j.firstDeploy(t)
			paused := j.deploy(t, ghHeadSHA, 2, nil, "--steps=20,pause,100")
			wantExit(t, "paused deploy", paused, cli.ExitPaused)

			event := filepath.Join("..", "..", "testdata", "github", tc.fixture)
			ev, err := ghub.ReadCommentEvent(event)
			if err != nil {
				t.Fatal(err)
			}
			f := j.fake
			f.SetPermission("alice", ghubtest.RoleWrite)
			f.SetPermission("rob", ghubtest.RoleRead)
			f.SetPull(42, ghHeadSHA, ghubtest.Repo, ghubtest.Repo)
			f.SetPull(43, ghOtherSHA, ghubtest.Repo, ghubtest.Repo)
			f.SeedComment(ev.GetIssue().GetNumber(), ev.GetComment().GetID(), ev.GetComment().GetUser().GetLogin(), ev.GetComment().GetBody())
			before, stBefore := j.snapshot(t), j.status(t)
			if stBefore.Rollout.Phase != providers.PhasePaused || stBefore.Weight != 20 || stBefore.Rollout.Commit != ghHeadSHA {
				t.Fatalf("before the comment: %s at %d%% from %s, want paused at 20%% from %s",
					stBefore.Rollout.Phase, stBefore.Weight, stBefore.Rollout.Commit, ghHeadSHA)
			}

			s := j.run(t, map[string]string{"GITHUB_EVENT_NAME": "issue_comment", "GITHUB_EVENT_PATH": event,
				"GITHUB_SHA": ghMainSHA, "GITHUB_ACTOR": ev.GetSender().GetLogin(), "INPUT_LISTEN": ""}, "comment")
			wantExit(t, "ramp comment", s, cli.ExitOK)

			got := j.snapshot(t)
			if diff := cmp.Diff(tc.calls, got.Calls[len(before.Calls):]); diff != "" {
				t.Errorf("GitHub API calls of ramp comment (-want +got):\n%s", diff)
			}
			var reactions []ghubtest.Reaction
			for _, r := range tc.reactions {
				reactions = append(reactions, ghubtest.Reaction{Comment: ev.GetComment().GetID(), Content: r})
			}
			if diff := cmp.Diff(reactions, got.Reactions); diff != "" {
				t.Errorf("reactions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.statuses, got.Statuses[len(before.Statuses):], cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("commit statuses of ramp comment (-want +got):\n%s", diff)
			}
			wantDeployments := before.Deployments
			if len(wantDeployments) != 1 {
				t.Fatalf("deployments before the comment: %v, want the paused rollout's", wantDeployments)
			}
			wantDeployments[0].Statuses = append(wantDeployments[0].Statuses, tc.deploy...)
			if diff := cmp.Diff(wantDeployments, got.Deployments); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
			if len(got.Comments) != 1 || got.Comments[0].Issue != ev.GetIssue().GetNumber() {
				t.Fatalf("replies %v, want one on #%d", got.Comments, ev.GetIssue().GetNumber())
			}
			golden(t, tc.reply, j.normalize(got.Comments[0].Body))
			wantOutputs := map[string]string{"result": tc.result, "summary": tc.reason}
			if tc.changed {
				maps.Copy(wantOutputs, map[string]string{"stable": "v1", "candidate": "", "weight": "0", "url": "http://" + j.listen})
			}
			if diff := cmp.Diff(wantOutputs, parseOutputs(t, s.outputs)); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			if w := warnings(s.stderr); len(w) != 0 {
				t.Errorf("warnings %q", w)
			}

			st := j.status(t)
			if !tc.changed {
				if diff := cmp.Diff(stBefore, st); diff != "" {
					t.Errorf("the refused command changed the service (-before +after):\n%s", diff)
				}
				return
			}
			if st.Rollout.Phase != providers.PhaseRolledBack || st.Weight != 0 || st.Candidate != nil ||
				st.Stable == nil || st.Stable.ID != "v1" || !strings.Contains(st.Rollout.Reason, "@alice") {
				t.Errorf("after the rollback: %s at %d%%, stable %v, candidate %v, reason %q; want rolled back to v1 by @alice",
					st.Rollout.Phase, st.Weight, st.Stable, st.Candidate, st.Rollout.Reason)
			}
		})
	}
}
