package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// providerOnly builds the provider for the control commands.
func (a *app) providerOnly() (providers.Provider, error) {
	if err := a.checked(a.cfg.Require(a.vals, "provider", "service")); err != nil {
		return nil, err
	}
	target := a.cfg.Target
	if !a.vals.Given("listen") {
		// Find the running agent wherever deploy put it; only deploy
		// decides the address.
		target.Listen = "127.0.0.1:0"
	}
	p, err := registry.New(a.cfg.Provider, target)
	if err != nil {
		return nil, withCode(ExitInvalid, err)
	}
	return p, nil
}

// actor names who acted, for the rollout record.
func (a *app) actor(verb string) string {
	if a.cfg.Reason != "" {
		return a.cfg.Reason
	}
	who := a.env.Getenv("GITHUB_ACTOR")
	if who == "" {
		who = a.env.Getenv("USER")
	}
	if who == "" {
		return verb + " from the command line"
	}
	return fmt.Sprintf("%s by %s", verb, who)
}

// control runs one engine command with console or JSON output.
func (a *app) control(ctx context.Context, do func(*engine.Engine, string) engine.Result, verb string) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	out := a.newOutput()
	out.resumed = true
	// The rollout's commit and the webhooks its record stores.
	st, stErr := prov.Status(ctx)
	if _, _, _, on, _ := a.repo(); on { // report on the commit the rollout was deployed from
		if stErr != nil {
			return withCode(ExitProvider, fmt.Errorf("read the rollout of %q: %w", a.cfg.Target.Service, stErr))
		}
		if err := out.attachGitHub(ctx, st.Rollout.Commit, 0); err != nil {
			return err
		}
	}
	out.attachNotify(ctx)
	e := a.newEngine(prov, nil, gates.Metrics{}, a.cfg.Rollout, out.sink)
	if stErr == nil { // otherwise the command reports why it cannot read the rollout
		e = a.withHooks(e, storedWebhooks(st), st.Rollout)
	}
	return out.finish(do(e, a.actor(verb)))
}

func promote(ctx context.Context, a *app) error {
	return a.control(ctx, func(e *engine.Engine, why string) engine.Result { return e.Promote(ctx, why) }, "promoted")
}

func rollback(ctx context.Context, a *app) error {
	err := a.control(ctx, func(e *engine.Engine, why string) engine.Result { return e.Rollback(ctx, why) }, "rolled back")
	if Code(err) == ExitRolledBack { // the rollback asked for happened
		return nil
	}
	return err
}

func pause(ctx context.Context, a *app) error {
	err := a.control(ctx, func(e *engine.Engine, why string) engine.Result { return e.Pause(ctx, why) }, "paused")
	if Code(err) == ExitPaused { // pausing succeeded: this command did what it was asked
		return nil
	}
	return err
}

// status runs `ramp status`: the service as the platform reports it, the
// record, and where they disagree (exit code ExitDrift while they do).
func status(ctx context.Context, a *app) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	st, err := prov.Status(ctx)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("read status of %q: %w", a.cfg.Target.Service, err))
	}
	st.Drift = providers.Diagnose(st, time.Now())
	return a.printStatus(st)
}

// repair runs `ramp repair`: it reconciles the record with the platform,
// making every repair that needs no decision, and shows what remains.
func repair(ctx context.Context, a *app) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	out := a.newOutput()
	st, err := a.newEngine(prov, nil, gates.Metrics{}, a.cfg.Rollout, out.sink).Reconcile(ctx)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("repair %q: %w", a.cfg.Target.Service, err))
	}
	return a.printStatus(st)
}

// printStatus prints st and returns ExitDrift while drift that no live
// process is repairing remains.
func (a *app) printStatus(st providers.Status) error {
	if a.cfg.Output == "json" {
		enc := json.NewEncoder(a.env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		fmt.Fprint(a.env.Stdout, statusText(a.cfg.Target.Service, st))
	}
	for _, d := range st.Drift {
		if !d.Driven {
			return withCode(ExitDrift, fmt.Errorf("the record of %q and the platform disagree: %s; run: %s", a.cfg.Target.Service, d.Detail, d.Repair))
		}
	}
	return nil
}

// statusText renders a service's status for people.
func statusText(service string, st providers.Status) string {
	var b strings.Builder
	printStatus(&b, service, st)
	return b.String()
}

func printStatus(w io.Writer, service string, st providers.Status) {
	rev := func(r *providers.Revision) string {
		if r == nil {
			return "-"
		}
		s := r.ID
		if r.URL != "" {
			s += " (" + r.URL + ")"
		}
		if !r.Ready {
			s += " not ready"
		}
		return s
	}
	fmt.Fprintf(w, "service    %s %s\n", service, st.URL)
	fmt.Fprintf(w, "stable     %s\ncandidate  %s\nprevious   %s\nweight     %d%% to the candidate\n",
		rev(st.Stable), rev(st.Candidate), rev(st.Previous), st.Weight)
	printRecord(w, st.Rollout)
	for _, m := range st.Warnings {
		fmt.Fprintf(w, "warning    %s\n", m)
	}
	for _, d := range st.Drift {
		fmt.Fprintf(w, "drift      %s\n           repair: %s\n", d.Detail, d.Repair)
	}
}

// printRecord prints the rollout record: phase, reason, lease and intent.
func printRecord(w io.Writer, r providers.Rollout) {
	if r.Phase == providers.PhaseNone {
		fmt.Fprintln(w, "rollout    none recorded")
		return
	}
	fmt.Fprintf(w, "rollout    %s %s at %d%% (%s, %supdated %s)\n", r.ID, r.Phase, r.Weight, r.Strategy, withComma(stepText(r)), r.UpdatedAt.Format(time.RFC3339))
	if p, ok := recordProgress(r); ok {
		fmt.Fprintf(w, "progress   %s\n", p)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "reason     %s\n", r.Reason)
	}
	if r.Commit != "" {
		fmt.Fprintf(w, "commit     %s\n", r.Commit)
	}
	if l := r.Lease; l != nil && r.Phase == providers.PhaseProgressing {
		state := "live"
		if alive, why := l.Alive(time.Now()); !alive {
			state = why
		}
		fmt.Fprintf(w, "driven by  %s, lease until %s (%s)\n", l.Holder, l.Until.Format(time.RFC3339), state)
	}
	if in := r.Intent; in != nil {
		fmt.Fprintf(w, "intent     %s, stated %s\n", in.Transition(r), in.At.Format(time.RFC3339))
	}
	if !r.PreviousUntil.IsZero() {
		fmt.Fprintf(w, "previous kept warm until %s\n", r.PreviousUntil.Format(time.RFC3339))
	}
}

