package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/hooks"
	"github.com/ramp-deploy/ramp/report"
)

func TestWebhookCallsAreReported(t *testing.T) {
	t.Parallel()
	at := engine.At{At: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	cases := []struct {
		name   string
		answer hooks.Answer
		line   string
	}{
		{"refused", hooks.Answer{Hook: "approve", Type: "confirm-promotion", Status: 409, Attempts: 1, Message: "not yet"},
			"webhook approve (confirm-promotion): answered 409 after 1 attempt: not yet"},
		{"ok", hooks.Answer{Hook: "smoke", Type: "pre-rollout", OK: true, Status: 200, Attempts: 2},
			"webhook smoke (pre-rollout): answered 200 after 2 attempts ok"},
		{"no answer", hooks.Answer{Hook: "tell", Type: "post-rollout", Attempts: 3, Message: "no answer within 10s"},
			"webhook tell (post-rollout): no answer after 3 attempts: no answer within 10s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev := &engine.HookCalled{At: at, Weight: 10, Answer: c.answer}
			var out bytes.Buffer
			(&report.Console{W: &out}).Event(ev)
			if !strings.Contains(out.String(), "| "+c.line+"\n") {
				t.Errorf("console %q, want %q", out.String(), c.line)
			}
			s := &report.Summary{}
			s.Event(ev)
			if md := s.Markdown(); !strings.Contains(md, "1 webhook call</summary>") || !strings.Contains(md, "- "+c.line) {
				t.Errorf("markdown lacks the call:\n%s", md)
			}
			if line := string(report.Line(ev)); !strings.Contains(line, `"type":"hook_called"`) || !strings.Contains(line, `"hook":"`+c.answer.Hook+`"`) {
				t.Errorf("json %s", line)
			}
		})
	}
}
