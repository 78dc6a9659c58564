package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/local"
	"github.com/ramp-deploy/ramp/report"
	"github.com/ramp-deploy/ramp/strategies"
)

// demoReplicas is how many processes of each version the rolling demo runs.
const demoReplicas = 4

// demoRollingRollout is the rolling update `ramp demo --rolling` runs:
// four replicas replaced two at a time (one beyond the four, one out of
// service), the gates checked for a few seconds between the batches, with
// the canary demo's gates.
var demoRollingRollout = config.Rollout{
	Strategy: strategies.Spec{Strategy: strategies.Rolling, Instances: demoReplicas, MaxSurge: "1", MaxUnavailable: "1",
		Holds: []time.Duration{4 * time.Second}, Interval: time.Second, FailureThreshold: 2},
	Gates: demoRollout.Gates,
}

// demoSection reports whether the demo's switch name (--rolling) is on;
// a value that is not a boolean counts as on, so that the section reports
// it as an invalid input.
func (a *app) demoSection(name string) bool {
	on, err := strconv.ParseBool(a.vals.Get(name))
	return on || err != nil && a.vals.Get(name) != ""
}

// demoRolling runs `ramp demo --rolling`: the local provider in this
// process with four replicas of each version, load through the proxy, and
// three rolling updates: a first deploy of v1, v2 (healthy, promoted) and
// v3 (failing 20% of its requests, rolled back after its first batch,
// with v2 put back on the replicas v3 had taken).
func demoRolling(ctx context.Context, a *app) error {
	if _, err := strconv.ParseBool(a.vals.Get("rolling")); err != nil {
		return a.checked(input.Invalid("rolling", a.vals.Get("rolling"), "is a switch: true or false"))
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
		Listen: "127.0.0.1:0", HealthPath: "/healthz", ReadyTimeout: 30 * time.Second, Replicas: demoReplicas})
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("start the local provider: %w", err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		_ = agent.Close(cctx)
	}()
	w := a.env.Stdout
	fmt.Fprintf(w, "ramp demo --rolling: the service answers on %s (local provider, %d replicas of each version, state in %s)\n\n",
		agent.ProxyURL(), demoReplicas, dir)
	load := newLoad(agent.ProxyURL(), 4)
	defer load.stop()
	d := demoRun{a: a, prov: agent.Client(), self: self, load: load, w: w}
	var res []demoResult
	for i, s := range []struct {
		version, title string
		rate           float64
	}{
		{"v1", fmt.Sprintf("First deploy of v1 on %d replicas (no stable version yet)", demoReplicas), 0},
		{"v2", "Rolling update to v2, a healthy version, two replicas at a time (max-surge 1, max-unavailable 1)", 0},
		{"v3", "Rolling update to v3, which fails 20% of its requests", 0.2},
	} {
		r, err := d.deploy(ctx, demoRollingRollout, 0, s.version, s.rate, s.title)
		if err != nil {
			return err
		}
		res = append(res, r)
		if i == 0 {
			load.start(ctx)
		}
	}
	load.stop()
	st, err := d.prov.Status(ctx)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("read the service after the demo: %w", err))
	}
	return d.concludeRolling(res, st)
}

// concludeRolling prints the totals, writes the summary and checks the
// outcomes: v1 and v2 promoted, v3 rolled back, v2 on every replica at
// the end, and no request failed but v3's own.
func (d *demoRun) concludeRolling(res []demoResult, st providers.Status) error {
	w := d.w
	tot := d.load.snapshot()
	other := tot.totalFailed() - tot.failed["v3"]
	fmt.Fprintf(w, "== Totals: %d requests served through the proxy, %d failed\n", tot.served, tot.totalFailed())
	fmt.Fprintf(w, "   failed because of the faulty candidate v3: %d\n", tot.failed["v3"])
	fmt.Fprintf(w, "   failed for any other reason:               %d\n", other)
	if st.Stable != nil && st.Instances != nil {
		fmt.Fprintf(w, "   now serving: %s on %d replicas\n", st.Stable.ID, st.Instances.Stable)
	}
	path := d.a.cfg.Summary
	if path == "" {
		path = filepath.Join(os.TempDir(), "ramp-demo-rolling-summary.md")
	}
	if err := os.WriteFile(path, []byte(report.Markdown(d.sums...)), 0o644); err != nil {
		return fmt.Errorf("write the demo summary: %w", err)
	}
	fmt.Fprintf(w, "\nThe Markdown summary of the rollouts is in %s\n", path)
	var problems []string
	for i, want := range []engine.Outcome{engine.OutcomePromoted, engine.OutcomePromoted, engine.OutcomeRolledBack} {
		if res[i].res.Outcome != want {
			problems = append(problems, fmt.Sprintf("%s was %s, not %s: %s", res[i].version, res[i].res.Outcome, want, res[i].res.Reason))
		}
	}
	if n := res[1].total(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d requests failed during the healthy rolling update", n))
	}
	if other > 0 {
		problems = append(problems, fmt.Sprintf("%d requests failed for another reason than v3's faults", other))
	}
	if st.Stable == nil || st.Stable.ID != "v2" || st.Candidate != nil || st.Instances == nil || st.Instances.Stable != demoReplicas {
		problems = append(problems, fmt.Sprintf("v2 does not run alone on %d replicas after the rollback", demoReplicas))
	}
	if len(problems) > 0 {
		return errors.New("demo: " + strings.Join(problems, "; "))
	}
	fmt.Fprintf(w, "Demo OK: v2 replaced v1 on all %d replicas with no failed request; v3 was rolled back and v2 put back on every replica.\n", demoReplicas)
	return nil
}
