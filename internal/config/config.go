package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// Config is every setting, typed and checked.
type Config struct {
	// Provider names the adapter; Target is its configuration.
	Provider string
	Target   providers.Config
	// Artifact is what deploy ships.
	Artifact providers.Artifact
	// Commit is the commit SHA the candidate comes from.
	Commit string
	// Rollout is the plan and gate settings, stored with the rollout.
	Rollout Rollout
	// OnCancel is "rollback" or "leave".
	OnCancel string
	// RollbackWindow keeps the replaced version warm after promotion.
	RollbackWindow time.Duration
	// WaitBake makes deploy wait out the bake.
	WaitBake bool
	// WaitLock makes deploy wait this long for a rollout in flight to end.
	WaitLock time.Duration
	// Output is "text" or "json".
	Output string
	// Summary is a file to write the Markdown summary to.
	Summary string
	// Reason explains a promote, rollback or pause.
	Reason string
	// GitHub is where results are reported on GitHub; Dotenv is a file for
	// GitLab's dotenv report.
	GitHub GitHub
	Dotenv string
	// MetricsDefaulted is true when no metric gate was asked for explicitly,
	// so a provider without metrics may run without them (with a warning).
	MetricsDefaulted bool
}

// GitHub is the GitHub reporting settings.
type GitHub struct {
	// Token authenticates the API calls; empty turns GitHub reporting off.
	Token string
	// Environment names the deployment environment; empty records none.
	Environment string
	// StatusContext is the commit status context.
	StatusContext string
}

// Rollout is the part of the configuration kept in the rollout record, so
// a later process rebuilds the same plan and gates. It holds no secrets.
type Rollout struct {
	Strategy strategies.Spec `json:"strategy"`
	Gates    gates.Spec      `json:"gates"`
}

// Encode returns the rollout settings as stored in the record.
func (r Rollout) Encode() json.RawMessage {
	b, err := json.Marshal(r)
	if err != nil { // only plain fields: cannot happen
		panic(fmt.Sprintf("config: encode rollout: %v", err))
	}
	return b
}

// DecodeRollout reads rollout settings stored in a record.
func DecodeRollout(raw json.RawMessage) (Rollout, error) {
	var r Rollout
	if err := json.Unmarshal(raw, &r); err != nil {
		return Rollout{}, fmt.Errorf("decode rollout settings from the record: %w", err)
	}
	return r, nil
}

// parser converts raw values, collecting every problem.
type parser struct {
	v    Values
	errs []error
}

func (p *parser) str(name string) string { return p.v.Get(name) }

func (p *parser) duration(name string) time.Duration {
	raw := p.v.Get(name)
	if raw == "" {
		return 0
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		p.errs = append(p.errs, input.Invalid(name, raw, "is not a duration such as 30s, 5m or 1h"))
	}
	return d
}

func (p *parser) integer(name string) int {
	raw := p.v.Get(name)
	n, err := strconv.Atoi(raw)
	if err != nil {
		p.errs = append(p.errs, input.Invalid(name, raw, "is not a whole number"))
	}
	return n
}

func (p *parser) number(name string) float64 {
	raw := strings.TrimSuffix(p.v.Get(name), "%")
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		p.errs = append(p.errs, input.Invalid(name, p.v.Get(name), "is not a number"))
	}
	return f
}

func (p *parser) boolean(name string) bool {
	raw := p.v.Get(name)
	switch raw {
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE", "":
		return false
	}
	p.errs = append(p.errs, input.Invalid(name, raw, "must be true or false"))
	return false
}

func (p *parser) oneOf(name string, valid ...string) string {
	raw := p.v.Get(name)
	for _, s := range valid {
		if raw == s {
			return raw
		}
	}
	p.errs = append(p.errs, input.Invalid(name, raw, "must be one of %q", valid))
	return raw
}

