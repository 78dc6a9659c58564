package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
)

// guardrailOptions are the options a watch takes from the command line
// over the ones the rollout was deployed with: the guardrails, and how
// late the metrics are read.
var guardrailOptions = []string{"max-error-rate", "max-latency-p50", "max-latency-p95", "max-latency-p99", "min-requests", "metrics-delay"}

// watch runs `ramp watch`: the guardrails the promoted rollout was deployed
// with (flags given override them) judge its traffic over watch-window, and
// a failing one rolls back to the warm previous version.
func watch(ctx context.Context, a *app) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	st, err := prov.Status(ctx)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("read the rollout of %q: %w", a.cfg.Target.Service, err))
	}
	r := a.cfg.Rollout
	if len(st.Rollout.Spec) > 0 {
		rec, err := config.DecodeRollout(st.Rollout.Spec)
		if err != nil {
			return withCode(ExitProvider, err)
		}
		r.Gates = overrideGuardrails(rec.Gates, a.cfg.Rollout.Gates, a.vals)
	}
	src, err := a.metricSource(prov)
	if err := a.checked(err); err != nil {
		return err
	}
	r.Gates.Checks = nil // a watch judges the guardrails alone
	_, m, err := gates.Build(r.Gates, src, nil)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	out := a.newOutput()
	out.resumed = true
	out.attachNotify(ctx)
	e := a.withHooks(a.newEngine(prov, nil, m, r, out.sink), r.Gates.Webhooks, st.Rollout)
	w := e.Watch(ctx, a.cfg.WatchWindow)
	if w.Acted {
		if err := out.attachGitHub(ctx, st.Rollout.Commit, 0); err != nil {
			return err
		}
		return out.finish(w.Result)
	}
	return a.printWatched(w)
}

// overrideGuardrails returns the recorded gate settings with the guardrail
// options the user gave on this command line.
func overrideGuardrails(recorded, now gates.Spec, v config.Values) gates.Spec {
	for _, name := range guardrailOptions {
		if !v.Given(name) {
			continue
		}
		switch name {
		case "max-error-rate":
			recorded.MaxErrorRate = now.MaxErrorRate
		case "max-latency-p50":
			recorded.MaxP50 = now.MaxP50
		case "max-latency-p95":
			recorded.MaxP95 = now.MaxP95
		case "max-latency-p99":
			recorded.MaxP99 = now.MaxP99
		case "min-requests":
			recorded.MinRequests = now.MinRequests
		case "metrics-delay":
			recorded.MetricsDelay = now.MetricsDelay
		}
	}
	return recorded
}

// printWatched reports a watch that changed nothing.
func (a *app) printWatched(w engine.Watched) error {
	if a.cfg.Output == "json" {
		return json.NewEncoder(a.env.Stdout).Encode(struct {
			Type   string         `json:"type"`
			Reason string         `json:"reason"`
			Checks []gates.Result `json:"checks,omitempty"`
		}{"watched", w.Reason, w.Checks})
	}
	fmt.Fprintln(a.env.Stdout, w.Reason)
	for _, c := range w.Checks {
		fmt.Fprintln(a.env.Stdout, "  "+gates.Explain(c))
	}
	return nil
}
