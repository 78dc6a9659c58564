package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/local"
	"github.com/ramp-deploy/ramp/report"
	"github.com/ramp-deploy/ramp/strategies"
)

// demoRollout is the canary both demo rollouts use: fast enough to watch.
var demoRollout = config.Rollout{
	Strategy: strategies.Spec{Strategy: "canary", Steps: []strategies.Target{{Weight: 10}, {Weight: 50}, {Weight: 100}},
		Holds: []time.Duration{3 * time.Second}, Interval: time.Second, FailureThreshold: 2},
	// The sample app answers in microseconds, where a fresh process is
	// measurably slower though no user could tell: the demo compares errors.
	Gates: gates.Spec{Compare: "errors", Alpha: 0.01, Tolerance: 1, OnInconclusive: gates.OnInconclusivePromote,
		MaxErrorRate: 5, MinRequests: 20, ErrorThreshold: 3, ProgressDeadline: 20 * time.Second,
		MaxP99: 500 * time.Millisecond},
}

// demo runs `ramp demo`: the local provider in this process, a sample app in
// three versions, load through the proxy, and two rollouts.
func demo(ctx context.Context, a *app) error {
	if err := a.checked(); err != nil {
		return err
	}
	if a.demoSection("rolling") {
		return demoRolling(ctx, a)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to run the sample app: %w", err)
	}
	dir, err := os.MkdirTemp("", "ramp-demo-")
	if err != nil {
		return fmt.Errorf("create the demo's state directory: %w", err)
	}
	defer os.RemoveAll(dir)
	agent, err := local.StartAgent(ctx, providers.Config{Service: "demo", StateDir: filepath.Join(dir, "state"),
		Listen: "127.0.0.1:0", HealthPath: "/healthz", ReadyTimeout: 30 * time.Second})
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("start the local provider: %w", err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		_ = agent.Close(cctx)
	}()
	w := a.env.Stdout
	prov := agent.Client()
	fmt.Fprintf(w, "ramp demo: the service answers on %s (local provider, state in %s)\n\n", agent.ProxyURL(), dir)

	load := newLoad(agent.ProxyURL(), 4)
	defer load.stop()
	d := demoRun{a: a, prov: prov, self: self, load: load, w: w}
	if a.cfg.DemoAB {
		return d.abSection(ctx)
	}
	first, err := d.rollout(ctx, "v1", 0, "First deploy of v1 (no stable version yet)")
	if err != nil {
		return err
	}
	load.start(ctx)
	good, err := d.rollout(ctx, "v2", 0, "Canary of v2, a healthy version")
	if err != nil {
		return err
	}
	bad, err := d.rollout(ctx, "v3", 0.2, "Canary of v3, which fails 20% of its requests")
	if err != nil {
		return err
	}
	load.stop()
	return d.conclude(first, good, bad)
}

// demoRun holds what the demo's rollouts share.
type demoRun struct {
	a    *app
	prov providers.Provider
	self string
	load *load
	w    io.Writer
	sums []*report.Summary
	// failedBefore is the count of failed requests before each rollout.
	results []demoResult
}

type demoResult struct {
	title   string
	version string
	res     engine.Result
	took    time.Duration
	served  int64
	failed  map[string]int64
}

// rollout deploys version (failing rate of its requests) as a canary and
// waits for the end.
func (d *demoRun) rollout(ctx context.Context, version string, rate float64, title string) (demoResult, error) {
	return d.deploy(ctx, demoRollout, time.Minute, version, rate, title)
}

