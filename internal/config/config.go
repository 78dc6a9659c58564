package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/gates/datadog"
	"github.com/ramp-deploy/ramp/gates/prometheus"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/notify"
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
	// SkipDefaultLabels keeps deploy from labelling the service and the
	// revision managed-by=ramp and commit-sha=<commit>.
	SkipDefaultLabels bool
	// Rollout is the plan and gate settings, stored with the rollout.
	Rollout Rollout
	// OnCancel is "rollback" or "leave".
	OnCancel string
	// RollbackWindow keeps the replaced version warm after promotion.
	RollbackWindow time.Duration
	// WaitBake makes deploy wait out the bake.
	WaitBake bool
	// DemoAB makes `ramp demo` show an A/B test (the ab option).
	DemoAB bool
	// WaitLock makes deploy wait this long for a rollout in flight to end.
	WaitLock time.Duration
	// WatchWindow is how far back `ramp watch` judges the traffic.
	WatchWindow time.Duration
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
	// Datadog configures the Datadog metric source (datadog-* options).
	Datadog datadog.Config
	// Notifications are the configuration file's notifications section.
	Notifications []notify.Spec
	// WebhookSecret signs webhook calls and generic notifications; empty
	// sends them unsigned.
	WebhookSecret string
	// MetricsSource names where the judge, the guardrails and the checks
	// read traffic (metrics-source); Prometheus is its settings when that
	// is prometheus. Neither is stored with the rollout: a later process
	// (resume, watch) is given them again, secrets included.
	MetricsSource string
	Prometheus    prometheus.Config
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

// Parse turns raw values into a Config. Every problem is listed at once,
// each naming the input and its value. Only the options present in v are
// read; required ones are checked by Require.
func Parse(v Values) (Config, error) {
	p := &parser{v: v}
	c := Config{Provider: p.str("provider"), Commit: p.str("commit"), Summary: p.str("summary"), Reason: p.str("reason")}
	c.Target = providers.Config{Service: p.str("service"), Project: p.str("project"), Region: p.str("region"),
		StateDir: p.str("state-dir"), Listen: p.str("listen"), MetricsListen: p.str("metrics-listen"), HealthPath: p.str("health-path"),
		Cluster: p.str("cluster"), Container: p.str("container"), Listener: p.str("listener"), ListenerRule: p.str("listener-rule"),
		TargetGroups: splitList(p.str("target-groups")), App: p.str("app"),
		Flag: providers.FlagTarget{Name: p.str("flag"), Backend: p.str("flag-backend"), Environment: p.str("flag-environment"),
			Project: p.str("flag-project"), URL: p.str("flag-url"), Token: p.str("flag-token")}}
	p.ecs(&c.Target, c.Provider)
	if v.has("replicas") {
		c.Target.Replicas = p.integer("replicas")
	}
	if v.has("shared-agent") {
		c.Target.SharedAgent = p.boolean("shared-agent")
	}
	if v.has("ready-timeout") {
		c.Target.ReadyTimeout = p.duration("ready-timeout")
	}
	if v.has("image") {
		c.Artifact = providers.Artifact{Image: p.str("image"), Revision: p.str("revision"), Env: splitList(p.str("env"))}
		p.env("env", c.Provider, c.Artifact.Env)
		p.settings(c.Provider, &c.Artifact)
		c.SkipDefaultLabels = p.boolean("skip-default-labels")
	}
	if v.has("strategy") {
		c.Rollout = p.rollout()
		l := v.Lists()
		c.Rollout.Gates.Checks, c.Rollout.Gates.Webhooks = l.Checks, l.Webhooks
		c.MetricsDefaulted = !(v.Given("compare") || v.Given("max-error-rate") || v.Given("max-latency-p50") ||
			v.Given("max-latency-p95") || v.Given("max-latency-p99"))
	}
	if v.has("metrics-source") {
		c.Datadog = p.datadog(c.Target.Service)
		p.metrics(&c)
	}
	if v.has("on-cancel") {
		c.OnCancel = p.oneOf("on-cancel", "rollback", "leave")
		c.RollbackWindow = p.duration("rollback-window")
		c.WaitBake = p.boolean("wait-bake")
		c.DemoAB = p.boolean("ab")
		c.WaitLock = p.duration("wait-lock")
		c.WatchWindow = p.duration("watch-window")
		c.Output = p.oneOf("output", "text", "json")
	}
	c.Notifications = v.Lists().Notifications
	if v.has("webhook-secret") {
		c.WebhookSecret = p.str("webhook-secret")
	}
	if v.has("github-token") {
		c.GitHub = GitHub{Token: p.str("github-token"), Environment: p.str("environment"), StatusContext: p.str("status-context")}
		if c.GitHub.StatusContext == "" && c.Target.Service != "" {
			c.GitHub.StatusContext = "ramp/" + c.Target.Service
		}
		c.Dotenv = p.str("dotenv")
	}
	return c, v.Locate(errors.Join(append(slices.Clone(v.fileErrs), p.errs...)...))
}

func (v Values) has(name string) bool { _, ok := v.src[name]; return ok }

// Require lists the named inputs that are empty. The image of a metadata
// file stands for the image input.
func (c Config) Require(v Values, names ...string) error {
	var errs []error
	for _, n := range names {
		if n == "image" && c.Artifact.Image != "" {
			continue
		}
		if strings.TrimSpace(v.Get(n)) == "" {
			errs = append(errs, input.Missing(n))
		}
	}
	return errors.Join(errs...)
}