// plan runs `ramp plan`: the schedule, then a read-only reachability check.
func plan(ctx context.Context, a *app) error {
	ro, err := a.prepare(ctx, a.cfg.Rollout)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stdout, "%s\n\n", a.vals.File.Describe())
	printPlan(a.env.Stdout, ro)
	if err := ro.prov.Preflight(ctx); err != nil {
		return withCode(ExitProvider, fmt.Errorf("provider %s is not reachable for %q: %w", a.cfg.Provider, a.cfg.Target.Service, err))
	}
	if c, ok := ro.source.(gates.AccessChecker); ok && ro.reads {
		if err := c.CheckMetricsAccess(ctx); err != nil {
			return withCode(ExitProvider, fmt.Errorf("the judge, guardrails and checks of %q could not read their metrics: %w", a.cfg.Target.Service, err))
		}
		fmt.Fprintf(a.env.Stdout, "\nmetrics: readable\n")
	}
	fmt.Fprintf(a.env.Stdout, "\nprovider %s: reachable; nothing was changed\n", a.cfg.Provider)
	return nil
}

// validate runs `ramp validate`.
// Every environment of the configuration file is checked too.
func validate(ctx context.Context, a *app) error {
	ro, err := a.prepare(ctx, a.cfg.Rollout)
	if others := a.checkEnvironments(ctx, err); others != nil {
		return withCode(ExitInvalid, errors.Join(append(problemsOf(err), problemsOf(others)...)...))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stdout, "%s\n\n", a.vals.File.Describe())
	printPlan(a.env.Stdout, ro)
	fmt.Fprintln(a.env.Stdout, "\nconfiguration is valid")
	return nil
}

func printPlan(w io.Writer, ro rollout) {
	p := ro.plan
	fmt.Fprintf(w, "strategy %s, gates checked every %s, %d failed checks in a row roll back\n\n", p.Strategy, input.Duration(p.Interval), p.FailureThreshold)
	var at time.Duration
	for i, s := range p.Steps {
		line := s.String()
		if note := p.PromoteNote(i); note != "" {
			line += " (" + note + ")"
		}
		fmt.Fprintf(w, "  %2d. at %-8s %s\n", i+1, input.Duration(at), line)
		at += p.HoldTime(s)
	}
	var names []string
	for _, g := range ro.gates {
		names = append(names, g.Name())
	}
	names = append(names, metricGates(ro.metrics)...)
	if len(names) == 0 {
		names = []string{"none"}
	}
	fmt.Fprintf(w, "\ngates: %s\n", strings.Join(names, ", "))
	if len(ro.webhooks) > 0 {
		var hs []string
		for _, h := range ro.webhooks {
			hs = append(hs, fmt.Sprintf("%s (%s)", h.Name, h.Type))
		}
		fmt.Fprintf(w, "webhooks: %s\n", strings.Join(hs, ", "))
	}
	line, delayNotes := delayPlan(p, ro.metrics, ro.delayFrom, ro.deadline)
	later := ""
	if line != "" {
		later = fmt.Sprintf("; the metrics show it %s later", input.Duration(ro.metrics.Delay))
	}
	if wait := p.Waits(); wait != "" {
		fmt.Fprintf(w, "expected time to full promotion: %s of steps, then %s\n", input.Duration(p.ToPromotion()), wait)
	} else {
		fmt.Fprintf(w, "expected time to full promotion: %s (longer while a probe has no verdict)\n", input.Duration(p.ToPromotion()))
	}
	fmt.Fprintf(w, "worst-case time to rollback once the candidate fails: %s (interval x failure-threshold%s)\n", input.Duration(p.WorstRollback()), later)
	if line != "" {
		fmt.Fprintln(w, line)
	}
	for _, n := range append(ro.notes, delayNotes...) {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// metricGates describes the judge and the guardrails for the plan.
func metricGates(m gates.Metrics) []string {
	var out []string
	if j := m.Judge; j != nil {
		var what []string
		if j.Errors {
			what = append(what, "errors")
		}
		if j.Latency {
			what = append(what, "latency")
		}
		policy := m.OnInconclusive
		if policy == "" {
			policy = gates.OnInconclusivePromote
		}
		out = append(out, fmt.Sprintf("judge comparing %s with the stable (alpha %g, tolerance %g; inconclusive before 100%%: %s; once the candidate has traffic)",
			strings.Join(what, " and "), j.Alpha, j.Tolerance, policy))
	}
	for _, g := range m.Guardrails {
		unit := "ms"
		if g.Metric == gates.MetricErrorRate {
			unit = "%"
		}
		out = append(out, fmt.Sprintf("guardrail %s <= %s%s (over at least %d requests)", g.Metric, gates.FormatValue(g.Max), unit, g.MinRequests))
	}
	return out
}
