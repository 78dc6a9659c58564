package ghub

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/providers"
)

// script is what a fakeExecutor answers: the rollout before and after a
// Run, and the Run's result.
type script struct {
	before, after RolloutInfo
	result        Result
	runErr        error
}

// fakeExecutor records what it is asked and answers as scripted.
type fakeExecutor struct {
	script

	mu    sync.Mutex
	calls []string
	ran   bool
}

func (e *fakeExecutor) Rollout(_ context.Context, service string) (RolloutInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, "rollout "+service)
	if e.ran && e.after != (RolloutInfo{}) {
		return e.after, nil
	}
	return e.before, nil
}

func (e *fakeExecutor) Run(_ context.Context, cmd Command, actor string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, fmt.Sprintf("run %s %s at %s by %s", cmd.Verb, cmd.Service, short(cmd.Commit), actor))
	e.ran = true
	return e.result, e.runErr
}

var _ Executor = (*fakeExecutor)(nil)

// inFlight is the rollout of web deployed from the pull request's head.
var inFlight = RolloutInfo{Service: "web", Commit: headSHA, Phase: providers.PhaseProgressing, Weight: 50,
	Stable: "v1", Candidate: "v2"}

// seedComment makes the event's comment exist on the fake, so that it can
// be reacted to.
func seedComment(f *ghubtest.Fake, ev *github.IssueCommentEvent) {
	f.SeedComment(ev.GetIssue().GetNumber(), ev.GetComment().GetID(), ev.GetComment().GetUser().GetLogin(), ev.GetComment().GetBody())
}

