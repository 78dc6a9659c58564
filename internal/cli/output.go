package cli

import (
	"fmt"
	"os"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/report"
)

// output routes a run's events to the console or JSON Lines, and to the
// Markdown summary file when one was asked for.
type output struct {
	a       *app
	sink    engine.Sink
	summary *report.Summary
	json    *report.JSON
	console *report.Console
}

func (a *app) newOutput() *output {
	o := &output{a: a, summary: &report.Summary{Title: "Rollout of " + a.cfg.Target.Service, RunURL: runURL(a.env.Getenv)}}
	if a.cfg.Output == "json" {
		o.json = &report.JSON{W: a.env.Stdout}
		o.sink = report.Multi(o.json.Event, o.summary.Event)
	} else {
		o.console = &report.Console{W: a.env.Stdout}
		o.sink = report.Multi(o.console.Event, o.summary.Event)
	}
	return o
}

// note tells the user something about the setup before the run starts.
func (o *output) note(msg string) { o.sink(&engine.Warning{Message: msg}) }

// finish writes the summary file and turns the result into the command's error.
func (o *output) finish(res engine.Result) error {
	if path := o.a.cfg.Summary; path != "" {
		if err := os.WriteFile(path, []byte(report.Markdown(o.summary)), 0o644); err != nil {
			fmt.Fprintf(o.a.env.Stderr, "ramp: could not write the summary: %v\n", err)
		} else if o.a.cfg.Output != "json" {
			fmt.Fprintf(o.a.env.Stdout, "summary written to %s\n", path)
		}
	}
	code := resultCode(res)
	if code == ExitOK {
		return nil
	}
	err := res.Err
	if err == nil {
		err = fmt.Errorf("%s: %s", res.Outcome, res.Reason)
	}
	return withCode(code, err)
}

// runURL links the GitHub Actions run, when there is one.
func runURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", server, repo, id)
}
