package ghub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want Command
		ok   bool
	}{
		{"a verb", "/ramp promote", Command{Verb: VerbPromote}, true},
		{"a verb and a service", "/ramp rollback web", Command{Verb: VerbRollback, Service: "web"}, true},
		{"any case, extra spaces", "  /RAMP   Pause   api-v2 \r\nbecause", Command{Verb: VerbPause, Service: "api-v2"}, true},
		{"only the first line counts", "/ramp resume\n/ramp rollback", Command{Verb: VerbResume}, true},
		{"status", "/ramp status", Command{Verb: VerbStatus}, true},
		{"no verb", "/ramp", Command{Problem: "the command names no verb"}, true},
		{"an unknown verb", "/ramp deploy", Command{Problem: "unknown verb `deploy`"}, true},
		{"an unknown verb with markup", "/ramp `x`<b>", Command{Problem: "unknown verb `?x??b?`"}, true},
		{"too many words", "/ramp rollback web now please", Command{Problem: "too many words: a command is `/ramp <verb> [service]`"}, true},
		{"a malformed service", "/ramp promote ::warning::x", Command{Problem: "malformed service name `??warning??x`"}, true},
		{"a service with dots, dashes and underscores", "/ramp rollback api_v2.eu-west", Command{Verb: VerbRollback, Service: "api_v2.eu-west"}, true},
		{"a service of 63 characters", "/ramp pause " + strings.Repeat("s", 63), Command{Verb: VerbPause, Service: strings.Repeat("s", 63)}, true},
		{"a service of 64 characters", "/ramp pause " + strings.Repeat("s", 64), Command{Problem: "malformed service name `" + strings.Repeat("s", 39) + "…`"}, true},
		{"a service path", "/ramp rollback a/../../x", Command{Problem: "malformed service name `a/../../x`"}, true},
		{"a service with a slash", "/ramp rollback team/web", Command{Problem: "malformed service name `team/web`"}, true},
		{"a service with two dots", "/ramp rollback web..x", Command{Problem: "malformed service name `web..x`"}, true},
		{"a service that is two dots", "/ramp rollback ..", Command{Problem: "malformed service name `..`"}, true},
		{"a service that starts with a dot", "/ramp rollback .web", Command{Problem: "malformed service name `.web`"}, true},
		{"a service that starts with a dash", "/ramp rollback -web", Command{Problem: "malformed service name `-web`"}, true},
		{"not at the start", "please /ramp promote", Command{}, false},
		{"on a later line", "LGTM\n/ramp promote", Command{}, false},
		{"a longer word", "/rampage promote", Command{}, false},
		{"empty", "", Command{}, false},
		{"quoted", "> /ramp promote", Command{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseCommand(tc.body)
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
				t.Errorf("ParseCommand(%q) = _, %v, want %v; (-want +got):\n%s", tc.body, ok, tc.ok, diff)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cmd  Command
		want string
	}{
		{Command{Verb: VerbRollback}, "/ramp rollback"},
		{Command{Verb: VerbPause, Service: "web"}, "/ramp pause web"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := tc.cmd.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHelpListsEveryVerb(t *testing.T) {
	t.Parallel()
	help := Help()
	for _, v := range Verbs {
		if !strings.Contains(help, "`/ramp "+string(v)+" [service]`: ") || verbHelp[v] == "" {
			t.Errorf("the help lacks %q:\n%s", v, help)
		}
	}
}

// TestFixturesMatchGitHub checks that the issue_comment payloads in
// testdata have the shape GitHub documents and that go-github reads them.
func TestFixturesMatchGitHub(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, action, login, userType, body string
		pr                                  bool
	}{
		{"writer-rollback.json", "created", "alice", "User", "/ramp rollback web", true},
		{"reader-promote.json", "created", "rob", "User", "/ramp promote", true},
		{"writer-promote.json", "created", "alice", "User", "/ramp promote web", true},
		{"edited-promote.json", "edited", "alice", "User", "/ramp promote", true},
		{"bot-promote.json", "created", "dependabot[bot]", "Bot", "/ramp promote", true},
		{"issue-rollback.json", "created", "alice", "User", "/ramp rollback", false},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("..", "..", "testdata", "github", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"action", "comment.id", "comment.body", "comment.user.login", "comment.user.type",
				"comment.author_association", "issue.number", "repository.full_name", "repository.name",
				"repository.owner.login", "sender.login"} {
				if _, ok := lookup(raw, key); !ok {
					t.Errorf("%s lacks %s", tc.file, key)
				}
			}
			if _, ok := lookup(raw, "issue.pull_request.url"); ok != tc.pr {
				t.Errorf("%s: issue.pull_request.url present = %v, want %v", tc.file, ok, tc.pr)
			}
			ev := fixture(t, tc.file)
			got := []any{ev.GetAction(), ev.GetComment().GetUser().GetLogin(), ev.GetComment().GetUser().GetType(),
				strings.SplitN(ev.GetComment().GetBody(), "\r\n", 2)[0], ev.GetIssue().GetPullRequestLinks() != nil,
				ev.GetRepo().GetFullName(), ev.GetSender().GetLogin()}
			want := []any{tc.action, tc.login, tc.userType, tc.body, tc.pr, "acme/shop", tc.login}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded event (-want +got):\n%s", diff)
			}
		})
	}
}

// lookup finds a dotted key in decoded JSON.
func lookup(m map[string]any, key string) (any, bool) {
	var v any = m
	for part := range strings.SplitSeq(key, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[part]; !ok || v == nil {
			return nil, false
		}
	}
	return v, true
}
