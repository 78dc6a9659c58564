package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/webhook"
)

// hookReceiver is the webhooks' and notifications' endpoint: it checks
// every signature, answers /approve as approve says and everything else
// 200, and keeps what it got.
type hookReceiver struct {
	secret  string
	mu      sync.Mutex
	approve bool
	got     []string // "path event-or-type", in order
	bad     []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p struct{ Type, Event, Verdict string }
	_ = json.Unmarshal(body, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	ts := r.Header.Get(webhook.TimestampHeader)
	if r.Header.Get(webhook.SignatureHeader) != webhook.Sign(h.secret, ts, body) {
		h.bad = append(h.bad, r.URL.Path)
	}
	h.got = append(h.got, strings.TrimSpace(r.URL.Path+" "+p.Type+p.Event))
	if r.URL.Path == "/approve" && !h.approve {
		http.Error(w, "not yet", http.StatusConflict)
	}
}

func (h *hookReceiver) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

// TestWebhooksAndNotificationsAcrossProcesses: the deploy reads the
// webhooks and notifications from ramp.yaml; a confirm-promotion that says
// "not yet" pauses the rollout past the progress deadline; resume and
// rollback, run where no ramp.yaml is, call the webhooks the record
// stores, all signed with webhook-secret.
func TestWebhooksAndNotificationsAcrossProcesses(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{secret: "s3cret", approve: true}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	withFile, bare := t.TempDir(), t.TempDir()
	file := fmt.Sprintf(`webhooks:
  - {name: approve, type: confirm-promotion, url: %[1]s/approve, retries: 0}
  - {name: done, type: post-rollout, url: %[1]s/done}
  - {name: undo, type: rollback, url: %[1]s/undo}
notifications:
  - {name: ops, type: webhook, url: "${NOTIFY_URL}", events: [started, promoted, paused, rolled-back]}
`, srv.URL)
	if err := os.WriteFile(filepath.Join(withFile, "ramp.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"RAMP_PROVIDER": "local", "RAMP_SERVICE": "web", "RAMP_STATE_DIR": filepath.Join(t.TempDir(), "state"),
		"RAMP_LISTEN": freePort(t), "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0", "RAMP_PROGRESS_DEADLINE": "1s",
		"RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe), "RAMP_WEBHOOK_SECRET": h.secret, "NOTIFY_URL": srv.URL + "/notify"}
	step := func(dir string, want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), args, cli.Env{Getenv: func(k string) string { return vars[k] }, Stdout: &out, Stderr: &errb, Dir: dir})
		if code != want {
			t.Fatalf("ramp %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String()
	}
	t.Cleanup(func() { step(bare, cli.ExitOK, "down") }) // t.Context() is already done then
	expect := func(what string, want ...string) {
		t.Helper()
		if got := h.take(); strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s: the receiver got %q, want %q", what, got, want)
		}
	}

	step(withFile, cli.ExitOK, "deploy", "--revision=v1", "--env=SAMPLE_VERSION=v1")
	expect("first deploy", "/notify started", "/approve confirm-promotion", "/done post-rollout", "/notify promoted")

	h.mu.Lock()
	h.approve = false
	h.mu.Unlock()
	out := step(withFile, cli.ExitPaused, "deploy", "--revision=v2", "--env=SAMPLE_VERSION=v2", "--steps=50,100", "--max-error-rate=0")
	if !strings.Contains(out, "webhook approve (confirm-promotion): answered 409 after 1 attempt: not yet") || !strings.Contains(out, "not confirmed within progress-deadline 1s") {
		t.Errorf("deploy output lacks the refusal and the pause:\n%s", out)
	}
	got := h.take()
	if len(got) < 4 || got[0] != "/notify started" || got[len(got)-1] != "/notify paused" || !strings.Contains(strings.Join(got, ","), "/approve confirm-promotion,/approve confirm-promotion") {
		t.Errorf("paused deploy: the receiver got %q, want started, confirm-promotion asked again and again, paused", got)
	}

	h.mu.Lock()
	h.approve = true
	h.mu.Unlock()
	step(bare, cli.ExitOK, "resume") // no ramp.yaml here: the record's webhooks, no notifications
	expect("resume", "/approve confirm-promotion", "/done post-rollout")
	step(bare, cli.ExitOK, "rollback")
	expect("rollback", "/undo rollback", "/done post-rollout")

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bad) > 0 {
		t.Errorf("calls not signed with webhook-secret: %q", h.bad)
	}
}

// TestValidateNamesWebhooksAndUnsetNotificationURLs: validate lists the
// webhooks and warns of a notification whose URL variable is not set.
func TestValidateNamesWebhooksAndUnsetNotificationURLs(t *testing.T) {
	t.Parallel()
	const file = `provider: local
service: web
image: ./web
webhooks:
  - {name: approve, type: confirm-promotion, url: "http://127.0.0.1:9/approve"}
  - {name: smoke, type: pre-rollout, url: "http://127.0.0.1:9/smoke"}
notifications:
  - {name: chat, type: slack, url: "${SLACK_WEBHOOK_URL}"}
`
	cases := []struct {
		name string
		vars map[string]string
		note bool
	}{
		{"variable unset", nil, true},
		{"variable set", map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/x"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := rampIn(t, map[string]string{"ramp.yaml": file}, c.vars, "validate")
			if code != cli.ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, "webhooks: approve (confirm-promotion), smoke (pre-rollout)\n") {
				t.Errorf("validate does not list the webhooks:\n%s", out)
			}
			if note := strings.Contains(out, "note: notification chat: $SLACK_WEBHOOK_URL is not set here"); note != c.note {
				t.Errorf("note about $SLACK_WEBHOOK_URL: %v, want %v:\n%s", note, c.note, out)
			}
		})
	}
}
