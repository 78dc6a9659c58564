package cli

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/actions"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/report"
)

// output routes a run's events to the console or JSON Lines, to the job
// summary as the rollout goes, and at the end to the outputs, the dotenv
// file and the summary file.
type output struct {
	a       *app
	rt      *actions.Runtime
	sink    engine.Sink
	human   engine.Sink
	summary *report.Summary
	extra   []engine.Sink
	closers []func()
	// resumed is set when the run continues a rollout an earlier job began.
	resumed bool
	// grouped is set while a log group is open.
	grouped bool
	// unsent is set when some GitHub reports could not be sent in time.
	unsent bool
	// stopLive stops the live status line's countdowns (on a terminal).
	stopLive func()
}

func (a *app) newOutput() *output {
	o := &output{a: a, rt: a.runtime(),
		summary: &report.Summary{Service: a.cfg.Target.Service, RunURL: runURL(a.env.Getenv)}}
	if a.cfg.Output == "json" {
		o.human = (&report.JSON{W: a.env.Stdout}).Event
	} else {
		c, stop := a.console(false)
		o.human, o.stopLive = c.Event, stop
	}
	o.rebuild()
	a.out = o
	return o
}

// rebuild sets the sink from the reporters attached so far.
func (o *output) rebuild() {
	sinks := []engine.Sink{o.group, o.human, o.summary.Event, o.progress, o.state}
	o.sink = report.Multi(append(sinks, o.extra...)...)
}

// runtime returns the Actions runtime, masking every secret first.
func (a *app) runtime() *actions.Runtime {
	if a.rt != nil { // masked once per process
		return a.rt
	}
	a.rt = actions.New(a.env.Getenv, a.env.Stdout)
	for _, s := range a.secrets() {
		a.rt.Mask(s)
	}
	return a.rt
}

var secretName = regexp.MustCompile(`(?i)(token|secret|password|passwd|api[-_]?key|credential|private[-_]?key)`)

// secrets lists the values to mask: secret options and secret-looking
// KEY=VALUE pairs given to the new revision.
func (a *app) secrets() []string {
	var out []string
	for _, o := range config.Options {
		if o.Secret && a.vals.Get(o.Name) != "" {
			out = append(out, a.vals.Get(o.Name))
		}
	}
	for _, h := range a.cfg.Prometheus.Headers { // each header's value on its own too
		if _, v, ok := strings.Cut(h, ":"); ok && strings.TrimSpace(v) != "" {
			out = append(out, strings.TrimSpace(v))
		}
	}
	for _, kv := range a.cfg.Artifact.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" && secretName.MatchString(k) {
			out = append(out, v)
		}
	}
	return out
}

// group puts each step in a collapsible log group on GitHub Actions. A
// group closes when the next one opens, so a step's last lines stay in it.
func (o *output) group(ev engine.Event) {
	if o.a.cfg.Output == "json" { // keep stdout pure JSON Lines
		return
	}
	switch e := ev.(type) {
	case *engine.StepStarted:
		if o.grouped {
			o.rt.EndGroup()
		}
		o.rt.Group(fmt.Sprintf("step %d/%d: %s", e.Index+1, e.Total, e.Step))
		o.grouped = true
	case *engine.Finished:
		if o.grouped {
			o.rt.EndGroup()
		}
		o.grouped = false
	}
}

// progress rewrites the job summary at every milestone, so a cancelled job
// still shows what happened.
func (o *output) progress(ev engine.Event) {
	switch ev.(type) {
	case *engine.Started, *engine.StepDone, *engine.Paused, *engine.Promoted, *engine.RolledBack, *engine.Finished:
		if err := o.rt.WriteSummary(report.Markdown(o.summary)); err != nil {
			fmt.Fprintf(o.a.env.Stderr, "ramp: %v\n", err)
		}
	}
}

