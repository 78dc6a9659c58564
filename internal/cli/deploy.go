package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// rollout is everything a deploy or resume needs, checked before any call.
type rollout struct {
	prov    providers.Provider
	plan    strategies.Plan
	gates   []gates.Gate
	metrics gates.Metrics
	// source is the metric source, nil when none; reads is set when
	// something reads it (the judge, a guardrail or a check).
	source gates.MetricSource
	reads  bool
	notes  []string
	// webhooks are the rollout's webhooks, for the plan.
	webhooks []gates.WebhookSpec
	// delayFrom says where metrics.Delay comes from when not given;
	// deadline is the progress deadline (for the plan's notes on the delay).
	delayFrom string
	deadline  time.Duration
	// settings are the rollout settings as the record stores them, with
	// the instances a rolling rollout replaces.
	settings config.Rollout
}

// prepare builds the provider, the plan and the gates, listing every bad
// input at once. It calls nothing on the platform (a provider's Instances
// for strategy rolling is its setting, unless it says otherwise).
func (a *app) prepare(ctx context.Context, r config.Rollout, required ...string) (rollout, error) {
	errs := []error{a.cfg.Require(a.vals, append([]string{"provider", "service"}, required...)...)}
	var out rollout
	var err, planErr error
	rolling := r.Strategy.Strategy == strategies.Rolling
	if !rolling { // a rolling plan needs the provider's instance count first
		out.plan, planErr = strategies.New(r.Strategy)
	}
	if a.cfg.Provider != "" && a.cfg.Target.Service != "" {
		target := a.cfg.Target
		target.Weights, target.Strategy = shiftWeights(out.plan), r.Strategy.Strategy
		out.prov, err = registry.New(a.cfg.Provider, target)
		errs = append(errs, err)
	}
	if check := artifactChecks[a.cfg.Provider]; check != nil {
		errs = append(errs, check(a.cfg.Target, a.cfg.Artifact))
	}
	if rolling && out.prov != nil { // a provider that failed to build has its error listed already
		r.Strategy.Instances, err = a.instances(ctx, out.prov, r.Strategy)
		errs = append(errs, err)
		if err == nil {
			out.plan, planErr = strategies.New(r.Strategy)
		}
	}
	errs = append(errs, planErr, r.Gates.Validate(), a.checkRouting(ctx, out.prov, r.Strategy, out.plan), a.checkFlagStep(out.plan))
	out.settings = r
	src, err := a.metricSource(out.prov)
	errs = append(errs, err)
	if err := a.checked(errs...); err != nil {
		return rollout{}, err
	}
	spec := r.Gates
	spec.Service = a.cfg.Target.Service
	if src == nil && spec.MetricsWanted() && a.cfg.MetricsDefaulted {
		spec.Compare, spec.MaxErrorRate, spec.MaxP50, spec.MaxP95, spec.MaxP99 = "off", 0, 0, 0, 0
		out.notes = append(out.notes, fmt.Sprintf("provider %q reports no metrics: the judge and the default guardrail are off", a.cfg.Provider))
	}
	client, err := probeClient(out.prov)
	if err != nil {
		return rollout{}, withCode(ExitProvider, err)
	}
	out.gates, out.metrics, err = gates.Build(spec, src, client)
	if err == nil && r.Strategy.Strategy == strategies.AB {
		var note string
		note, err = abMetrics(&out.metrics, spec, src)
		out.notes = append(out.notes, note)
	}
	if err != nil {
		return rollout{}, withCode(ExitInvalid, err)
	}
	if pg, ok := out.prov.(gates.PlatformGater); ok { // the platform's own health checks (fly's machines)
		out.gates = append(out.gates, pg.PlatformGates()...)
	}
	out.source, out.reads = src, out.metrics.Enabled() || len(spec.Checks) > 0
	out.deadline = spec.ProgressDeadline
	out.notes = append(out.notes, a.notificationNotes()...)
	out.webhooks = spec.Webhooks
	if spec.MetricsDelay == nil {
		out.delayFrom = a.delayFrom()
	}
	if len(out.gates) == 0 && !out.metrics.Enabled() {
		out.notes = append(out.notes, "no gates configured: steps pass on time alone (set max-error-rate or probe-path)")
	} else if s := r.Strategy.Strategy; (s == "bluegreen" || s == "immediate") && !spec.Probe.Enabled() {
		out.notes = append(out.notes, fmt.Sprintf("%s checks the candidate at 0%% traffic, where metric gates have no data: "+
			"only its readiness is checked before the switch; set probe-path to test it on its own URL", s))
	}
	return out, nil
}