// Parse turns raw values into a Config. Every problem is listed at once,
// each naming the input and its value. Only the options present in v are
// read; required ones are checked by Require.
func Parse(v Values) (Config, error) {
	p := &parser{v: v}
	c := Config{Provider: p.str("provider"), Commit: p.str("commit"), Summary: p.str("summary"), Reason: p.str("reason")}
	c.Target = providers.Config{Service: p.str("service"), Project: p.str("project"), Region: p.str("region"),
		StateDir: p.str("state-dir"), Listen: p.str("listen"), HealthPath: p.str("health-path")}
	if v.has("ready-timeout") {
		c.Target.ReadyTimeout = p.duration("ready-timeout")
	}
	if v.has("image") {
		c.Artifact = providers.Artifact{Image: p.str("image"), Revision: p.str("revision"), Env: splitList(p.str("env"))}
	}
	if v.has("strategy") {
		c.Rollout = p.rollout()
		c.MetricsDefaulted = !(v.Given("max-error-rate") || v.Given("max-latency-p50") || v.Given("max-latency-p95") || v.Given("max-latency-p99"))
	}
	if v.has("on-cancel") {
		c.OnCancel = p.oneOf("on-cancel", "rollback", "leave")
		c.RollbackWindow = p.duration("rollback-window")
		if c.RollbackWindow < 0 {
			p.errs = append(p.errs, input.Invalid("rollback-window", p.str("rollback-window"), "must not be negative"))
		}
		c.WaitBake = p.boolean("wait-bake")
		c.WaitLock = p.duration("wait-lock")
		if c.WaitLock < 0 {
			p.errs = append(p.errs, input.Invalid("wait-lock", p.str("wait-lock"), "must not be negative"))
		}
		c.Output = p.oneOf("output", "text", "json")
	}
	if v.has("github-token") {
		c.GitHub = GitHub{Token: p.str("github-token"), Environment: p.str("environment"), StatusContext: p.str("status-context")}
		if c.GitHub.StatusContext == "" && c.Target.Service != "" {
			c.GitHub.StatusContext = "ramp/" + c.Target.Service
		}
		c.Dotenv = p.str("dotenv")
	}
	for _, kv := range c.Artifact.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			p.errs = append(p.errs, input.Invalid("env", kv, "entries must be KEY=VALUE"))
		}
	}
	return c, errors.Join(p.errs...)
}

func (v Values) has(name string) bool { _, ok := v.src[name]; return ok }

// rollout reads the plan and gate settings.
func (p *parser) rollout() Rollout {
	var r Rollout
	s := &r.Strategy
	s.Strategy = p.str("strategy")
	if raw := p.str("steps"); raw != "" {
		steps, err := strategies.ParseSteps(raw)
		p.errs = append(p.errs, err)
		s.Steps = steps
	}
	if raw := p.str("hold"); raw != "" {
		holds, err := strategies.ParseHolds(raw)
		p.errs = append(p.errs, err)
		s.Holds = holds
	}
	s.Increment = p.integer("increment")
	s.Interval = p.duration("interval")
	s.Bake = p.duration("bake")
	s.FailureThreshold = p.integer("failure-threshold")
	g := &r.Gates
	g.MaxErrorRate = p.number("max-error-rate")
	g.MaxP50, g.MaxP95, g.MaxP99 = p.duration("max-latency-p50"), p.duration("max-latency-p95"), p.duration("max-latency-p99")
	g.MinRequests = int64(p.integer("min-requests"))
	g.ErrorThreshold = p.integer("error-threshold")
	g.ProgressDeadline = p.duration("progress-deadline")
	g.Probe = gates.ProbeSpec{URL: p.str("probe-url"), Path: p.str("probe-path"), Count: p.integer("probe-count"),
		ExpectStatus: p.integer("probe-expect-status"), MaxLatency: p.duration("probe-max-latency"),
		SuccessRatio: p.number("probe-success-ratio")}
	return r
}

// splitList splits on commas and newlines, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Require lists the named inputs that are empty.
func (c Config) Require(v Values, names ...string) error {
	var errs []error
	for _, n := range names {
		if strings.TrimSpace(v.Get(n)) == "" {
			errs = append(errs, input.Missing(n))
		}
	}
	return errors.Join(errs...)
}