func fixture(t *testing.T, name string) *github.IssueCommentEvent {
	t.Helper()
	ev, err := ReadCommentEvent(filepath.Join("..", "..", "testdata", "github", name))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

const (
	reaction   = "POST /repos/acme/shop/issues/comments/2001/reactions"
	permission = "GET /repos/acme/shop/collaborators/alice/permission"
	pull       = "GET /repos/acme/shop/pulls/42"
	reply      = "POST /repos/acme/shop/issues/42/comments"
)

type commentCase struct {
	name      string
	fixture   string
	body      string         // replaces the comment's body when set
	role      string         // alice's role; rob is read-only
	headRepo  string         // the pull request's head repository; acme/shop if empty
	merged    string         // the merge commit of a merged pull request
	testMerge string         // the test merge commit of an open pull request
	executor  script         // before is inFlight unless set
	fail      map[string]int // endpoint families failing with a status
	want      Outcome        // Disposition and Reason
	reactions []string       // on the comment
	execCalls []string       // what the executor was asked
	calls     []string       // the API calls, when checked
	reply     []string       // text the reply must contain, in order; nil: no reply
	absent    []string       // text the reply must not contain
	warnings  []string       // substrings, one per warning
	err       string         // the error returned, if any
	edit      func(*CommentOptions)
}

var rolledBackState = RolloutInfo{Service: "web", Commit: headSHA, Phase: providers.PhaseRolledBack, Stable: "v1", Candidate: "v2"}

// mergeSHA is the merge (or squash) commit of pull request #42 on main.
const mergeSHA = "9abcdef0000111122223333444455556666777788"

// fromMain is the rollout of web deployed from the merge commit.
var fromMain = RolloutInfo{Service: "web", Commit: mergeSHA, Phase: providers.PhaseProgressing, Weight: 50,
	Stable: "v1", Candidate: "v2"}

var commentCases = []commentCase{{
	name:      "rollback from a writer",
	fixture:   "writer-rollback.json",
	role:      "write",
	executor:  script{after: rolledBackState, result: Result{OK: true, Text: "Rolled back `v2`: all traffic is on `v1`."}},
	want:      Outcome{Disposition: Done},
	reactions: []string{"eyes", "rocket"},
	execCalls: []string{"rollout web", "run rollback web at def5678 by alice", "rollout web"},
	calls:     []string{reaction, permission, pull, reaction, reply},
	reply: []string{"🚀 `/ramp rollback web` from @alice: done.\n\n" +
		"Rolled back `v2`: all traffic is on `v1`.\n\n" +
		"**State of `web`:** rolled back · 0% to the candidate · stable `v1` · candidate `v2` · commit `def5678`\n\n" +
		"[Workflow run](https://github.com/acme/shop/actions/runs/77)\n"},
}, {
	name:      "promote from a read-only user",
	fixture:   "reader-promote.json",
	want:      Outcome{Disposition: Refused, Reason: "only users with write access can promote; @rob has read access to acme/shop"},
	reactions: []string{"eyes", "-1"},
	calls: []string{"POST /repos/acme/shop/issues/comments/2002/reactions", "GET /repos/acme/shop/collaborators/rob/permission",
		"POST /repos/acme/shop/issues/comments/2002/reactions", reply},
	reply: []string{"👎 `/ramp promote` from @rob was refused: only users with write access can promote; @rob has read access to acme/shop.",
		"[Workflow run]"},
}, {
	name:      "triage is not write",
	fixture:   "writer-rollback.json",
	role:      "triage",
	want:      Outcome{Disposition: Refused, Reason: "only users with write access can roll back; @alice has triage access to acme/shop"},
	reactions: []string{"eyes", "-1"},
	reply:     []string{"was refused: only users with write access can roll back"},
}, {
	name:      "maintain may act",
	fixture:   "writer-rollback.json",
	body:      "/RAMP Promote",
	role:      "maintain",
	executor:  script{result: Result{OK: true}},
	want:      Outcome{Disposition: Done},
	reactions: []string{"eyes", "rocket"},
	execCalls: []string{"rollout web", "run promote web at def5678 by alice", "rollout web"},
	reply:     []string{"🚀 `/ramp promote` from @alice: done."},
}, {
	name:      "the rollout in flight comes from another commit",
	fixture:   "writer-rollback.json",
	body:      "/ramp promote",
	role:      "admin",
	executor:  script{before: RolloutInfo{Service: "web", Commit: oldSHA, Phase: providers.PhasePaused, Weight: 25}},
	want:      Outcome{Disposition: Refused, Reason: "the rollout in flight was deployed from abc1234, not this PR's head def5678"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web"},
	reply: []string{"was refused: the rollout in flight was deployed from abc1234, not this PR's head def5678.",
		"**State of `web`:** paused · 25% to the candidate"},
}, {
	name:      "a merged PR whose merge commit is deployed",
	fixture:   "writer-rollback.json",
	role:      "write",
	merged:    mergeSHA,
	executor:  script{before: fromMain, result: Result{OK: true, Text: "Rolled back."}},
	want:      Outcome{Disposition: Done},
	reactions: []string{"eyes", "rocket"},
	execCalls: []string{"rollout web", "run rollback web at 9abcdef by alice", "rollout web"},
	calls:     []string{reaction, permission, pull, reaction, reply},
	reply: []string{"🚀 `/ramp rollback web` from @alice: done.\n\n" +
		"Pull request #42 is merged: the rollout of `web` was deployed from its merge commit `9abcdef`, not its head `def5678`, and the command applies to it.\n\n" +
		"Rolled back.", "commit `9abcdef`"},
}, {
	name:      "a merged PR whose head is deployed",
	fixture:   "writer-rollback.json",
	role:      "write",
	merged:    headSHA,
	executor:  script{result: Result{OK: true}},
	want:      Outcome{Disposition: Done},
	reactions: []string{"eyes", "rocket"},
	execCalls: []string{"rollout web", "run rollback web at def5678 by alice", "rollout web"},
	reply:     []string{"🚀 `/ramp rollback web` from @alice: done.\n\n**State of `web`:**"},
}, {
	name:      "a merged PR, another commit deployed",
	fixture:   "writer-rollback.json",
	role:      "write",
	merged:    mergeSHA,
	executor:  script{before: RolloutInfo{Service: "web", Commit: oldSHA, Phase: providers.PhaseProgressing, Weight: 50}},
	want:      Outcome{Disposition: Refused, Reason: "the rollout in flight was deployed from abc1234, neither this PR's head def5678 nor its merge commit 9abcdef"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web"},
	reply:     []string{"was refused: the rollout in flight was deployed from abc1234, neither this PR's head def5678 nor its merge commit 9abcdef."},
}, {
	name:      "an open PR whose test merge commit is deployed",
	fixture:   "writer-rollback.json",
	role:      "write",
	testMerge: mergeSHA,
	executor:  script{before: fromMain},
	want:      Outcome{Disposition: Refused, Reason: "the rollout in flight was deployed from 9abcdef, not this PR's head def5678"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web"},
	reply:     []string{"was refused: the rollout in flight was deployed from 9abcdef, not this PR's head def5678."},
}, {
	name:      "a merged PR from a fork",
	fixture:   "writer-rollback.json",
	role:      "write",
	headRepo:  "mallory/shop",
	merged:    mergeSHA,
	executor:  script{before: fromMain},
	want:      Outcome{Disposition: Refused, Reason: "this pull request comes from a fork, and commands on forks are turned off"},
	reactions: []string{"eyes", "-1"},
	reply:     []string{"comes from a fork"},
}, {
	name:      "a merged PR, no commit recorded",
	fixture:   "writer-rollback.json",
	role:      "write",
	merged:    mergeSHA,
	executor:  script{before: RolloutInfo{Service: "web", Phase: providers.PhaseProgressing}},
	want:      Outcome{Disposition: Refused, Reason: "the rollout of `web` records no commit, so it cannot be matched with this pull request's head def5678 or its merge commit 9abcdef"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web"},
	reply:     []string{"records no commit"},
}, {
	name:      "no rollout recorded",
	fixture:   "writer-rollback.json",
	role:      "write",
	executor:  script{before: RolloutInfo{Service: "web"}},
	want:      Outcome{Disposition: Refused, Reason: "no rollout of `web` is recorded"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web"},
	reply:     []string{"**State of `web`:** no rollout recorded"},
}, {
	name:      "a fork",
	fixture:   "writer-rollback.json",
	role:      "write",
	headRepo:  "mallory/shop",
	want:      Outcome{Disposition: Refused, Reason: "this pull request comes from a fork, and commands on forks are turned off"},
	reactions: []string{"eyes", "-1"},
	calls:     []string{reaction, permission, pull, reaction, reply},
	reply:     []string{"comes from a fork"},
}, {
	name:      "a fork, allowed",
	fixture:   "writer-rollback.json",
	role:      "write",
	headRepo:  "mallory/shop",
	edit:      func(o *CommentOptions) { o.AllowForks = true },
	executor:  script{result: Result{OK: true}},
	want:      Outcome{Disposition: Done},
	reactions: []string{"eyes", "rocket"},
	execCalls: []string{"rollout web", "run rollback web at def5678 by alice", "rollout web"},
	reply:     []string{"done."},
}, {
	name:      "an unknown verb",
	fixture:   "writer-rollback.json",
	body:      "/ramp ::error::deploy-everything",
	role:      "write",
	want:      Outcome{Disposition: Refused, Reason: "unknown verb `??error??deploy-everything`"},
	reactions: []string{"eyes", "-1"},
	calls:     []string{reaction, reaction, reply},
	reply:     []string{"👎 That `/ramp` command from @alice was refused: unknown verb `??error??deploy-everything`.", "- `/ramp rollback [service]`"},
}, {
	name:      "status",
	fixture:   "writer-rollback.json",
	body:      "/ramp status",
	role:      "write",
	executor:  script{before: RolloutInfo{Service: "web", Commit: oldSHA, Phase: providers.PhaseProgressing, Weight: 10, Summary: "## Rollout of `web`"}},
	want:      Outcome{Disposition: Done},
	reactions: []string{"eyes", "rocket"},
	execCalls: []string{"rollout web"},
	calls:     []string{reaction, permission, reaction, reply},
	reply: []string{"🚀 `/ramp status` from @alice: done.", "**State of `web`:** progressing · 10% to the candidate · commit `abc1234`",
		"<details><summary>Rollout summary</summary>\n\n## Rollout of `web`\n\n</details>"},
}, {
	name:      "the executor says no",
	fixture:   "writer-rollback.json",
	role:      "write",
	executor:  script{result: Result{Text: "Nothing to roll back: the rollout was already promoted."}},
	want:      Outcome{Disposition: Failed, Reason: "the rollback did not succeed"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web", "run rollback web at def5678 by alice", "rollout web"},
	reply:     []string{"failed: the rollback did not succeed.", "Nothing to roll back"},
}, {
	name:      "the executor fails, quoting the token",
	fixture:   "writer-rollback.json",
	role:      "write",
	executor:  script{runErr: errors.New("provider said: Authorization: Bearer " + testToken)},
	want:      Outcome{Disposition: Failed, Reason: "could not roll back"},
	reactions: []string{"eyes", "-1"},
	execCalls: []string{"rollout web", "run rollback web at def5678 by alice"},
	reply:     []string{"failed: could not roll back.", "**Error:** `rollback: provider said: Authorization: ***`"},
	err:       "rollback: provider said",
}, {
	name:      "no pull-requests: write",
	fixture:   "writer-rollback.json",
	role:      "write",
	fail:      map[string]int{"issues": 403},
	executor:  script{result: Result{OK: true}},
	want:      Outcome{Disposition: Done},
	execCalls: []string{"rollout web", "run rollback web at def5678 by alice", "rollout web"},
	calls:     []string{reaction, permission, pull},
	warnings:  []string{"GitHub pull-request comments and reactions are off for this run: could not react to the comment: GitHub answered 403 Resource not accessible by integration: the token needs `pull-requests: write`"},
}, {
	name:     "GitHub is down",
	fixture:  "writer-rollback.json",
	role:     "write",
	fail:     map[string]int{"*": 502},
	want:     Outcome{Disposition: Failed, Reason: "could not check @alice's permission"},
	calls:    []string{reaction, reaction, permission, permission}, // reads are tried twice too
	warnings: []string{"GitHub pull-request comments and reactions are off for this run: could not react to the comment: the GitHub API is unavailable (502 Bad Gateway)"},
	err:      "check the permission of alice",
}}

func TestHandleComment(t *testing.T) {
	t.Parallel()
	for _, tc := range commentCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCommentCase(t, tc)
		})
	}
}

// runCommentCase answers the comment of tc against a fake GitHub and
// checks what came of it.
func runCommentCase(t *testing.T, tc commentCase) {
	t.Helper()
	f := ghubtest.New(t)
	head := tc.headRepo
	if head == "" {
		head = "acme/shop"
	}
	if tc.role != "" {
		f.SetPermission("alice", tc.role)
	}
	f.SetPermission("rob", ghubtest.RoleRead)
	f.SetPull(42, headSHA, head, "acme/shop")
	if tc.merged != "" {
		f.SetMerged(42, tc.merged)
	}
	if tc.testMerge != "" {
		f.SetMergeCommit(42, tc.testMerge)
	}
	for family, code := range tc.fail {
		f.Fail(family, code)
	}
	ev := fixture(t, tc.fixture)
	if tc.body != "" {
		ev.Comment.Body = github.Ptr(tc.body)
	}
	seedComment(f, ev)
	exec := &fakeExecutor{script: tc.executor}
	if exec.before == (RolloutInfo{}) {
		exec.before = inFlight
	}
	var w warnings
	opts := CommentOptions{Client: newClient(t, f), Executor: exec, Service: "web", RunURL: runURL, Warn: w.add, Timeout: callTimeout}
	if tc.edit != nil {
		tc.edit(&opts)
	}
	out, err := HandleComment(t.Context(), opts, ev)
	checkComment(t, tc, f.Snapshot(), out, err, exec.calls, w.all())
}

func checkComment(t *testing.T, tc commentCase, got ghubtest.State, out Outcome, err error, execCalls, warns []string) {
	t.Helper()
	if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
		t.Errorf("error = %v, want one containing %q", err, tc.err)
	}
	if diff := cmp.Diff(tc.want, Outcome{Disposition: out.Disposition, Reason: out.Reason}); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	var reactions []string
	for _, r := range got.Reactions {
		reactions = append(reactions, r.Content)
	}
	if diff := cmp.Diff(tc.reactions, reactions); diff != "" {
		t.Errorf("reactions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tc.execCalls, execCalls); diff != "" {
		t.Errorf("executor calls (-want +got):\n%s", diff)
	}
	if tc.calls != nil {
		if diff := cmp.Diff(tc.calls, got.Calls); diff != "" {
			t.Errorf("API calls (-want +got):\n%s", diff)
		}
	}
	if len(got.Statuses) != 0 || len(got.Deployments) != 0 || got.Unauthed != 0 {
		t.Errorf("statuses %v, deployments %v, %d calls without the token", got.Statuses, got.Deployments, got.Unauthed)
	}
	checkReply(t, tc, got, out)
	if len(warns) != len(tc.warnings) {
		t.Fatalf("warnings = %q, want %d", warns, len(tc.warnings))
	}
	for i, want := range tc.warnings {
		if !strings.Contains(warns[i], want) {
			t.Errorf("warning %q lacks %q", warns[i], want)
		}
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	noToken(t, append(warns, out.Reply, out.Reason, errText)...)
}

func checkReply(t *testing.T, tc commentCase, got ghubtest.State, out Outcome) {
	t.Helper()
	if tc.reply == nil {
		if len(got.Comments) != 0 {
			t.Errorf("replied %v, want no reply", got.Comments)
		}
		return
	}
	if len(got.Comments) != 1 || got.Comments[0].Issue != 42 || got.Comments[0].Body != out.Reply {
		t.Fatalf("replies = %v, want one on #42 with the Outcome's reply %q", got.Comments, out.Reply)
	}
	body, at := got.Comments[0].Body, 0
	for _, s := range tc.absent {
		if strings.Contains(body, s) {
			t.Errorf("the reply shows %q:\n%s", s, body)
		}
	}
	for _, want := range tc.reply {
		i := strings.Index(body[at:], want)
		if i < 0 {
			t.Errorf("the reply lacks, in order, %q:\n%s", want, body)
			return
		}
		at += i + len(want)
	}
}

func TestHandleCommentIgnores(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, fixture, body, reason, actor string
		number                             int
	}{
		{"an edited comment", "edited-promote.json", "", "the comment was edited, not created", "alice", 42},
		{"a bot", "bot-promote.json", "", "the comment is from a bot", "dependabot[bot]", 42},
		{"a plain issue", "issue-rollback.json", "", "the comment is on an issue, not a pull request", "alice", 7},
		{"a comment that mentions the command later", "writer-rollback.json", "LGTM, but /ramp promote later", "the comment is not a /ramp command", "alice", 42},
		{"a longer word", "writer-rollback.json", "/rampage promote", "the comment is not a /ramp command", "alice", 42},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			f.SetPermission("alice", ghubtest.RoleAdmin)
			ev := fixture(t, tc.fixture)
			if tc.body != "" {
				ev.Comment.Body = github.Ptr(tc.body)
			}
			exec := &fakeExecutor{script: script{before: inFlight}}
			out, err := HandleComment(t.Context(), CommentOptions{Client: newClient(t, f), Executor: exec}, ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Outcome{Disposition: Ignored, Reason: tc.reason, Actor: tc.actor, Number: tc.number}, out); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if got := f.Snapshot(); len(got.Calls) != 0 || len(exec.calls) != 0 {
				t.Errorf("API calls %q, executor calls %q; want none", got.Calls, exec.calls)
			}
		})
	}
}

// TestReactingTwice checks that a reaction already there (GitHub answers
// 200 instead of 201) is no failure.
func TestReactingTwice(t *testing.T) {
	t.Parallel()
	f := ghubtest.New(t)
	f.SeedComment(42, 2001, "alice", "/ramp status")
	var w warnings
	h := &handler{opts: CommentOptions{Client: newClient(t, f)}, calls: newCaller(callTimeout, w.add), comments: commentsCap(),
		owner: "acme", repo: "shop", number: 42, comment: 2001}
	for range 2 {
		h.react(t.Context(), "eyes")
	}
	got := f.Snapshot()
	if diff := cmp.Diff([]ghubtest.Reaction{{Comment: 2001, Content: "eyes"}}, got.Reactions); diff != "" || len(w.all()) != 0 || len(got.Calls) != 2 {
		t.Errorf("reactions (-want +got):\n%s\nwarnings %q, %d calls", diff, w.all(), len(got.Calls))
	}
}