// newEngine wires the engine for a provider, its probes and metrics and an
// event sink.
func (a *app) newEngine(prov providers.Provider, gs []gates.Gate, m gates.Metrics, r config.Rollout, sink engine.Sink) *engine.Engine {
	return &engine.Engine{
		Provider:         prov,
		Service:          a.cfg.Target.Service,
		Gates:            gs,
		Metrics:          m,
		Limits:           gates.Limits{Failures: r.Strategy.FailureThreshold, Errors: r.Gates.ErrorThreshold},
		ProgressDeadline: r.Gates.ProgressDeadline,
		RollbackWindow:   a.cfg.RollbackWindow,
		LeaveOnCancel:    a.cfg.OnCancel == "leave",
		WaitBake:         a.cfg.WaitBake,
		CancelTimeout:    6 * time.Second,
		WaitLock:         a.cfg.WaitLock,
		Retry:            engine.DefaultBackoff,
		Events:           sink,
		Flag:             a.flagSwitch(),
	}
}

// deploy runs `ramp deploy`.
func deploy(ctx context.Context, a *app) error {
	ro, err := a.prepare(ctx, a.cfg.Rollout, "image")
	if err != nil {
		return err
	}
	commit := a.cfg.Commit
	if commit == "" {
		commit = a.env.Getenv("GITHUB_SHA")
	}
	out := a.newOutput()
	if err := out.attachGitHub(ctx, commit, 0); err != nil {
		return err
	}
	for _, n := range ro.notes {
		out.note(n)
	}
	art := a.cfg.Artifact
	if !a.cfg.SkipDefaultLabels {
		art.Settings = art.Settings.WithDefaultLabels(commit)
	}
	if art.Revision == "" && commit != "" {
		art.Revision = fmt.Sprintf("%s-%s", short(commit), randomHex(2))
	}
	rec := providers.Rollout{ID: time.Now().UTC().Format("20060102-150405") + "-" + randomHex(2), Commit: commit,
		Spec: ro.settings.Encode()}
	out.attachNotify(ctx)
	e := a.withHooks(a.newEngine(ro.prov, ro.gates, ro.metrics, a.cfg.Rollout, out.sink), a.cfg.Rollout.Gates.Webhooks, rec)
	return out.finish(e.Deploy(ctx, ro.plan, art, rec))
}

// resume runs `ramp resume`: the plan comes from the record on the service.
func resume(ctx context.Context, a *app) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	st, err := prov.Status(ctx)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("read the rollout of %q: %w", a.cfg.Target.Service, err))
	}
	if len(st.Rollout.Spec) == 0 {
		return withCode(ExitProvider, fmt.Errorf("resume %q: no rollout recorded on the service: %w", a.cfg.Target.Service, providers.ErrNoCandidate))
	}
	r, err := config.DecodeRollout(st.Rollout.Spec)
	if err != nil {
		return withCode(ExitProvider, err)
	}
	ro, err := a.prepare(ctx, r)
	if err != nil {
		return err
	}
	out := a.newOutput()
	out.resumed = true
	if err := out.attachGitHub(ctx, st.Rollout.Commit, 0); err != nil {
		return err
	}
	out.attachNotify(ctx)
	e := a.withHooks(a.newEngine(ro.prov, ro.gates, ro.metrics, r, out.sink), r.Gates.Webhooks, st.Rollout)
	return out.finish(e.Resume(ctx, ro.plan))
}

func short(sha string) string {
	if len(sha) > 7 {
		return strings.ToLower(sha[:7])
	}
	return strings.ToLower(sha)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// shiftWeights are the weights the plan's shift steps go through, then
// 100, for a provider that maps them to the platform's own strategy (ecs
// mode native); nil for a plan that did not build.
func shiftWeights(p strategies.Plan) []int {
	if len(p.Steps) == 0 {
		return nil
	}
	var out []int
	for _, s := range p.Steps {
		if s.Kind == strategies.KindShift {
			out = append(out, s.Weight)
		}
	}
	return append(out, 100)
}

// instances is how many instances strategy rolling replaces: the count
// the settings already hold (a record's), else the provider's. A provider
// that cannot replace instances makes rolling an input error naming the
// strategies it supports.
func (a *app) instances(ctx context.Context, prov providers.Provider, s strategies.Spec) (int, error) {
	if s.Strategy != strategies.Rolling || prov == nil || s.Instances > 0 {
		return s.Instances, nil
	}
	rp, ok := prov.(providers.Replacer)
	if !ok {
		return 0, input.Invalid("strategy", s.Strategy, "provider %s runs no fixed set of instances to replace in batches "+
			"(it scales them itself or has none): use canary or linear to shift the traffic gradually, or bluegreen or immediate",
			a.cfg.Provider)
	}
	n, err := rp.Instances(ctx)
	if err != nil {
		return 0, withCode(ExitProvider, fmt.Errorf("read the instances strategy rolling replaces: %w", err))
	}
	return n, nil
}
