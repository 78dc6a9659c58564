package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/pipenet"
	"github.com/ramp-deploy/ramp/internal/webhook"
	"github.com/ramp-deploy/ramp/notify"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
	"github.com/ramp-deploy/ramp/strategies"
)

// got is one request a receiver got.
type got struct {
	path   string
	header http.Header
	body   map[string]any
	raw    []byte
}

// receiver answers status (0 hangs) and keeps what it got.
type receiver struct {
	status int
	mu     sync.Mutex
	got    []got
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	rc.mu.Lock()
	rc.got = append(rc.got, got{r.URL.Path, r.Header.Clone(), body, raw})
	rc.mu.Unlock()
	if rc.status == 0 {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(rc.status)
}

// at returns what path got, in order.
func (rc *receiver) at(path string) []got {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []got
	for _, g := range rc.got {
		if g.path == path {
			out = append(out, g)
		}
	}
	return out
}

// server starts rc on an in-memory server at http://notify.test inside a
// synctest bubble.
func server(t *testing.T, rc *receiver) *http.Client {
	t.Helper()
	srv := httptest.NewUnstartedServer(rc)
	_ = srv.Listener.Close() // the loopback listener is not used
	l := pipenet.Listen("notify.test")
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &http.Client{Transport: tr}
}

// run feeds the events of a canary of v2 over v1 that ends with end,
// after the events of what the process did (acted).
func run(n *notify.Notifier, acted []engine.Event, end engine.Result) {
	plan := strategies.Plan{Strategy: "canary", Interval: time.Minute,
		Steps: []strategies.Step{{Kind: strategies.KindShift, Weight: 10}, {Kind: strategies.KindPromote, Weight: 100}}}
	n.Event(&engine.Started{ID: "r1", Service: "web", Strategy: "canary", Stable: "v1", Candidate: "v2", Plan: plan})
	n.Event(&engine.StepStarted{Index: 0, Total: 2, Step: plan.Steps[0]})
	n.Event(&engine.Shifted{From: 0, Weight: 10})
	n.Event(&engine.StepDone{Index: 0, Step: plan.Steps[0], Took: time.Minute})
	for _, ev := range acted {
		n.Event(ev)
	}
	n.Event(&engine.Finished{Result: end})
}

var rollout = providers.Rollout{ID: "r1", Commit: "0123456789abcdef"}

func TestMessagesOnlyForWhatThisProcessDid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		acted  []engine.Event
		result engine.Result
		events []string // sent, in order
		text   string   // in the last message's text
	}{
		{"promoted", []engine.Event{&engine.Promoted{Revision: "v2"}},
			engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed", Candidate: "v2", Stable: "v2", Weight: 100, Rollout: rollout},
			[]string{"started", "promoted"}, "✅ web: v2 promoted\npromoted: every step passed\nRun: https://github.com/o/r/actions/runs/7"},
		{"rolled back", []engine.Event{&engine.RolledBack{From: 10, Reason: "guardrail error-rate = 20% (threshold <= 1%)"}},
			engine.Result{Outcome: engine.OutcomeRolledBack, Reason: "guardrail error-rate = 20% (threshold <= 1%)", Candidate: "v2", Stable: "v1", Rollout: rollout},
			[]string{"started", "rolled-back"}, "web: v2 rolled back\nrolled_back: guardrail error-rate = 20% (threshold &lt;= 1%)"},
		{"paused here", []engine.Event{&engine.Paused{Weight: 10, Reason: "the plan pauses here"}},
			engine.Result{Outcome: engine.OutcomePaused, Reason: "the plan pauses here", Candidate: "v2", Stable: "v1", Weight: 10, Rollout: rollout},
			[]string{"started", "paused"}, "web: rollout of v2 paused at 10%"},
		{"paused elsewhere: that process said so", []engine.Event{&engine.Paused{Weight: 10, Reason: "by bob", Elsewhere: true}},
			engine.Result{Outcome: engine.OutcomePaused, Reason: "by bob", Candidate: "v2", Weight: 10, Rollout: rollout},
			[]string{"started"}, ""},
		{"promoted elsewhere", nil,
			engine.Result{Outcome: engine.OutcomePromoted, Reason: "done elsewhere: by bob", Candidate: "v2", Weight: 100, Rollout: rollout},
			[]string{"started"}, ""},
		{"failed", nil,
			engine.Result{Outcome: engine.OutcomeFailed, Reason: "could not record the pause", Candidate: "v2", Weight: 10, Rollout: rollout},
			[]string{"started", "failed"}, "❌ web: rollout of v2 failed\nfailed: could not record the pause"},
		{"cancelled and rolled back", []engine.Event{&engine.RolledBack{From: 10}},
			engine.Result{Outcome: engine.OutcomeCancelled, Reason: "cancelled (SIGTERM)", Candidate: "v2", Rollout: rollout},
			[]string{"started", "rolled-back"}, "cancelled: cancelled (SIGTERM)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rc := &receiver{status: http.StatusOK}
				env := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}
				n := notify.New(notify.Options{Specs: []notify.Spec{{Name: "chat", Type: notify.TypeSlack, URL: "http://notify.test/slack"}},
					Client: server(t, rc), RunURL: notify.RunURL(func(k string) string { return env[k] })})
				run(n, c.acted, c.result)
				if err := n.Close(t.Context()); err != nil {
					t.Fatal(err)
				}
				sent := rc.at("/slack")
				var events []string
				for _, g := range sent {
					events = append(events, eventOf(g))
				}
				if diff := cmp.Diff(c.events, events); diff != "" {
					t.Fatalf("events sent (-want +got):\n%s", diff)
				}
				last := sent[len(sent)-1].body
				if text, _ := last["text"].(string); !strings.Contains(text, c.text) {
					t.Errorf("text %q, want %q in it", text, c.text)
				}
			})
		})
	}
}

