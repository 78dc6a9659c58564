package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/ghub"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// comment runs `ramp comment`: it handles an issue_comment event carrying
// a `/ramp promote|rollback|pause|resume|status [service]` command.
func comment(ctx context.Context, a *app) error {
	services, err := a.commentServices()
	if err := a.checked(a.cfg.Require(a.vals, "provider", "service"), err); err != nil {
		return err
	}
	if name := a.env.Getenv("GITHUB_EVENT_NAME"); name != "issue_comment" {
		fmt.Fprintf(a.env.Stdout, "ramp comment: the event is %q, not issue_comment; nothing to do\n", name)
		return nil
	}
	ev, err := ghub.ReadCommentEvent(a.env.Getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	c, _, _, on, err := a.repo()
	if err != nil {
		return err
	}
	if !on {
		return withCode(ExitInvalid, errors.New(`input "github-token": is required to answer PR comments (and GITHUB_REPOSITORY must be owner/name)`))
	}
	rt := a.runtime()
	warn := func(msg string) {
		fmt.Fprintf(a.env.Stderr, "ramp: warning: %s\n", msg)
		rt.Annotate("warning", "ramp", msg)
	}
	x := &executor{a: a}
	out, err := ghub.HandleComment(ctx, ghub.CommentOptions{Client: c, Executor: x, Service: a.cfg.Target.Service,
		Services: services, RunURL: runURL(a.env.Getenv), Warn: warn}, ev)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("answer the comment: %w", err))
	}
	outs := x.outputs(out)
	fmt.Fprintf(a.env.Stdout, "ramp comment: %s\n", logLine(out, outs["summary"]))
	if err := rt.SetOutputs(outs); err != nil {
		warn(err.Error())
	}
	if out.Disposition == ghub.Failed {
		return withCode(ExitProvider, fmt.Errorf("%s failed: %s", out.Command, out.Reason))
	}
	return nil
}

// commentServices reads the input `services`: the other services a
// command may name, comma, space or newline separated.
func (a *app) commentServices() ([]string, error) {
	raw := a.vals.Get("services")
	names := strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	var errs []error
	for _, n := range names {
		if !ghub.ValidService(n) {
			errs = append(errs, input.Invalid("services", raw, "%q is not a service name (letters, digits, '.', '_' and '-')", n))
		}
	}
	return names, errors.Join(errs...)
}

// logLine describes what became of a comment, for the log: the
// disposition, the command, who asked where, and why or the result.
func logLine(out ghub.Outcome, summary string) string {
	s := string(out.Disposition)
	switch {
	case out.Command.Verb != "":
		s += " `" + out.Command.String() + "`"
	case out.Disposition != ghub.Ignored:
		s += " a " + ghub.Prefix + " command"
	default:
		s += " a comment"
	}
	if out.Actor != "" {
		s += " by @" + out.Actor
	}
	if out.Number > 0 {
		s += fmt.Sprintf(" on #%d", out.Number)
	}
	if summary != "" {
		s += ": " + summary
	}
	return s
}

// executor carries out PR comment commands with the engine and the provider.
// It keeps what the last command did and the last status it read, for the
// step's outputs.
type executor struct {
	a       *app
	result  *engine.Result    // what the last Run did
	status  *providers.Status // the last status Rollout read
	service string            // the service of status
}

var _ ghub.Executor = (*executor)(nil)

// outputs are the step's outputs for out: result is the disposition; after
// a command that was carried out, summary says what it did (or, for
// status, where the rollout stands) and stable, candidate, weight and url
// where the rollout stands now; otherwise summary says why not.
func (x *executor) outputs(out ghub.Outcome) map[string]string {
	outs := map[string]string{"result": string(out.Disposition), "summary": out.Reason}
	if out.Disposition != ghub.Done || x.status == nil {
		return outs
	}
	st := *x.status
	outs["stable"], outs["candidate"] = revisionID(st.Stable), revisionID(st.Candidate)
	outs["weight"], outs["url"] = strconv.Itoa(st.Weight), st.URL
	switch {
	case x.result != nil:
		outs["summary"] = outputsOf(*x.result)["summary"]
	case st.Rollout.Phase == providers.PhaseNone:
		outs["summary"] = fmt.Sprintf("%s: no rollout recorded", x.service)
	default:
		outs["summary"] = fmt.Sprintf("%s: %s at %d%% to the candidate", x.service, st.Rollout.Phase, st.Weight)
	}
	return outs
}

