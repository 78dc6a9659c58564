package ghub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/providers"
)

// Executor carries out pull-request commands; the CLI implements it with
// the engine and the provider. HandleComment calls it only for a command it
// has authorised.
type Executor interface {
	// Rollout describes the rollout of service ("" means the configured
	// one) as the provider records it; a service with no rollout recorded
	// gives Phase PhaseNone and no error.
	Rollout(ctx context.Context, service string) (RolloutInfo, error)
	// Run carries out cmd, never a VerbStatus, for actor (the commenter's
	// login) and says how it went. cmd.Commit is the commit the command was
	// authorised against: the pull request's head, or the merge commit of
	// a merged pull request; Run should refuse if the rollout's commit is
	// no longer it.
	// An error means the command could not be carried out at all.
	Run(ctx context.Context, cmd Command, actor string) (Result, error)
}

// RolloutInfo is where a rollout stands.
type RolloutInfo struct {
	// Service names the service.
	Service string
	// Commit is the SHA the candidate was built from, if recorded.
	Commit string
	// Phase is the rollout's phase; PhaseNone when none was recorded.
	Phase providers.Phase
	// Weight is the candidate's share of traffic, in percent.
	Weight int
	// Stable and Candidate are the revisions taking part.
	Stable, Candidate string
	// Summary is optional Markdown shown folded in replies, such as
	// report.Summary's rendering of the rollout.
	Summary string
}

// Result is how a command went.
type Result struct {
	// OK is true when the command did what it asked.
	OK bool
	// Text is Markdown for the reply, e.g. the verdict.
	Text string
}

// CommentOptions configure HandleComment.
type CommentOptions struct {
	// Client talks to the GitHub API (see NewClient). Required.
	Client *github.Client
	// Executor carries out authorised commands. Required.
	Executor Executor
	// Service is the service of a command that names none.
	Service string
	// Services lists the other services a command may name (the input
	// `services`); a command naming any other is refused without calling
	// the Executor.
	Services []string
	// AllowForks lets commands act on pull requests from forks; off by
	// default, as their head commit is not the repository's to vouch for.
	AllowForks bool
	// RunURL links the CI run from the reply.
	RunURL string
	// Warn receives warnings, e.g. that reactions or replies are off for
	// lack of `pull-requests: write`; nil drops them.
	Warn func(string)
	// Timeout bounds each API call; zero means DefaultTimeout.
	Timeout time.Duration
}

// Disposition says what became of a comment.
type Disposition string

// The dispositions of a comment.
const (
	// Ignored: not a command to act on (edited, from a bot, on an issue,
	// not starting with /ramp). Nothing was called.
	Ignored Disposition = "ignored"
	// Refused: a command that was not carried out, politely, for a reason
	// (permission, fork, another commit in flight, an invalid command).
	Refused Disposition = "refused"
	// Done: the command was carried out and did what it asked.
	Done Disposition = "done"
	// Failed: the command was carried out and did not succeed, or could
	// not be carried out.
	Failed Disposition = "failed"
)

// Outcome is what HandleComment did with a comment. Its fields hold no
// comment text, so they are safe to log.
type Outcome struct {
	// Disposition is what became of the comment.
	Disposition Disposition
	// Reason explains an ignored, refused or failed command.
	Reason string
	// Command is the command parsed, if any.
	Command Command
	// Actor is the commenter's login.
	Actor string
	// Number is the pull request's number.
	Number int
	// Result is what the Executor said.
	Result Result
	// Reply is the Markdown reply posted (or meant to be, if replies are off).
	Reply string
}

// ReadCommentEvent parses the issue_comment event payload at path
// (GITHUB_EVENT_PATH).
func ReadCommentEvent(path string) (*github.IssueCommentEvent, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the event payload: %w", err)
	}
	var ev github.IssueCommentEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("parse the issue_comment payload %s: %w", path, err)
	}
	return &ev, nil
}