// state tells the action's post step which rollout this job ran and
// whether it reached a final state (STATE_rollout, STATE_finished).
func (o *output) state(ev engine.Event) {
	var kv map[string]string
	switch e := ev.(type) {
	case *engine.Started:
		kv = map[string]string{"rollout": e.ID}
	case *engine.Finished:
		kv = map[string]string{"finished": string(e.Result.Outcome)}
	default:
		return
	}
	if err := o.rt.SaveState(kv); err != nil {
		fmt.Fprintf(o.a.env.Stderr, "ramp: %v\n", err)
	}
}

// note tells the user something about the setup before the run starts.
func (o *output) note(msg string) { o.sink(&engine.Warning{Message: msg}) }

// finish writes the outputs, the dotenv and summary files and the verdict
// annotation, then turns the result into the command's error.
func (o *output) finish(res engine.Result) error {
	if o.stopLive != nil {
		o.stopLive()
	}
	// Outputs and the verdict first: a cancelled step has seconds to live,
	// and the GitHub reports can wait for the post step.
	out := outputsOf(res)
	if err := o.rt.SetOutputs(out); err != nil {
		fmt.Fprintf(o.a.env.Stderr, "ramp: could not set the step outputs: %v\n", err)
	}
	code := resultCode(res)
	level := map[int]string{ExitOK: "notice", ExitPaused: "notice", ExitCancelled: "warning"}[code]
	if level == "" {
		level = "error"
	}
	o.rt.Annotate(level, "ramp: "+string(res.Outcome), out["summary"])
	o.flush()
	o.reported(res.Outcome)
	if path := o.a.cfg.Dotenv; path != "" {
		if err := actions.WriteDotenv(path, out); err != nil {
			fmt.Fprintf(o.a.env.Stderr, "ramp: %v\n", err)
		}
	}
	if path := o.a.cfg.Summary; path != "" {
		if err := os.WriteFile(path, []byte(report.Markdown(o.summary)), 0o644); err != nil {
			fmt.Fprintf(o.a.env.Stderr, "ramp: could not write the summary: %v\n", err)
		} else if o.a.cfg.Output != "json" {
			fmt.Fprintf(o.a.env.Stdout, "summary written to %s\n", path)
		}
	}
	if code == ExitOK {
		return nil
	}
	err := res.Err
	if err == nil {
		err = fmt.Errorf("%s: %s", res.Outcome, res.Reason)
	}
	return withCode(code, err)
}

// reported tells the action's post step that this step's reports of
// outcome (the job summary, and the GitHub statuses and deployment when
// attached) went out (STATE_reported), so that it does not report the same
// outcome again.
func (o *output) reported(outcome engine.Outcome) {
	if o.unsent {
		return
	}
	if err := o.rt.SaveState(map[string]string{"reported": string(outcome)}); err != nil {
		fmt.Fprintf(o.a.env.Stderr, "ramp: %v\n", err)
	}
}

// flush sends what the reporters hold (GitHub statuses, deployments,
// notifications), all at once: each is bounded, and a cancelled step has
// seconds to live.
func (o *output) flush() {
	var wg sync.WaitGroup
	for _, c := range o.closers {
		wg.Go(c)
	}
	wg.Wait()
	o.closers = nil
}

// outputsOf is the step outputs of a result; verdict is the comparative
// judge's verdict, "none" when it did not run.
func outputsOf(res engine.Result) map[string]string {
	verdict := string(res.Outcome)
	if res.Reason != "" {
		verdict += ": " + res.Reason
	}
	judge := string(res.Verdict)
	if judge == "" {
		judge = string(gates.VerdictNone)
	}
	return map[string]string{
		"result":    string(res.Outcome),
		"stable":    res.Stable,
		"candidate": res.Candidate,
		"weight":    strconv.Itoa(res.Weight),
		"url":       res.URL,
		"summary":   verdict,
		"verdict":   judge,
	}
}

// runURL links the GitHub Actions run, when there is one.
func runURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || !validRepo(repo) || id == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", server, repo, id)
}
