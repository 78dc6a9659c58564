package ghubtest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
)

const sha = "def5678aaaabbbbccccddddeeeeffff000011112"

// answer is the HTTP status and GitHub message of a call's error; 0 and ""
// for success.
func answer(t *testing.T, err error) (int, string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	e, ok := errors.AsType[*github.ErrorResponse](err)
	if !ok {
		t.Fatalf("not an API error: %v", err)
	}
	msg := e.Message
	if len(e.Errors) > 0 {
		msg += ": " + e.Errors[0].Message
	}
	return e.Response.StatusCode, msg
}

// TestRejectsWhatGitHubRejects sends requests GitHub refuses, each next to
// one it takes.
func TestRejectsWhatGitHubRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(f *ghubtest.Fake)
		call  func(ctx context.Context, c *github.Client) error
		code  int
		msg   string
	}{{
		name: "a commit status",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{State: github.Ptr("pending"),
				Description: github.Ptr(strings.Repeat("é", 140)), Context: github.Ptr("ramp/web")})
			return err
		},
	}, {
		name: "an unknown commit status state",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{State: github.Ptr("in_progress")})
			return err
		},
		code: 422, msg: `Validation Failed: state is not included in the list: "in_progress"`,
	}, {
		name: "a commit status without a state",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{Description: github.Ptr("x")})
			return err
		},
		code: 422, msg: "Validation Failed: state is missing",
	}, {
		name: "a commit status description of 141 characters",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{State: github.Ptr("success"),
				Description: github.Ptr(strings.Repeat("é", 141))})
			return err
		},
		code: 422, msg: "Validation Failed: description is too long (maximum is 140 characters)",
	}, {
		name: "a commit status on something that is not a SHA",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha+"2", &github.RepoStatus{State: github.Ptr("success")})
			return err
		},
		code: 422, msg: "Validation Failed: No commit found for SHA: " + sha + "2",
	}, {
		name: "a deployment without a ref",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeployment(ctx, "acme", "shop", &github.DeploymentRequest{Environment: github.Ptr("production")})
			return err
		},
		code: 422, msg: "Validation Failed: ref is missing",
	}, {
		name: "a deployment of a commit whose checks are pending",
		setup: func(f *ghubtest.Fake) {
			_, _, err := f.Client().Repositories.CreateStatus(context.Background(), "acme", "shop", sha,
				&github.RepoStatus{State: github.Ptr("pending"), Context: github.Ptr("ci")})
			if err != nil {
				panic(err)
			}
		},
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeployment(ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.Ptr(sha)})
			return err
		},
		code: 409, msg: "Conflict: Commit status checks failed for " + sha + ".",
	}, {
		name: "a deployment of a commit whose checks are pending, none required",
		setup: func(f *ghubtest.Fake) {
			_, _, _ = f.Client().Repositories.CreateStatus(context.Background(), "acme", "shop", sha,
				&github.RepoStatus{State: github.Ptr("pending"), Context: github.Ptr("ci")})
		},
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeployment(ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.Ptr(sha),
				RequiredContexts: &[]string{}, Payload: `{"tool":"ramp"}`})
			return err
		},
	}, {
		name:  "a deployment status",
		setup: func(f *ghubtest.Fake) { f.SeedDeployment("production", sha) },
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "shop", 1001, &github.DeploymentStatusRequest{
				State: github.Ptr("in_progress"), EnvironmentURL: github.Ptr("https://web.example.com")})
			return err
		},
	}, {
		name:  "an unknown deployment status state",
		setup: func(f *ghubtest.Fake) { f.SeedDeployment("production", sha) },
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "shop", 1001, &github.DeploymentStatusRequest{State: github.Ptr("done")})
			return err
		},
		code: 422, msg: `Validation Failed: state is not included in the list: "done"`,
	}, {
		name:  "a deployment status description of 141 characters",
		setup: func(f *ghubtest.Fake) { f.SeedDeployment("production", sha) },
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "shop", 1001, &github.DeploymentStatusRequest{
				State: github.Ptr("failure"), Description: github.Ptr(strings.Repeat("x", 141))})
			return err
		},
		code: 422, msg: "Validation Failed: description is too long (maximum is 140 characters)",
	}, {
		name: "a status of an unknown deployment",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "shop", 1001, &github.DeploymentStatusRequest{State: github.Ptr("success")})
			return err
		},
		code: 404, msg: "Not Found",
	}, {
		name:  "a blank comment",
		setup: func(f *ghubtest.Fake) { f.SetPull(42, sha, "", "") },
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Issues.CreateComment(ctx, "acme", "shop", 42, &github.IssueComment{Body: github.Ptr(" \n")})
			return err
		},
		code: 422, msg: "Validation Failed: body can't be blank",
	}, {
		name: "a comment on an unknown pull request",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Issues.CreateComment(ctx, "acme", "shop", 42, &github.IssueComment{Body: github.Ptr("hi")})
			return err
		},
		code: 404, msg: "Not Found",
	}, {
		name:  "a reaction",
		setup: func(f *ghubtest.Fake) { f.SeedComment(42, 2001, "alice", "/ramp status") },
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Reactions.CreateIssueCommentReaction(ctx, "acme", "shop", 2001, "eyes")
			return err
		},
	}, {
		name:  "an unknown reaction",
		setup: func(f *ghubtest.Fake) { f.SeedComment(42, 2001, "alice", "/ramp status") },
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Reactions.CreateIssueCommentReaction(ctx, "acme", "shop", 2001, "thumbsup")
			return err
		},
		code: 422, msg: `Validation Failed: content is not included in the list: "thumbsup"`,
	}, {
		name: "a reaction to an unknown comment",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Reactions.CreateIssueCommentReaction(ctx, "acme", "shop", 2001, "eyes")
			return err
		},
		code: 404, msg: "Not Found",
	}, {
		name: "another repository",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "other", sha, &github.RepoStatus{State: github.Ptr("success")})
			return err
		},
		code: 404, msg: "Not Found",
	}, {
		name: "an unknown pull request",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.PullRequests.Get(ctx, "acme", "shop", 7)
			return err
		},
		code: 404, msg: "Not Found",
	}, {
		name: "an endpoint the fake does not serve",
		call: func(ctx context.Context, c *github.Client) error {
			_, _, err := c.Repositories.Get(ctx, "acme", "shop")
			return err
		},
		code: 404, msg: "Not Found",
	}, {
		name: "a wrong token",
		call: func(ctx context.Context, c *github.Client) error {
			wrong := github.NewClient(nil).WithAuthToken("ghs_wrong")
			wrong.BaseURL = c.BaseURL
			_, _, err := wrong.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{State: github.Ptr("success")})
			return err
		},
		code: 401, msg: "Bad credentials",
	}, {
		name: "no token",
		call: func(ctx context.Context, c *github.Client) error {
			anonymous := github.NewClient(nil)
			anonymous.BaseURL = c.BaseURL
			_, _, err := anonymous.PullRequests.Get(ctx, "acme", "shop", 42)
			return err
		},
		code: 401, msg: "Requires authentication",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			code, msg := answer(t, tc.call(t.Context(), f.Client()))
			if code != tc.code || msg != tc.msg {
				t.Errorf("answered %d %q, want %d %q", code, msg, tc.code, tc.msg)
			}
		})
	}
}