// HandleComment acts on an issue_comment event. It ignores anything but a
// newly created comment on a pull request, by a person, starting with
// /ramp. It reacts 👀 on receipt; checks that the commenter has write,
// maintain or admin permission (through the collaborator permission API,
// never author_association); pins the pull request's head commit, refuses
// forks unless allowed and refuses if the rollout in flight was not
// deployed from that commit (or, once the pull request is merged, from its
// merge commit, which the reply then says); has the Executor carry the
// command out; then reacts 🚀 or 👎 and replies with the result and the
// current state.
// `/ramp status` changes nothing, so only the permission check applies to
// it and Run is never called for it.
//
// A refusal is no error; an error means GitHub or the Executor could not be
// asked (the Outcome is then Failed and the reply says so).
func HandleComment(ctx context.Context, opts CommentOptions, ev *github.IssueCommentEvent) (Outcome, error) {
	if opts.Client == nil || opts.Executor == nil {
		return Outcome{}, errors.New("ghub: HandleComment needs a GitHub client and an executor")
	}
	if why := ignored(ev); why != "" {
		return ignore(ev, why), nil
	}
	cmd, ok := ParseCommand(ev.GetComment().GetBody())
	if !ok {
		return ignore(ev, "the comment is not a /ramp command"), nil
	}
	owner, repo := repoOf(ev.GetRepo())
	if owner == "" || repo == "" {
		return Outcome{}, errors.New("ghub: the event names no repository")
	}
	h := &handler{opts: opts, calls: newCaller(opts.Timeout, opts.Warn), comments: commentsCap(),
		owner: owner, repo: repo, number: ev.GetIssue().GetNumber(), comment: ev.GetComment().GetID(),
		actor: ev.GetComment().GetUser().GetLogin(), cmd: cmd}
	h.react(ctx, "eyes")
	out, err := h.handle(ctx)
	out.Command, out.Actor, out.Number = h.cmd, h.actor, h.number
	if out.Disposition == Done {
		h.react(ctx, "rocket")
	} else {
		h.react(ctx, "-1")
	}
	out.Reply = h.replyBody(out, err)
	h.reply(ctx, out.Reply)
	return out, redactErr(err)
}

// ignored says why an event is not a command to act on, or "".
func ignored(ev *github.IssueCommentEvent) string {
	login := ev.GetComment().GetUser().GetLogin()
	switch {
	case ev.GetAction() != "created":
		return fmt.Sprintf("the comment was %s, not created", safeWord(ev.GetAction()))
	case ev.GetComment() == nil:
		return "the event carries no comment"
	case ev.GetIssue().GetPullRequestLinks() == nil:
		return "the comment is on an issue, not a pull request"
	case ev.GetComment().GetUser().GetType() == "Bot" || strings.HasSuffix(login, "[bot]"):
		return "the comment is from a bot"
	case login == "":
		return "the comment has no author"
	}
	return ""
}

// ignore is the Outcome of an event ignored for why: who commented where,
// as far as the event says.
func ignore(ev *github.IssueCommentEvent, why string) Outcome {
	out := Outcome{Disposition: Ignored, Reason: why, Number: ev.GetIssue().GetNumber()}
	if login := ev.GetComment().GetUser().GetLogin(); login != "" {
		out.Actor = safeLogin(login)
	}
	return out
}

// repoOf returns a repository's owner and name.
func repoOf(r *github.Repository) (string, string) {
	owner, name := r.GetOwner().GetLogin(), r.GetName()
	if owner == "" || name == "" {
		owner, name, _ = strings.Cut(r.GetFullName(), "/")
	}
	return owner, name
}

// handler handles one command.
type handler struct {
	opts     CommentOptions
	calls    *caller
	comments *capability
	owner    string
	repo     string
	number   int
	comment  int64
	actor    string
	cmd      Command
	state    *RolloutInfo // the rollout's state to show, once known
	note     string       // Markdown said in the reply after its first line, if any
}

// handle authorises and carries out the command.
func (h *handler) handle(ctx context.Context) (Outcome, error) {
	if h.cmd.Problem != "" {
		return refuse(h.cmd.Problem), nil
	}
	allowed, level, err := h.permission(ctx)
	if err != nil {
		return fail(fmt.Sprintf("could not check @%s's permission", h.actor)), err
	}
	if !allowed {
		return refuse(fmt.Sprintf("only users with write access can %s; @%s has %s access to %s/%s",
			h.cmd.Verb.words(), h.actor, level, h.owner, h.repo)), nil
	}
	service := h.cmd.Service
	if service == "" {
		service = h.opts.Service
	}
	if !h.manages(service) {
		return refuse(fmt.Sprintf("%s is not a service this workflow manages; commands may name %s (the input `services` lists the services they may name)",
			code(service), h.managed())), nil
	}
	if h.cmd.Verb == VerbStatus { // changes nothing: no commit to match
		info, err := h.opts.Executor.Rollout(ctx, service)
		if err != nil {
			return fail("could not read the rollout"), fmt.Errorf("read the rollout: %w", err)
		}
		h.state = &info
		return Outcome{Disposition: Done}, nil
	}
	if out, err := h.pin(ctx, service); out.Disposition != "" {
		return out, err
	}
	return h.run(ctx, service)
}