// eventOf reads a Slack message's event from its icon.
func eventOf(g got) string {
	text, _ := g.body["text"].(string)
	for icon, event := range map[string]string{"🚀": "started", "➡️": "step", "✅": "promoted", "↩️": "rolled-back", "⏸️": "paused", "❌": "failed"} {
		if strings.HasPrefix(text, icon) {
			return event
		}
	}
	return "?"
}

func TestSlackPayloadShape(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rc := &receiver{status: http.StatusOK}
		n := notify.New(notify.Options{Specs: []notify.Spec{{Name: "chat", Type: notify.TypeSlack, URL: "http://notify.test/slack",
			Events: []string{notify.EventPromoted}}}, Client: server(t, rc), RunURL: "https://ci.example/job/1", Secret: "s3cret"})
		run(n, []engine.Event{&engine.Promoted{Revision: "v2"}},
			engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed", Candidate: "v2", Stable: "v2", Weight: 100, Rollout: rollout})
		if err := n.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		sent := rc.at("/slack")
		if len(sent) != 1 {
			t.Fatalf("%d messages, want 1", len(sent))
		}
		var msg struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
				Text *struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"text"`
				Elements []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"elements"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(sent[0].raw, &msg); err != nil {
			t.Fatal(err)
		}
		if keys := slices.Sorted(mapsKeys(sent[0].body)); !slices.Equal(keys, []string{"blocks", "text"}) {
			t.Errorf("top-level keys %v, want blocks and text only", keys)
		}
		want := "✅ web: v2 promoted\npromoted: every step passed\nRun: https://ci.example/job/1"
		if msg.Text != want {
			t.Errorf("text %q, want %q", msg.Text, want)
		}
		if len(msg.Blocks) != 2 || msg.Blocks[0].Type != "section" || msg.Blocks[0].Text == nil || msg.Blocks[0].Text.Type != "mrkdwn" ||
			msg.Blocks[0].Text.Text != "*✅ web: v2 promoted*\n>promoted: every step passed" ||
			msg.Blocks[1].Type != "context" || len(msg.Blocks[1].Elements) != 1 ||
			msg.Blocks[1].Elements[0].Text != "rollout `r1` · stable `v1` · commit `0123456` · <https://ci.example/job/1|run>" {
			t.Errorf("blocks %+v", msg.Blocks)
		}
		if sent[0].header.Get(webhook.SignatureHeader) != "" || sent[0].header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v: want JSON, unsigned (Slack checks no signature)", sent[0].header)
		}
	})
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestEventsFilterEnvURLAndGenericPayload(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rc := &receiver{status: http.StatusOK}
		var mu sync.Mutex
		var warnings []string
		env := map[string]string{"HOOK_URL": "http://notify.test/generic"}
		n := notify.New(notify.Options{
			Specs: []notify.Spec{
				{Name: "all", Type: notify.TypeWebhook, URL: "${HOOK_URL}", Events: notify.Events},
				{Name: "default", Type: notify.TypeSlack, URL: "http://notify.test/default"},
				{Name: "unset", Type: notify.TypeSlack, URL: "$UNSET_URL"},
			},
			Client: server(t, rc), Getenv: func(k string) string { return env[k] }, Secret: "s3cret",
			Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() },
		})
		run(n, []engine.Event{&engine.Promoted{Revision: "v2"}},
			engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed", Candidate: "v2", Stable: "v2", Weight: 100, Rollout: rollout})
		if err := n.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		var generic []string
		for _, g := range rc.at("/generic") {
			generic = append(generic, g.body["event"].(string))
		}
		if diff := cmp.Diff([]string{"started", "step", "promoted"}, generic); diff != "" {
			t.Errorf("generic webhook got (-want +got):\n%s", diff)
		}
		if n := len(rc.at("/default")); n != 2 {
			t.Errorf("default events: %d messages, want 2 (started, promoted: not the step)", n)
		}
		g := rc.at("/generic")[2]
		want := map[string]any{"event": "promoted", "service": "web", "rollout_id": "r1", "commit": "0123456789abcdef",
			"candidate": "v2", "stable": "v1", "weight": 100.0, "outcome": "promoted", "verdict": "promoted: every step passed"}
		for k, v := range want {
			if g.body[k] != v {
				t.Errorf("generic %s = %v, want %v", k, g.body[k], v)
			}
		}
		ts := g.header.Get(webhook.TimestampHeader)
		if sig := g.header.Get(webhook.SignatureHeader); sig == "" || sig != webhook.Sign("s3cret", ts, g.raw) {
			t.Errorf("generic message signature %q, want the HMAC of %s.<body>", sig, ts)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(warnings) != 1 || !strings.Contains(warnings[0], "notification unset: $UNSET_URL is not set") {
			t.Errorf("warnings %q, want one naming $UNSET_URL", warnings)
		}
	})
}

func TestRunURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"GitHub Actions", map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"},
			"https://github.com/o/r/actions/runs/42"},
		{"GitLab", map[string]string{"CI_JOB_URL": "https://gitlab.com/o/r/-/jobs/9"}, "https://gitlab.com/o/r/-/jobs/9"},
		{"Jenkins", map[string]string{"BUILD_URL": "https://ci.example/job/web/12/"}, "https://ci.example/job/web/12/"},
		{"a repository that is not owner/name", map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "r",
			"GITHUB_RUN_ID": "42"}, ""},
		{"none", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := notify.RunURL(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("RunURL = %q, want %q", got, c.want)
			}
		})
	}
}

func TestAFailingReceiverDoesNotHoldUpTheRollout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
	}{
		{"answers 500", http.StatusInternalServerError},
		{"never answers", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rc := &receiver{status: c.status}
				var mu sync.Mutex
				var warnings []string
				n := notify.New(notify.Options{Specs: []notify.Spec{{Name: "chat", Type: notify.TypeSlack, URL: "http://notify.test/slack"}},
					Client: server(t, rc), Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }})
				p := providertest.NewPlatform("http://svc", "v1")
				e := &engine.Engine{Provider: providertest.Fake{P: p}, Service: "web", ProgressDeadline: time.Minute,
					Retry: engine.DefaultBackoff, Events: n.Event}
				plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: []strategies.Target{{Weight: 10}, {Weight: 100}},
					Interval: 10 * time.Second, FailureThreshold: 1})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				res := e.Deploy(t.Context(), plan, providers.Artifact{Image: "app:v2", Revision: "v2"}, providers.Rollout{ID: "r1"})
				if took := time.Since(start); res.Outcome != engine.OutcomePromoted || took != 10*time.Second {
					t.Fatalf("%s (%s) in %s, want promoted in 10s as without notifications", res.Outcome, res.Reason, took)
				}
				closed := time.Now()
				if err := n.Close(t.Context()); err != nil {
					t.Fatal(err)
				}
				bound := 2 * (webhook.Sender{Timeout: notify.Timeout, Retries: notify.Retries}).Bound() // started and promoted
				if took := time.Since(closed); took > bound {
					t.Errorf("Close took %s, more than %s", took, bound)
				}
				if got := len(rc.at("/slack")); got != 2*(notify.Retries+1) {
					t.Errorf("%d attempts, want %d (two messages, each retried)", got, 2*(notify.Retries+1))
				}
				mu.Lock()
				defer mu.Unlock()
				if len(warnings) != 2 || !strings.Contains(warnings[1], "notification chat: the promoted message was not sent: POST http://notify.test/…") {
					t.Errorf("warnings %q", warnings)
				}
			})
		})
	}
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rc := &receiver{status: 0}
		n := notify.New(notify.Options{Specs: []notify.Spec{{Name: "chat", Type: notify.TypeWebhook, URL: "http://notify.test/x"}},
			Client: server(t, rc)})
		run(n, nil, engine.Result{Outcome: engine.OutcomeFailed, Reason: "boom", Rollout: rollout})
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		err := n.Close(ctx)
		if took := time.Since(start); took != 3*time.Second || err == nil || !strings.Contains(err.Error(), "1 left unsent") {
			t.Errorf("Close: %v after %s, want it to give up after 3s with the failed message unsent", err, took)
		}
	})
}
