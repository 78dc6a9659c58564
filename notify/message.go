package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Message is what one notification says; the generic webhook type posts
// it as is, as JSON.
type Message struct {
	// Event is one of Events.
	Event string `json:"event"`
	// Service and RolloutID identify the rollout; Commit is the commit its
	// candidate was built from, when known.
	Service   string `json:"service"`
	RolloutID string `json:"rollout_id,omitempty"`
	Commit    string `json:"commit,omitempty"`
	// Candidate and Stable are the revisions; Weight the candidate's share
	// of the traffic, in percent.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Weight    int    `json:"weight"`
	// Outcome is how the run ended (promoted, rolled_back, paused,
	// cancelled, failed), for the events that end one.
	Outcome string `json:"outcome,omitempty"`
	// Verdict is the verdict line ("rolled_back: guardrail error-rate ..."),
	// or what started or which step ended.
	Verdict string `json:"verdict,omitempty"`
	// RunURL links the CI run, when there is one.
	RunURL string `json:"run_url,omitempty"`
	// Time is when it happened.
	Time time.Time `json:"time"`
}

// headline says what happened in a few words, e.g. "web: v2 promoted".
func (m Message) headline() string {
	switch m.Event {
	case EventStarted:
		if m.Stable == "" {
			return fmt.Sprintf("%s: first deploy of %s started", m.Service, m.Candidate)
		}
		return fmt.Sprintf("%s: rollout of %s started (stable %s)", m.Service, m.Candidate, m.Stable)
	case EventStep:
		return fmt.Sprintf("%s: %s at %d%%", m.Service, m.Candidate, m.Weight)
	case EventPromoted:
		return fmt.Sprintf("%s: %s promoted", m.Service, m.Candidate)
	case EventRolledBack:
		return fmt.Sprintf("%s: %s rolled back", m.Service, m.Candidate)
	case EventPaused:
		return fmt.Sprintf("%s: rollout of %s paused at %d%%", m.Service, m.Candidate, m.Weight)
	}
	return fmt.Sprintf("%s: rollout of %s failed", m.Service, m.Candidate)
}

// icons mark each event in chat.
var icons = map[string]string{EventStarted: "🚀", EventStep: "➡️", EventPromoted: "✅", EventRolledBack: "↩️",
	EventPaused: "⏸️", EventFailed: "❌"}

// Text is the message as plain text, meaningful alone (Mattermost and
// Teams show only it): the headline, the verdict line and the run's link.
func (m Message) Text() string {
	lines := []string{icons[m.Event] + " " + m.headline()}
	if m.Verdict != "" {
		lines = append(lines, m.Verdict)
	}
	if m.RunURL != "" {
		lines = append(lines, "Run: "+m.RunURL)
	}
	return escape(strings.Join(lines, "\n"))
}

// slackBody is a Slack-compatible incoming-webhook payload: the text, and
// the same in two blocks (a section and a context line) for Slack.
func (m Message) slackBody() ([]byte, error) {
	section := "*" + escape(icons[m.Event]+" "+m.headline()) + "*"
	if m.Verdict != "" {
		section += "\n>" + escape(strings.ReplaceAll(m.Verdict, "\n", " "))
	}
	var ctx []string
	if m.RolloutID != "" {
		ctx = append(ctx, "rollout `"+escape(m.RolloutID)+"`")
	}
	if m.Stable != "" {
		ctx = append(ctx, "stable `"+escape(m.Stable)+"`")
	}
	if m.Commit != "" {
		ctx = append(ctx, "commit `"+escape(short(m.Commit))+"`")
	}
	if m.RunURL != "" {
		ctx = append(ctx, "<"+escape(m.RunURL)+"|run>")
	}
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	blocks := []any{map[string]any{"type": "section", "text": text{"mrkdwn", section}}}
	if len(ctx) > 0 {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []text{{"mrkdwn", strings.Join(ctx, " · ")}}})
	}
	return json.Marshal(map[string]any{"text": m.Text(), "blocks": blocks})
}

// escape makes text safe for Slack's mrkdwn: &, < and > are its control
// characters.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// RunURL links the CI run from its environment: GitHub Actions
// (GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID), GitLab
// (CI_JOB_URL) or Jenkins (BUILD_URL); "" elsewhere.
func RunURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	switch {
	case server != "" && strings.Count(repo, "/") == 1 && id != "":
		return fmt.Sprintf("%s/%s/actions/runs/%s", strings.TrimSuffix(server, "/"), repo, id)
	case getenv("CI_JOB_URL") != "":
		return getenv("CI_JOB_URL")
	}
	return getenv("BUILD_URL")
}