// pin reads the pull request's head commit and checks that the rollout in
// flight was deployed from it, or from its merge commit once it is merged;
// a zero Outcome lets the command go on.
func (h *handler) pin(ctx context.Context, service string) (Outcome, error) {
	var pr *github.PullRequest
	err := h.calls.read(ctx, func(ctx context.Context) error {
		var err error
		pr, _, err = h.opts.Client.PullRequests.Get(ctx, h.owner, h.repo, h.number)
		return err
	})
	if err != nil {
		return fail(fmt.Sprintf("could not read pull request #%d", h.number)), fmt.Errorf("read pull request #%d: %w", h.number, err)
	}
	head := pr.GetHead().GetSHA()
	merge := "" // the merge commit, once merged; before, merge_commit_sha is a test merge on no branch
	if pr.GetMerged() {
		merge = pr.GetMergeCommitSHA()
	}
	from, base := pr.GetHead().GetRepo().GetFullName(), pr.GetBase().GetRepo().GetFullName()
	if !h.opts.AllowForks && (from == "" || !strings.EqualFold(from, base)) {
		return refuse("this pull request comes from a fork, and commands on forks are turned off"), nil
	}
	info, err := h.opts.Executor.Rollout(ctx, service)
	if err != nil {
		return fail("could not read the rollout"), fmt.Errorf("read the rollout: %w", err)
	}
	h.state = &info
	name := code(info.Service)
	if info.Service == "" {
		name = "the service"
	}
	mergeWords := ""
	if merge != "" {
		mergeWords = " or its merge commit " + short(merge)
	}
	switch {
	case info.Phase == providers.PhaseNone:
		return refuse(fmt.Sprintf("no rollout of %s is recorded", name)), nil
	case info.Commit == "":
		return refuse(fmt.Sprintf("the rollout of %s records no commit, so it cannot be matched with this pull request's head %s%s",
			name, short(head), mergeWords)), nil
	case SameCommit(info.Commit, head):
		h.cmd.Commit = head
	case merge != "" && SameCommit(info.Commit, merge):
		h.cmd.Commit = merge
		h.note = fmt.Sprintf("Pull request #%d is merged: the rollout of %s was deployed from its merge commit %s, not its head %s, and the command applies to it.",
			h.number, name, code(short(merge)), code(short(head)))
	case merge != "":
		return refuse(fmt.Sprintf("the rollout in flight was deployed from %s, neither this PR's head %s nor its merge commit %s",
			short(info.Commit), short(head), short(merge))), nil
	default:
		return refuse(fmt.Sprintf("the rollout in flight was deployed from %s, not this PR's head %s",
			short(info.Commit), short(head))), nil
	}
	return Outcome{}, nil
}

// run has the Executor carry out the command, then reads the new state.
func (h *handler) run(ctx context.Context, service string) (Outcome, error) {
	cmd := h.cmd
	cmd.Service = service
	res, err := h.opts.Executor.Run(ctx, cmd, h.actor)
	if err != nil {
		return fail("could not " + h.cmd.Verb.words()), fmt.Errorf("%s: %w", h.cmd.Verb, err)
	}
	if info, err := h.opts.Executor.Rollout(ctx, service); err == nil {
		h.state = &info
	}
	out := Outcome{Disposition: Done, Result: res}
	if !res.OK {
		out.Disposition, out.Reason = Failed, fmt.Sprintf("the %s did not succeed", h.cmd.Verb)
	}
	return out, nil
}

// permission asks GitHub whether the commenter may act: write, maintain or
// admin. It returns the commenter's role too.
func (h *handler) permission(ctx context.Context) (bool, string, error) {
	var lvl *github.RepositoryPermissionLevel
	err := h.calls.read(ctx, func(ctx context.Context) error {
		var err error
		lvl, _, err = h.opts.Client.Repositories.GetPermissionLevel(ctx, h.owner, h.repo, h.actor)
		return err
	})
	if err != nil {
		return false, "", fmt.Errorf("check the permission of %s: %w", h.actor, err)
	}
	role := lvl.GetRoleName()
	if role == "" {
		role = lvl.GetPermission()
	}
	if role == "" {
		role = "no"
	}
	if p := lvl.GetUser().GetPermissions(); p != nil {
		return p["admin"] || p["maintain"] || p["push"], safeWord(role), nil
	}
	switch role {
	case "admin", "maintain", "write":
		return true, role, nil
	}
	return false, safeWord(role), nil
}

// SameCommit reports whether two SHAs, either perhaps abbreviated to at
// least 7 characters, name the same commit.
func SameCommit(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) < 7 || len(b) < 7 {
		return false
	}
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

func refuse(why string) Outcome { return Outcome{Disposition: Refused, Reason: why} }

func fail(why string) Outcome { return Outcome{Disposition: Failed, Reason: why} }
