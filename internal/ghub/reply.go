package ghub

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/providers"
)

// maxReply keeps a reply under GitHub's 65,536-character comment limit.
const maxReply = 60000

// react adds a reaction to the command's comment; GitHub answers 200 when
// it is already there, which is fine.
func (h *handler) react(ctx context.Context, content string) {
	_ = h.calls.call(ctx, h.comments, "react to the comment", func(ctx context.Context) error {
		_, _, err := h.opts.Client.Reactions.CreateIssueCommentReaction(ctx, h.owner, h.repo, h.comment, content)
		return err
	})
}

// reply posts body as a comment on the pull request.
func (h *handler) reply(ctx context.Context, body string) {
	_ = h.calls.call(ctx, h.comments, "reply on the pull request", func(ctx context.Context) error {
		_, _, err := h.opts.Client.Issues.CreateComment(ctx, h.owner, h.repo, h.number, &github.IssueComment{Body: github.Ptr(body)})
		return err
	})
}

// replyBody renders the reply: what became of the command, the Executor's
// text, the rollout's state and a link to the run. Comment text appears in
// it only checked or inside code spans, and never a token, a file path, a
// process ID or a local address (see scrub).
func (h *handler) replyBody(out Outcome, err error) string {
	var b strings.Builder
	what := "That " + code(Prefix) + " command"
	if h.cmd.Verb != "" {
		what = code(h.cmd.String())
	}
	switch out.Disposition {
	case Done:
		fmt.Fprintf(&b, "🚀 %s from @%s: done.\n\n", what, h.actor)
	case Refused:
		fmt.Fprintf(&b, "👎 %s from @%s was refused: %s.\n\n", what, h.actor, out.Reason)
	default:
		fmt.Fprintf(&b, "👎 %s from @%s failed: %s.\n\n", what, h.actor, out.Reason)
	}
	if h.note != "" {
		b.WriteString(h.note + "\n\n")
	}
	if err != nil {
		fmt.Fprintf(&b, "**Error:** %s\n\n", codeN(describeErr(err), 500))
	}
	if t := strings.TrimSpace(out.Result.Text); t != "" {
		b.WriteString(t + "\n\n")
	}
	if h.cmd.Problem != "" {
		b.WriteString(Help() + "\n")
	}
	if h.state != nil {
		b.WriteString(stateLine(*h.state) + "\n\n")
		if s := strings.TrimSpace(h.state.Summary); s != "" {
			fmt.Fprintf(&b, "<details><summary>Rollout summary</summary>\n\n%s\n\n</details>\n\n", s)
		}
	}
	body := scrub(strings.TrimSpace(b.String())) + "\n"
	if h.opts.RunURL != "" {
		body += fmt.Sprintf("\n[Workflow run](%s)\n", h.opts.RunURL)
	}
	body = redact(body)
	if len(body) > maxReply {
		body = body[:strings.LastIndex(body[:maxReply], "\n")+1] + "\n… (cut to fit in a comment)\n"
	}
	return body
}

// stateLine renders where a rollout stands on one line.
func stateLine(s RolloutInfo) string {
	name := "the service"
	if s.Service != "" {
		name = code(s.Service)
	}
	phase := strings.ReplaceAll(string(s.Phase), "_", " ")
	if s.Phase == providers.PhaseNone {
		return fmt.Sprintf("**State of %s:** no rollout recorded", name)
	}
	parts := []string{phase, fmt.Sprintf("%d%% to the candidate", s.Weight)}
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+" "+code(v))
		}
	}
	add("stable", s.Stable)
	add("candidate", s.Candidate)
	add("commit", short(s.Commit))
	return fmt.Sprintf("**State of %s:** %s", name, strings.Join(parts, " · "))
}
