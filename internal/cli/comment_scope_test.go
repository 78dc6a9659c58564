package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/ghub"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
)

// TestCommentAnswers answers `/ramp` comments about the stable service web
// (v1, deployed first) and about services the workflow does not or does
// list in `services`: what the step logs, its outputs, and a reply that
// names no path, pid or address of the runner.
func TestCommentAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		fixture  string // in testdata/github
		body     string // replaces the comment's body when set
		services string // the input
		exit     int
		log      string            // the line `ramp comment` prints
		outputs  map[string]string // LISTEN is the service's address
		reply    []string          // in the reply, in order; nil: no reply
	}{{
		name: "a service the workflow does not manage", fixture: "writer-rollback.json", body: "/ramp status other-svc",
		log: "ramp comment: refused `/ramp status other-svc` by @alice on #42: `other-svc` is not a service this workflow manages; " +
			"commands may name `web` (the input `services` lists the services they may name)\n",
		outputs: map[string]string{"result": "refused", "summary": "`other-svc` is not a service this workflow manages; " +
			"commands may name `web` (the input `services` lists the services they may name)"},
		reply: []string{"👎 `/ramp status other-svc` from @alice was refused: `other-svc` is not a service this workflow manages; commands may name `web`"},
	}, {
		name: "a service services lists", fixture: "writer-rollback.json", body: "/ramp status api", services: "api, worker",
		log:     "ramp comment: done `/ramp status api` by @alice on #42: api: no rollout recorded\n",
		outputs: map[string]string{"result": "done", "summary": "api: no rollout recorded", "stable": "", "candidate": "", "weight": "0", "url": ""},
		reply:   []string{"🚀 `/ramp status api` from @alice: done.", "**State of `api`:** no rollout recorded"},
	}, {
		name: "the workflow's service", fixture: "writer-rollback.json", body: "/ramp status",
		log: "ramp comment: done `/ramp status` by @alice on #42: web: promoted at 0% to the candidate\n",
		outputs: map[string]string{"result": "done", "summary": "web: promoted at 0% to the candidate", "stable": "v1", "candidate": "",
			"weight": "0", "url": "http://LISTEN"},
		reply: []string{"🚀 `/ramp status` from @alice: done.", "**State of `web`:** promoted · 0% to the candidate · stable `v1`",
			"service    web a local address\nstable     v1 (a local address)"},
	}, {
		name: "a bot", fixture: "bot-promote.json",
		log:     "ramp comment: ignored a comment by @dependabot[bot] on #42: the comment is from a bot\n",
		outputs: map[string]string{"result": "ignored", "summary": "the comment is from a bot"},
	}, {
		name: "a malformed services input", fixture: "writer-rollback.json", services: "api,../etc", exit: cli.ExitInvalid,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := newGHJob(t)
			j.firstDeploy(t)
			j.fake.SetPermission("alice", ghubtest.RoleWrite)
			j.fake.SetPull(42, ghHeadSHA, ghubtest.Repo, ghubtest.Repo)
			event := commentEvent(t, tc.fixture, tc.body)
			ev, err := ghub.ReadCommentEvent(event)
			if err != nil {
				t.Fatal(err)
			}
			j.fake.SeedComment(ev.GetIssue().GetNumber(), ev.GetComment().GetID(), ev.GetComment().GetUser().GetLogin(), ev.GetComment().GetBody())
			env := map[string]string{"GITHUB_EVENT_NAME": "issue_comment", "GITHUB_EVENT_PATH": event,
				"GITHUB_SHA": ghMainSHA, "INPUT_LISTEN": "", "INPUT_SERVICES": tc.services}
			if tc.exit == cli.ExitInvalid {
				env["INPUT_GITHUB-TOKEN"] = "" // refused before the token is masked, and never printed
			}
			s := j.run(t, env, "comment")
			wantExit(t, "ramp comment", s, tc.exit)
			if tc.exit == cli.ExitInvalid {
				if !strings.Contains(s.stderr, `input "services": "../etc" is not a service name`) {
					t.Errorf("stderr does not name the bad input:\n%s", s.stderr)
				}
				return
			}
			if got := unmasked(s.stdout); got != tc.log {
				t.Errorf("ramp comment logged %q, want %q", got, tc.log)
			}
			want := map[string]string{}
			for k, v := range tc.outputs {
				want[k] = strings.ReplaceAll(v, "LISTEN", j.listen)
			}
			if diff := cmp.Diff(want, parseOutputs(t, s.outputs)); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			checkCommentReply(t, j, tc.reply)
		})
	}
}

// checkCommentReply checks the one reply holds want in order and names no
// path, process or address of the machine ramp ran on.
func checkCommentReply(t *testing.T, j *ghJob, want []string) {
	t.Helper()
	got := j.snapshot(t).Comments
	if want == nil {
		if len(got) != 0 {
			t.Errorf("replies %v, want none", got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("replies %v, want one", got)
	}
	body, at := got[0].Body, 0
	for _, w := range want {
		i := strings.Index(body[at:], w)
		if i < 0 {
			t.Fatalf("the reply lacks, in order, %q:\n%s", w, body)
		}
		at += i + len(w)
	}
	_, port, _ := strings.Cut(j.listen, ":")
	for _, bad := range []string{j.dir, "127.0.0.1", ":" + port, "pid ", strconv.Itoa(os.Getpid())} {
		if strings.Contains(body, bad) {
			t.Errorf("the reply shows %q:\n%s", bad, body)
		}
	}
}

// commentEvent writes the issue_comment event of fixture, with body as the
// comment's text when set, to a file and returns its path.
func commentEvent(t *testing.T, fixture, body string) string {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "github", fixture)
	if body == "" {
		return path
	}
	ev, err := ghub.ReadCommentEvent(path)
	if err != nil {
		t.Fatal(err)
	}
	ev.Comment.Body = github.Ptr(body)
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}