// deploy deploys version (failing rate of its requests) with settings s
// and waits for the end; window, when set, is the engine's rollback
// window.
func (d *demoRun) deploy(ctx context.Context, s config.Rollout, window time.Duration, version string, rate float64, title string) (demoResult, error) {
	fmt.Fprintf(d.w, "== %s\n", title)
	sum := &report.Summary{Title: title}
	d.sums = append(d.sums, sum)
	console, stopLive := d.a.console(true)
	defer stopLive()
	sink := report.Multi(console.Event, sum.Event)
	if d.a.cfg.Output == "json" {
		sink = report.Multi((&report.JSON{W: d.w}).Event, sum.Event)
	}
	src, _ := d.prov.(gates.MetricSource)
	gs, m, err := gates.Build(s.Gates, src, nil)
	if err != nil {
		return demoResult{}, err
	}
	e := d.a.newEngine(d.prov, gs, m, s, sink)
	e.Service = "demo"
	if window > 0 {
		e.RollbackWindow = window
	}
	plan, err := strategies.New(s.Strategy)
	if err != nil {
		return demoResult{}, err
	}
	art := providers.Artifact{Image: fmt.Sprintf("'%s' sample-app", d.self), Revision: version,
		Env: []string{"SAMPLE_VERSION=" + version, fmt.Sprintf("SAMPLE_FAIL_RATE=%g", rate)}}
	before, start := d.load.snapshot(), time.Now()
	res := e.Deploy(ctx, plan, art, providers.Rollout{ID: "demo-" + version, Spec: s.Encode()})
	after := d.load.snapshot()
	r := demoResult{title: title, version: version, res: res, took: time.Since(start),
		served: after.served - before.served, failed: after.minus(before)}
	fmt.Fprintf(d.w, "   %s in %s; requests served %d, failed %d\n\n", res.Outcome, r.took.Round(100*time.Millisecond), r.served, r.total())
	if res.Outcome == engine.OutcomeCancelled || res.Outcome == engine.OutcomeFailed {
		return r, withCode(resultCode(res), fmt.Errorf("demo rollout of %s: %s: %s", version, res.Outcome, res.Reason))
	}
	return r, nil
}

func (r demoResult) total() int64 {
	var n int64
	for _, v := range r.failed {
		n += v
	}
	return n
}

// conclude prints the totals, writes the summary and checks the outcome.
func (d *demoRun) conclude(first, good, bad demoResult) error {
	w := d.w
	tot := d.load.snapshot()
	fmt.Fprintf(w, "== Totals: %d requests served through the proxy, %d failed\n", tot.served, tot.totalFailed())
	fmt.Fprintf(w, "   failed because of the faulty candidate v3: %d\n", tot.failed["v3"])
	fmt.Fprintf(w, "   failed for any other reason:               %d\n", tot.totalFailed()-tot.failed["v3"])
	path := d.a.cfg.Summary
	if path == "" {
		path = filepath.Join(os.TempDir(), "ramp-demo-summary.md")
	}
	if err := os.WriteFile(path, []byte(report.Markdown(d.sums...)), 0o644); err != nil {
		return fmt.Errorf("write the demo summary: %w", err)
	}
	fmt.Fprintf(w, "\nThe Markdown summary of the rollouts is in %s\n", path)
	var problems []string
	if first.res.Outcome != engine.OutcomePromoted {
		problems = append(problems, "the first deploy of v1 was not promoted: "+first.res.Reason)
	}
	if good.res.Outcome != engine.OutcomePromoted {
		problems = append(problems, "the healthy v2 was not promoted: "+good.res.Reason)
	}
	if n := good.total(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d requests failed during the healthy rollout", n))
	}
	if bad.res.Outcome != engine.OutcomeRolledBack {
		problems = append(problems, "the faulty v3 was not rolled back: "+string(bad.res.Outcome))
	}
	if n := tot.totalFailed() - tot.failed["v3"]; n > 0 {
		problems = append(problems, fmt.Sprintf("%d requests failed for another reason than v3's faults", n))
	}
	if len(problems) > 0 {
		return errors.New("demo: " + strings.Join(problems, "; "))
	}
	fmt.Fprintln(w, "Demo OK: v2 promoted with no failed request; v3 rolled back automatically.")
	return nil
}