func TestRecordsCalls(t *testing.T) {
	t.Parallel()
	f := ghubtest.New(t)
	c := f.Client()
	ctx := t.Context()
	old := f.SeedDeployment("production", "abc1234", "success")
	d, _, err := c.Repositories.CreateDeployment(ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.Ptr(sha),
		Task: github.Ptr("deploy"), Environment: github.Ptr("production"), Description: github.Ptr("canary"),
		RequiredContexts: &[]string{}, AutoMerge: github.Ptr(false), Payload: map[string]string{"tool": "ramp"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "shop", d.GetID(), &github.DeploymentStatusRequest{
		State: github.Ptr("success"), EnvironmentURL: github.Ptr("https://web.example.com")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{State: github.Ptr("success"),
		Description: github.Ptr("promoted"), Context: github.Ptr("ramp/web"), TargetURL: github.Ptr("https://ci.example.com/1")}); err != nil {
		t.Fatal(err)
	}
	f.SetPull(42, sha, "", "")
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "shop", 42, &github.IssueComment{Body: github.Ptr("done")}); err != nil {
		t.Fatal(err)
	}
	list, _, err := c.Repositories.ListDeployments(ctx, "acme", "shop", &github.DeploymentsListOptions{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].GetID() != d.GetID() || list[1].GetID() != old {
		t.Errorf("ListDeployments = %v, want the newest first", list)
	}
	got := f.Snapshot()
	want := ghubtest.State{
		Calls: []string{
			"POST /repos/acme/shop/deployments",
			"POST /repos/acme/shop/deployments/1002/statuses",
			"POST /repos/acme/shop/statuses/" + sha,
			"POST /repos/acme/shop/issues/42/comments",
			"GET /repos/acme/shop/deployments?environment=production",
		},
		Statuses: []ghubtest.Status{{SHA: sha, State: "success", Context: "ramp/web", Description: "promoted", TargetURL: "https://ci.example.com/1"}},
		Deployments: []ghubtest.Deployment{
			{ID: old, Ref: "abc1234", Task: "deploy", Environment: "production", Desc: "seeded",
				Statuses: []ghubtest.DeploymentStatus{{State: "success", Description: "seeded success"}}},
			{ID: d.GetID(), Ref: sha, Task: "deploy", Environment: "production", Desc: "canary", AutoMerge: github.Ptr(false),
				RequiredContexts: &[]string{}, Payload: map[string]any{"tool": "ramp"},
				Statuses: []ghubtest.DeploymentStatus{{State: "success", EnvironmentURL: "https://web.example.com"}}},
		},
		Comments: []ghubtest.Comment{{ID: 5003, Issue: 42, User: "github-actions[bot]", Body: "done"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"deployments": 3, "statuses": 1, "issues": 1}, got.CallsPerFamily()); diff != "" {
		t.Errorf("CallsPerFamily (-want +got):\n%s", diff)
	}
	got.Deployments[0].Statuses[0].State = "changed"
	if f.Snapshot().Deployments[0].Statuses[0].State != "success" {
		t.Error("changing a snapshot changed the fake")
	}
}

// TestAutoInactive checks that a success retires the earlier successful
// deployments of a non-production environment, as GitHub's auto_inactive
// does, and leaves production ones to the caller.
func TestAutoInactive(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"staging", "production"} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			old := f.SeedDeployment(env, "abc1234", "success")
			failed := f.SeedDeployment(env, "abc1235", "failure")
			d, _, err := f.Client().Repositories.CreateDeployment(t.Context(), "acme", "shop", &github.DeploymentRequest{
				Ref: github.Ptr(sha), Environment: github.Ptr(env)})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.Client().Repositories.CreateDeploymentStatus(t.Context(), "acme", "shop", d.GetID(),
				&github.DeploymentStatusRequest{State: github.Ptr("success")}); err != nil {
				t.Fatal(err)
			}
			want := map[int64][]string{old: {"success"}, failed: {"failure"}, d.GetID(): {"success"}}
			if env != "production" {
				want[old] = append(want[old], "inactive")
			}
			got := map[int64][]string{}
			for _, d := range f.Snapshot().Deployments {
				for _, s := range d.Statuses {
					got[d.ID] = append(got[d.ID], s.State)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deployment states (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPermissionsAndPulls(t *testing.T) {
	t.Parallel()
	f := ghubtest.New(t)
	f.SetPermission("alice", ghubtest.RoleMaintain)
	f.SetPermission("rob", ghubtest.RoleTriage)
	f.SetPull(42, sha, "mallory/shop", "")
	c := f.Client()
	for user, want := range map[string][]any{
		"alice": {"write", "maintain", true},
		"rob":   {"read", "triage", false},
		"eve":   {"none", "none", false},
	} {
		p, _, err := c.Repositories.GetPermissionLevel(t.Context(), "acme", "shop", user)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{p.GetPermission(), p.GetRoleName(), p.GetUser().GetPermissions()["push"]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: permission, role, push (-want +got):\n%s", user, diff)
		}
	}
	pr, _, err := c.PullRequests.Get(t.Context(), "acme", "shop", 42)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{pr.GetHead().GetSHA(), pr.GetHead().GetRepo().GetFullName(), pr.GetBase().GetRepo().GetFullName()}
	if diff := cmp.Diff([]string{sha, "mallory/shop", ghubtest.Repo}, got); diff != "" {
		t.Errorf("pull request head, head repo, base repo (-want +got):\n%s", diff)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	status := func(ctx context.Context, c *github.Client) error {
		_, _, err := c.Repositories.CreateStatus(ctx, "acme", "shop", sha, &github.RepoStatus{State: github.Ptr("success")})
		return err
	}
	deployments := func(ctx context.Context, c *github.Client) error {
		_, _, err := c.Repositories.ListDeployments(ctx, "acme", "shop", nil)
		return err
	}
	cases := []struct {
		name       string
		set        func(f *ghubtest.Fake)
		status     []any // HTTP status and message of a commit status
		deployment []any // and of listing deployments
	}{
		{"403 on statuses", func(f *ghubtest.Fake) { f.Fail(ghubtest.FamilyStatuses, http.StatusForbidden) },
			[]any{403, "Resource not accessible by integration"}, []any{0, ""}},
		{"404 on deployments", func(f *ghubtest.Fake) { f.Fail(ghubtest.FamilyDeployments, http.StatusNotFound) },
			[]any{0, ""}, []any{404, "Not Found"}},
		{"an outage", func(f *ghubtest.Fake) { f.Outage() },
			[]any{503, "Service Unavailable"}, []any{503, "Service Unavailable"}},
		{"an outage that ended", func(f *ghubtest.Fake) { f.Outage(); f.Fail(ghubtest.AllFamilies, 0) },
			[]any{0, ""}, []any{0, ""}},
		{"a proxy that echoes the token", func(f *ghubtest.Fake) {
			f.Fail(ghubtest.FamilyStatuses, http.StatusForbidden)
			f.EchoAuth(true)
		}, []any{403, "Resource not accessible by integration (you sent Bearer " + ghubtest.Token + ")"}, []any{0, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			tc.set(f)
			code, msg := answer(t, status(t.Context(), f.Client()))
			if diff := cmp.Diff(tc.status, []any{code, msg}); diff != "" {
				t.Errorf("commit status (-want +got):\n%s", diff)
			}
			code, msg = answer(t, deployments(t.Context(), f.Client()))
			if diff := cmp.Diff(tc.deployment, []any{code, msg}); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
			if got := len(f.Snapshot().Calls); got != 2 {
				t.Errorf("%d calls recorded, want 2, failed or not", got)
			}
		})
	}
}

func TestMergedPulls(t *testing.T) {
	t.Parallel()
	const merge = "9abcdef0000111122223333444455556666777788"
	cases := []struct {
		name string
		set  func(f *ghubtest.Fake)
		want []any // state, merged, merge_commit_sha
	}{
		{"open", func(*ghubtest.Fake) {}, []any{"open", false, ""}},
		{"open, with a test merge commit", func(f *ghubtest.Fake) { f.SetMergeCommit(42, merge) }, []any{"open", false, merge}},
		{"merged", func(f *ghubtest.Fake) { f.SetMerged(42, merge) }, []any{"closed", true, merge}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			f.SetPull(42, sha, "", "")
			tc.set(f)
			pr, _, err := f.Client().PullRequests.Get(t.Context(), "acme", "shop", 42)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{pr.GetState(), pr.GetMerged(), pr.GetMergeCommitSHA()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("state, merged, merge_commit_sha (-want +got):\n%s", diff)
			}
			if pr.GetHead().GetSHA() != sha {
				t.Errorf("head = %q, want %q", pr.GetHead().GetSHA(), sha)
			}
		})
	}
}

func TestMergingAnUnknownPullPanics(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]func(f *ghubtest.Fake){
		"SetMerged":      func(f *ghubtest.Fake) { f.SetMerged(7, sha) },
		"SetMergeCommit": func(f *ghubtest.Fake) { f.SetMergeCommit(7, sha) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("%s of an unknown pull request did not panic", name)
				}
			}()
			set(ghubtest.New(t))
		})
	}
}

// TestListsPayloads checks that listed deployments carry their payloads,
// seeded or created, and that the list filters as GitHub's does.
func TestListsPayloads(t *testing.T) {
	t.Parallel()
	f := ghubtest.New(t)
	c := f.Client()
	seeded := f.SeedDeploymentWith(ghubtest.Deployment{Ref: sha, Task: "deploy:api", Payload: map[string]any{"tool": "ramp", "service": "api"}},
		"success")
	plain := f.SeedDeployment("staging", sha)
	d, _, err := c.Repositories.CreateDeployment(t.Context(), "acme", "shop", &github.DeploymentRequest{Ref: github.Ptr(sha),
		Task: github.Ptr("deploy:web"), RequiredContexts: &[]string{}, Payload: map[string]string{"tool": "ramp", "service": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts *github.DeploymentsListOptions
		want map[int64]string // payload by ID
	}{
		{"all", nil, map[int64]string{d.GetID(): `{"service":"web","tool":"ramp"}`, plain: `{}`,
			seeded: `{"service":"api","tool":"ramp"}`}},
		{"production", &github.DeploymentsListOptions{Environment: "production"},
			map[int64]string{d.GetID(): `{"service":"web","tool":"ramp"}`, seeded: `{"service":"api","tool":"ramp"}`}},
		{"a task", &github.DeploymentsListOptions{Task: "deploy:api"}, map[int64]string{seeded: `{"service":"api","tool":"ramp"}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			list, _, err := c.Repositories.ListDeployments(t.Context(), "acme", "shop", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int64]string{}
			for _, d := range list {
				got[d.GetID()] = string(d.Payload)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("payloads (-want +got):\n%s", diff)
			}
		})
	}
	want := []ghubtest.Deployment{
		{ID: seeded, Ref: sha, Task: "deploy:api", Environment: "production", Desc: "seeded",
			Payload: map[string]any{"tool": "ramp", "service": "api"}, Statuses: []ghubtest.DeploymentStatus{{State: "success", Description: "seeded success"}}},
		{ID: plain, Ref: sha, Task: "deploy", Environment: "staging", Desc: "seeded"},
	}
	if diff := cmp.Diff(want, f.Snapshot().Deployments[:2]); diff != "" {
		t.Errorf("seeded deployments (-want +got):\n%s", diff)
	}
}