// revisionID is r's ID, or "" for none.
func revisionID(r *providers.Revision) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// providerFor builds the configured provider for service ("" is the
// configured one). Another service (one the input `services` lists) has
// its own state directory and status context, so the configured service's
// are not carried over.
func (x *executor) providerFor(service string) (*app, providers.Provider, error) {
	a := *x.a
	if service != "" && service != a.cfg.Target.Service {
		a.cfg.Target.Service = service
		a.cfg.Target.StateDir = "" // the local provider's default for service
		a.cfg.GitHub.StatusContext = "ramp/" + service
	}
	p, err := a.providerOnly()
	return &a, p, err
}

// Rollout describes the rollout recorded on service.
func (x *executor) Rollout(ctx context.Context, service string) (ghub.RolloutInfo, error) {
	a, p, err := x.providerFor(service)
	if err != nil {
		return ghub.RolloutInfo{}, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return ghub.RolloutInfo{}, fmt.Errorf("read the rollout of %q: %w", a.cfg.Target.Service, err)
	}
	x.status, x.service = &st, a.cfg.Target.Service
	info := ghub.RolloutInfo{Service: a.cfg.Target.Service, Commit: st.Rollout.Commit, Phase: st.Rollout.Phase,
		Weight: st.Weight, Summary: "```\n" + statusText(a.cfg.Target.Service, st) + "```"}
	if st.Stable != nil {
		info.Stable = st.Stable.ID
	}
	if st.Candidate != nil {
		info.Candidate = st.Candidate.ID
	}
	return info, nil
}

// Run carries out a command for actor, re-checking that the rollout still
// comes from the commit the command was authorised against.
func (x *executor) Run(ctx context.Context, cmd ghub.Command, actor string) (ghub.Result, error) {
	a, p, err := x.providerFor(cmd.Service)
	if err != nil {
		return ghub.Result{}, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return ghub.Result{}, fmt.Errorf("read the rollout of %q: %w", a.cfg.Target.Service, err)
	}
	if cmd.Commit != "" && !ghub.SameCommit(st.Rollout.Commit, cmd.Commit) {
		return ghub.Result{OK: false, Text: fmt.Sprintf("the rollout of %s now comes from %s, not %s; nothing was changed",
			a.cfg.Target.Service, short(st.Rollout.Commit), short(cmd.Commit))}, nil
	}
	out := a.newOutput()
	out.resumed = true
	if err := out.attachGitHub(ctx, st.Rollout.Commit, 0); err != nil {
		return ghub.Result{}, err
	}
	out.attachNotify(ctx)
	why := fmt.Sprintf("%s by @%s (PR comment)", map[ghub.Verb]string{ghub.VerbPromote: "promoted",
		ghub.VerbRollback: "rolled back", ghub.VerbPause: "paused", ghub.VerbResume: "resumed"}[cmd.Verb], actor)
	res, want := x.do(ctx, a, p, st, cmd.Verb, why, out)
	x.result = &res
	out.flush()
	ok := res.Outcome == want
	text := fmt.Sprintf("**%s**: %s\n\n%s", res.Outcome, res.Reason, out.summary.Markdown())
	return ghub.Result{OK: ok, Text: text}, nil
}

// do runs the engine command for verb and says which outcome means success.
func (x *executor) do(ctx context.Context, a *app, p providers.Provider, st providers.Status, verb ghub.Verb, why string,
	out *output) (engine.Result, engine.Outcome) {
	command := a.withHooks(a.newEngine(p, nil, gates.Metrics{}, a.cfg.Rollout, out.sink), storedWebhooks(st), st.Rollout)
	switch verb {
	case ghub.VerbPromote:
		return command.Promote(ctx, why), engine.OutcomePromoted
	case ghub.VerbRollback:
		return command.Rollback(ctx, why), engine.OutcomeRolledBack
	case ghub.VerbPause:
		return command.Pause(ctx, why), engine.OutcomePaused
	case ghub.VerbResume:
		r, err := config.DecodeRollout(st.Rollout.Spec)
		if err != nil {
			return engine.Result{Outcome: engine.OutcomeFailed, Reason: err.Error(), Err: err}, engine.OutcomePromoted
		}
		ro, err := a.prepare(ctx, r)
		if err != nil {
			return engine.Result{Outcome: engine.OutcomeFailed, Reason: err.Error(), Err: err}, engine.OutcomePromoted
		}
		e := a.withHooks(a.newEngine(ro.prov, ro.gates, ro.metrics, r, out.sink), r.Gates.Webhooks, st.Rollout)
		return e.Resume(ctx, ro.plan), engine.OutcomePromoted
	}
	err := fmt.Errorf("verb %q cannot be run", verb)
	return engine.Result{Outcome: engine.OutcomeFailed, Reason: err.Error(), Err: err}, engine.OutcomePromoted
}
