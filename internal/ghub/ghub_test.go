package ghub

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/strategies"
)

func TestNewClientHonoursTheAPIURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, apiURL, want string
	}{
		{"github.com by default", "", "https://api.github.com/"},
		{"github.com spelled out", "https://api.github.com", "https://api.github.com/"},
		{"GitHub Enterprise Server", "https://ghes.example.com/api/v3", "https://ghes.example.com/api/v3/"},
		{"GitHub Enterprise Server host only", "https://ghes.example.com", "https://ghes.example.com/api/v3/"},
		{"data residency", "https://api.acme.ghe.com", "https://api.acme.ghe.com/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(nil, testToken, tc.apiURL)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL.String(); got != tc.want {
				t.Errorf("BaseURL = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNewClientTimesOut checks that the client NewClient makes without an
// HTTP client of the caller's gives up on a request after ClientTimeout,
// and that a caller's client is kept as it is.
func TestNewClientTimesOut(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		hc     *http.Client
		apiURL string
		want   time.Duration
	}{
		{"none given, github.com", nil, "", ClientTimeout},
		{"none given, GitHub Enterprise Server", nil, "https://ghes.example.com/api/v3", ClientTimeout},
		{"the caller's", &http.Client{Timeout: time.Second}, "", time.Second},
		{"the caller's, without a timeout", &http.Client{}, "https://ghes.example.com/api/v3", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.hc, testToken, tc.apiURL)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Client().Timeout; got != tc.want {
				t.Errorf("the HTTP client's Timeout = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
	}{
		{"token " + testToken + " leaked", "*** leaked"},
		{"Authorization: Bearer abcdefghijklmnop", "Authorization: ***"},
		{"a fine-grained github_pat_11AAAAAAA0aaaaaaaaaaaa_bbbbbbbb", "a fine-grained ***"},
		{"gho_1234567890abcdef and ghu_1234567890abcdef", "*** and ***"},
		{"rolled back by alice at 50%", "rolled back by alice at 50%"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := redact(tc.in); got != tc.want {
				t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClipAndCommits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		got, want any
	}{
		{"clip keeps short text", clip("canary 10% — ok", 140), "canary 10% — ok"},
		{"clip counts characters", clip(strings.Repeat("é", 141), 140), strings.Repeat("é", 139) + "…"},
		{"clip folds whitespace", clip("a\n  b", 140), "a b"},
		{"code spans quote safely", code("a`b\nc"), "`a'b c`"},
		{"full SHAs match", SameCommit(headSHA, strings.ToUpper(headSHA)), true},
		{"a short SHA matches", SameCommit("def5678", headSHA), true},
		{"too short never matches", SameCommit("def", headSHA), false},
		{"other commits do not match", SameCommit(oldSHA, headSHA), false},
		{"an empty commit does not match", SameCommit("", headSHA), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTrackerBudget feeds a long rollout: pending statuses stop at the
// budget, far under GitHub's 1000 per commit and context, and the verdict
// still goes out.
func TestTrackerBudget(t *testing.T) {
	t.Parallel()
	tr := tracker{deployments: true}
	var statuses []action
	observe := func(ev engine.Event) {
		for _, a := range tr.observe(ev) {
			if a.kind == setStatus {
				statuses = append(statuses, a)
			}
		}
	}
	observe(&engine.Started{Service: "web", Strategy: "linear"})
	for w := 1; w <= 100; w++ {
		step := strategies.Step{Kind: strategies.KindAnalyze, Weight: w}
		observe(&engine.StepStarted{Index: w, Step: step})
		observe(&engine.Shifted{From: w - 1, Weight: w})
		for range 10 {
			observe(&engine.Holding{Weight: w, Reason: "probe: not enough data"})
		}
		observe(&engine.StepDone{Index: w, Step: step})
	}
	observe(&engine.Promoted{Revision: "v2"})
	observe(&engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Stable: "v2"}})
	if got, want := len(statuses), maxPending+1; got != want {
		t.Errorf("%d statuses, want %d", got, want)
	}
	last := statuses[len(statuses)-1]
	if last.state != stateSuccess || last.context != "ramp/web" {
		t.Errorf("last status = %+v, want a success on ramp/web", last)
	}
	for _, a := range statuses {
		if n := len([]rune(a.desc)); n > maxDescription {
			t.Errorf("description of %d characters: %q", n, a.desc)
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	c, err := NewClient(nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts Options
	}{
		{"no client", Options{Owner: "acme", Repo: "shop"}},
		{"no repository", Options{Client: c, Owner: "acme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.opts); err == nil {
				t.Error("New accepted incomplete options")
			}
		})
	}
}
