// Package config is ramp's one configuration model. Every option is read
// alike from a command-line flag, a RAMP_* environment variable, a GitHub
// Action input (INPUT_*) or the configuration file (ramp.yaml, with
// per-environment overrides), in that order of precedence, so the action,
// the CLI and the file can never drift apart. The file's JSON Schema is
// generated from Options too (JSONSchema).
package config

import (
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates/datadog"
)

// Group says which commands an option applies to.
type Group string

// The option groups.
const (
	GroupConfig  Group = "config"  // the configuration file (ramp.yaml)
	GroupTarget  Group = "target"  // which service, on which provider
	GroupDeploy  Group = "deploy"  // what to deploy
	GroupRollout Group = "rollout" // the plan
	GroupGates   Group = "gates"   // the health gates
	GroupMetrics Group = "metrics" // where the judge, guardrails and checks read traffic
	GroupRun     Group = "run"     // how the process behaves
	GroupReport  Group = "report"  // where results are reported
)

// Option is one setting.
type Option struct {
	// Name is the input and flag name, e.g. "failure-threshold".
	Name string
	// Default is the value used when no source gives one.
	Default string
	// Usage explains the option in --help and in action.yml.
	Usage string
	// Group places the option.
	Group Group
	// Bool makes the flag a switch (--wait-bake means true).
	Bool bool
	// Secret values are masked in logs and never written to summaries.
	Secret bool
	// Max is the longest value a duration option takes (each entry of a
	// list); --help documents it. Every duration option has one, so that no
	// setting can overflow the plan's arithmetic or outwait any CI job.
	Max time.Duration
	// Fallback lists environment variables other tools set that hold the
	// option too, read after every ramp source (flag, RAMP_*, action input,
	// the configuration file).
	Fallback []string
	// Kind is the type of the value in ramp.yaml and its JSON Schema when
	// neither Bool nor Max says it (see Type): text unless set.
	Kind Kind
	// List options take several entries: a YAML sequence in ramp.yaml, or
	// one string separated by commas (or newlines) anywhere.
	List bool
}

// Kind is the type of an option's value (of each entry, for a list).
type Kind string

// The kinds.
const (
	KindText     Kind = "text"     // a string; a YAML number is read as written (cpu: 2)
	KindBool     Kind = "boolean"  // true or false: the options with Bool
	KindInt      Kind = "integer"  // a whole number
	KindNumber   Kind = "number"   // a decimal number, or a string such as "5%"
	KindDuration Kind = "duration" // a string such as 30s or 1h30m: the options with a Max
	KindWeight   Kind = "weight"   // a canary step: a whole number, or "pause"
)

// Type is the kind of the option's value: KindBool for a switch,
// KindDuration for an option with a maximum, Kind otherwise.
func (o Option) Type() Kind {
	switch {
	case o.Bool:
		return KindBool
	case o.Max > 0:
		return KindDuration
	case o.Kind == "":
		return KindText
	}
	return o.Kind
}

// The maxima of the duration options.
const (
	// maxPoll bounds how often things are polled and how long one answer
	// may take: interval, ready-timeout and the latency thresholds.
	maxPoll = time.Hour
	// maxWait bounds the waits of one rollout: hold, bake,
	// progress-deadline and wait-lock. A longer wait is a pause step.
	maxWait = 24 * time.Hour
	// maxWarm bounds how long the replaced version is kept warm.
	maxWarm = 7 * 24 * time.Hour
	// maxRequestTimeout is Cloud Run's longest request timeout.
	maxRequestTimeout = time.Hour
)

// Env is the RAMP_* variable for the option, e.g. RAMP_FAILURE_THRESHOLD.
func (o Option) Env() string {
	return "RAMP_" + strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_"))
}

// Options lists every option, in the order --help shows them.
var Options = []Option{
	{Name: "config", Group: GroupConfig, Usage: "ramp.yaml file to read the other options from, below flags, RAMP_* and action inputs " +
		"(default: .ramp.yaml or ramp.yaml in the working directory, if there)"},

	{Name: "provider", Group: GroupTarget, Usage: "platform adapter: cloudrun, ecs, flag, fly or local (required)"},
	{Name: "service", Group: GroupTarget, Usage: "name of the service to roll out (required)"},
	{Name: "project", Group: GroupTarget, Usage: "Google Cloud project (cloudrun; default $GOOGLE_CLOUD_PROJECT, then $CLOUDSDK_CORE_PROJECT)",
		Fallback: []string{"GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"}},
	{Name: "region", Group: GroupTarget, Usage: "Google Cloud region (cloudrun); AWS region (ecs; default: the AWS SDK's, from AWS_REGION or the profile)"},
	{Name: "cluster", Group: GroupTarget, Usage: "ECS cluster of the service (ecs; default: default)"},
	{Name: "container", Group: GroupTarget, Usage: "container of the task definition whose image a deploy replaces (ecs; default: the only one)"},
	{Name: "listener", Group: GroupTarget, Usage: "ARN of the Application Load Balancer listener whose forward action splits the traffic (ecs; required)"},
	{Name: "listener-rule", Group: GroupTarget, Usage: "ARN of the listener rule whose forward action ramp weighs instead of the listener's default action; the rest of the rule is kept (ecs)"},
	{Name: "target-groups", List: true, Group: GroupTarget, Usage: "ARNs of the two target groups stable and candidate alternate between, comma separated (ecs; default: the two the forward action names)"},
	{Name: "mode", Default: "tasksets", Group: GroupTarget, Usage: "how ecs rolls out: tasksets (task sets on the EXTERNAL controller, weighed by ramp; any steps) or " +
		"native (ECS's own CANARY or LINEAR deployment, paused by a lifecycle hook before each traffic shift; steps like 10,100 or 25,50,75,100; " +
		"with strategy rolling, ECS's rolling update)"},
	{Name: "task-definition", Group: GroupTarget, Usage: "task definition JSON file to register for the candidate, as amazon-ecs-render-task-definition writes it; " +
		"the image input still replaces its container's image (ecs mode tasksets, and strategy rolling; default: a copy of the stable's)"},
	{Name: "candidate-scale", Kind: KindInt, Group: GroupTarget, Usage: "the candidate task set's size, in percent of the service's desired count, 1 to 100; " +
		"promotion scales it to 100 (ecs mode tasksets; default: the stable task set's)"},
	{Name: "hook-timeout", Default: "24h", Group: GroupTarget, Usage: "how long ECS keeps a deploy paused at its lifecycle hook, after the process ended, " +
		"before rolling it back by itself (ecs mode native)", Max: 24 * time.Hour},
	{Name: "app", Group: GroupTarget, Usage: "Fly app whose machines a rollout runs on (fly; default: service); FLY_API_TOKEN authenticates"},
	{Name: "flag", Group: GroupTarget, Usage: "feature flag whose percentage rollout the flag provider moves through the plan's steps (flag: Unleash feature name, LaunchDarkly flag key)"},
	{Name: "flag-backend", Group: GroupTarget, Usage: "flag service holding the flag: unleash, launchdarkly or webhook (flag; required)"},
	{Name: "flag-environment", Group: GroupTarget, Usage: "environment of the flag service the flag is rolled out in (flag; required by unleash and launchdarkly)"},
	{Name: "flag-project", Group: GroupTarget, Usage: "Unleash project (default: default) or LaunchDarkly project key (required) of the flag (flag)"},
	{Name: "flag-url", Group: GroupTarget, Usage: "address of the flag service: the Unleash server, the LaunchDarkly API (default https://app.launchdarkly.com) or the webhook's endpoint (flag)"},
	{Name: "flag-token", Group: GroupTarget, Secret: true, Fallback: []string{"UNLEASH_API_TOKEN", "LAUNCHDARKLY_ACCESS_TOKEN"},
		Usage: "token of the flag service: an Unleash admin API token, a LaunchDarkly access token, or the webhook's bearer token (flag)"},
	{Name: "state-dir", Group: GroupTarget, Usage: "where the local provider keeps its state (default .ramp/local/<service>)"},
	{Name: "listen", Default: "127.0.0.1:8080", Group: GroupTarget, Usage: "address the local provider's proxy serves the service on"},
	{Name: "metrics-listen", Group: GroupTarget, Usage: "address the local provider's agent serves Prometheus metrics on, at /metrics, without authentication (off when empty)"},
	{Name: "health-path", Default: "/healthz", Group: GroupTarget, Usage: "path that answers 2xx once a local revision is ready"},
	{Name: "replicas", Kind: KindInt, Default: "1", Group: GroupTarget, Usage: "processes the local provider runs per version, each on its own PORT, " +
		"taken in turn by the proxy; the instances strategy rolling replaces (local)"},
	{Name: "shared-agent", Default: "false", Group: GroupTarget, Bool: true, Usage: "run the local provider's agent of this service inside one process shared with every service " +
		"whose state-dir is in the same directory (by default .ramp/local), each on its own listen address; no supervisor (local)"},
	{Name: "ready-timeout", Default: "2m", Group: GroupTarget, Usage: "how long a new revision may take to become ready", Max: maxPoll},

	{Name: "image", Group: GroupDeploy, Usage: "image to deploy; for the local provider, the command line that starts the version (required by deploy)"},
	{Name: "revision", Group: GroupDeploy, Usage: "name of the new revision (default: derived from commit)"},
	{Name: "env", List: true, Group: GroupDeploy, Usage: "extra environment for the new revision: KEY=VALUE pairs, comma or newline separated"},
	{Name: "commit", Group: GroupDeploy, Usage: "commit SHA the candidate is built from (default $GITHUB_SHA)"},
	{Name: "env-file", Group: GroupDeploy, Usage: "file of KEY=VALUE lines (.env style: # comments, export, quotes) for the new revision's environment; env wins on the same name"},
	{Name: "env-mode", Default: "merge", Group: GroupDeploy, Usage: "merge: env, env-file and secrets are added to the service's current environment; " +
		"replace (or overwrite): the new revision has exactly those (cloudrun; the local provider always starts from a clean environment)"},
	{Name: "secrets", List: true, Group: GroupDeploy, Usage: "Secret Manager secrets (cloudrun): NAME=SECRET:VERSION as a variable, /dir/file=SECRET:VERSION as a file; comma or newline separated"},
	{Name: "labels", List: true, Group: GroupDeploy, Usage: "labels of the service and the new revision (cloudrun): KEY=VALUE pairs, comma or newline separated; they win over the default labels"},
	{Name: "skip-default-labels", Default: "false", Group: GroupDeploy, Bool: true, Usage: "do not label the service and revision managed-by=ramp and commit-sha=<commit> (cloudrun)"},
	{Name: "service-account", Group: GroupDeploy, Usage: "email of the service account the new revision runs as (cloudrun)"},
	{Name: "cpu", Group: GroupDeploy, Usage: "CPU limit of the new revision's container, e.g. 1, 2 or 500m (cloudrun)"},
	{Name: "memory", Group: GroupDeploy, Usage: "memory limit of the new revision's container, e.g. 512Mi or 2Gi (cloudrun)"},
	{Name: "min-instances", Kind: KindInt, Group: GroupDeploy, Usage: "fewest instances the new revision keeps running (cloudrun)"},
	{Name: "max-instances", Kind: KindInt, Group: GroupDeploy, Usage: "most instances the new revision scales to (cloudrun)"},
	{Name: "concurrency", Kind: KindInt, Group: GroupDeploy, Usage: "most requests one instance serves at once, 1 to 1000 (cloudrun)"},
	{Name: "timeout", Group: GroupDeploy, Max: maxRequestTimeout, Usage: "request timeout of the new revision, whole seconds (cloudrun; local: how long the proxy waits for the version to start answering before a 504)"},
	{Name: "vpc-connector", Group: GroupDeploy, Usage: "Serverless VPC Access connector for egress: a name in the service's region, or its full name (cloudrun)"},
	{Name: "network", Group: GroupDeploy, Usage: "Direct VPC egress: the VPC network (cloudrun; instead of vpc-connector)"},
	{Name: "subnet", Group: GroupDeploy, Usage: "Direct VPC egress: the subnet (cloudrun; instead of vpc-connector)"},
	{Name: "vpc-egress", Group: GroupDeploy, Usage: "which egress goes to the VPC: all-traffic or private-ranges-only (cloudrun; with vpc-connector, network or subnet)"},
	{Name: "cloudsql-instances", List: true, Group: GroupDeploy, Usage: "Cloud SQL connection names (project:region:instance) the new revision connects to, comma or newline separated (cloudrun)"},
	{Name: "ingress", Group: GroupDeploy, Usage: "where requests may come from: all, internal or internal-and-cloud-load-balancing (cloudrun)"},
	{Name: "metadata", Group: GroupDeploy, Usage: "Service YAML file the service settings start from, as deploy-cloudrun's metadata input; the inputs win over it (cloudrun; see the README for the fields read)"},

	{Name: "strategy", Default: "canary", Group: GroupRollout, Usage: "canary, linear, bluegreen, immediate, rolling (local) or ab (local)"},
	{Name: "steps", Kind: KindWeight, List: true, Default: "10,50,100", Group: GroupRollout, Usage: "canary: candidate weights in order, ending at 100; \"pause\" stops for a manual resume"},
	{Name: "hold", List: true, Group: GroupRollout, Usage: "time at each weight: one duration, or one per canary step (default: interval)", Max: maxWait},
	{Name: "increment", Kind: KindInt, Default: "10", Group: GroupRollout, Usage: "linear: weight added at each step"},
	{Name: "max-surge", Default: "25%", Group: GroupRollout, Usage: "rolling: instances beyond the full count that may run while a batch is replaced, " +
		"a count or a percentage (rounded up)"},
	{Name: "max-unavailable", Default: "25%", Group: GroupRollout, Usage: "rolling: instances that may be out of service while a batch is replaced, " +
		"a count or a percentage (rounded down); with max-surge, the batch size"},
	{Name: "match", List: true, Group: GroupRollout, Usage: "ab: requests the candidate serves, each rule KIND:NAME=VALUE with KIND header, cookie or query " +
		"(header:X-Variant=b, cookie:variant=b, query:variant=b), comma or newline separated (local)"},
	{Name: "ab-weight", Kind: KindInt, Group: GroupRollout, Usage: "ab: percent of the other clients the candidate serves, each kept on its variant by a cookie " +
		"(default: 50 without match rules, 0 with them)"},
	{Name: "duration", Default: "1h", Group: GroupRollout, Max: maxWait, Usage: "ab: how long both variants serve and are compared"},
	{Name: "on-finish", Default: "keep", Group: GroupRollout, Usage: "ab: once duration is over, keep (pause with both variants serving: nothing moves without a person), " +
		"promote-winner (promote a winning candidate, roll back to a winning stable, else keep) or rollback"},
	{Name: "interval", Default: "1m", Group: GroupRollout, Usage: "how often gates are checked; also the default hold", Max: maxPoll},
	{Name: "bake", Default: "0s", Group: GroupRollout, Usage: "after promotion, keep watching the gates this long with the old version warm (bluegreen: how long the old version is kept)", Max: maxWait},
	{Name: "failure-threshold", Kind: KindInt, Default: "2", Group: GroupRollout, Usage: "failed checks in a row of one gate that roll back"},

	{Name: "compare", List: true, Default: "errors,latency", Group: GroupGates, Usage: "what the judge compares between candidate and stable: errors, latency, both, or off"},
	{Name: "alpha", Kind: KindNumber, Default: "0.01", Group: GroupGates, Usage: "judge: the chance, over the whole rollout, of rolling back a candidate no worse than the stable"},
	{Name: "tolerance", Kind: KindNumber, Default: "1", Group: GroupGates, Usage: "judge: how many times the stable's error rate counts as no worse (1.25 tolerates 25% more)"},
	{Name: "on-inconclusive", Default: "promote", Group: GroupGates, Usage: "judge: when the last step before 100% ends without evidence either way: promote, hold (pause) or rollback"},
	{Name: "max-error-rate", Kind: KindNumber, Default: "10", Group: GroupGates, Usage: "guardrail: highest candidate error rate, percent of requests, whatever the stable does (0 turns it off)"},
	{Name: "max-latency-p50", Group: GroupGates, Usage: "guardrail: slowest candidate median latency, e.g. 200ms (off when empty)", Max: maxPoll},
	{Name: "max-latency-p95", Group: GroupGates, Usage: "guardrail: slowest candidate p95 latency (off when empty)", Max: maxPoll},
	{Name: "max-latency-p99", Group: GroupGates, Usage: "guardrail: slowest candidate p99 latency (off when empty)", Max: maxPoll},
	{Name: "min-requests", Kind: KindInt, Default: "50", Group: GroupGates, Usage: "requests a guardrail verdict needs; windows are pooled until they hold this many"},
	{Name: "error-threshold", Kind: KindInt, Default: "4", Group: GroupGates, Usage: "checks in a row that may fail to measure (metrics backend down) before rolling back"},
	{Name: "metrics-delay", Group: GroupGates, Max: maxPoll, Usage: "how late the metrics show traffic: each check judges the traffic up to this long ago " +
		"(default: the metrics source's: 3m for cloudrun and ecs, 0s for local, 1m for prometheus, 2m for datadog)"},
	{Name: "progress-deadline", Default: "10m", Group: GroupGates, Usage: "a step whose probe still has no verdict after max(hold, this) rolls back", Max: maxWait},
	{Name: "probe-path", Group: GroupGates, Usage: "HTTP probe: path on the candidate's own URL (probe off when both probe-path and probe-url are empty)"},
	{Name: "probe-url", Group: GroupGates, Usage: "HTTP probe: full URL to probe instead of the candidate's own URL"},
	{Name: "probe-count", Kind: KindInt, Default: "5", Group: GroupGates, Usage: "HTTP probe: requests per check"},
	{Name: "probe-expect-status", Kind: KindInt, Default: "200", Group: GroupGates, Usage: "HTTP probe: status a probe must answer"},
	{Name: "probe-max-latency", Default: "1s", Group: GroupGates, Usage: "HTTP probe: slowest passing answer", Max: maxPoll},
	{Name: "probe-success-ratio", Kind: KindNumber, Default: "100", Group: GroupGates, Usage: "HTTP probe: lowest passing percent of good probes"},

	{Name: "metrics-source", Default: "provider", Group: GroupMetrics, Usage: "where the judge, the guardrails and ramp.yaml's checks read traffic: " +
		"provider (the provider's own metrics: the local proxy, Cloud Monitoring), prometheus or datadog"},
	{Name: "prometheus-url", Group: GroupMetrics, Usage: "prometheus: base URL of the Prometheus-compatible API, before /api/v1 (e.g. http://prometheus:9090)"},
	{Name: "prometheus-token", Group: GroupMetrics, Secret: true, Usage: "prometheus: bearer token sent as Authorization: Bearer"},
	{Name: "prometheus-username", Group: GroupMetrics, Usage: "prometheus: basic auth user (Grafana Cloud: the instance ID)"},
	{Name: "prometheus-password", Group: GroupMetrics, Secret: true, Usage: "prometheus: basic auth password (Grafana Cloud: an access policy token)"},
	{Name: "prometheus-headers", List: true, Group: GroupMetrics, Secret: true, Usage: "prometheus: extra request headers, \"Name: value\", one a line or comma separated " +
		"(a comma not followed by a header name stays in the value, as in Fly's FlyV1 tokens)"},
	{Name: "prometheus-selector", Group: GroupMetrics, Usage: "prometheus: label matchers selecting one version's series, " +
		"a template ({{.Version}}, {{.Candidate}}, {{.Stable}}, {{.Service}}) (default: version=\"{{.Version}}\")"},
	{Name: "prometheus-requests-metric", Default: "http_requests_total", Group: GroupMetrics, Usage: "prometheus: request counter with a status-code label"},
	{Name: "prometheus-code-label", Default: "code", Group: GroupMetrics, Usage: "prometheus: the request counter's status-code label; codes starting with 5 are errors"},
	{Name: "prometheus-latency-metric", Default: "http_request_duration_seconds", Group: GroupMetrics, Usage: "prometheus: latency histogram in seconds, without _bucket"},
	{Name: "prometheus-requests-query", Group: GroupMetrics, Usage: "prometheus: PromQL template for one version's requests over {{.Window}}, " +
		"instead of the built-in query (one value)"},
	{Name: "prometheus-errors-query", Group: GroupMetrics, Usage: "prometheus: PromQL template for one version's failed requests over {{.Window}} " +
		"(one value; end it with `or vector(0)` when no series means no errors)"},
	{Name: "prometheus-latency-query", Group: GroupMetrics, Usage: "prometheus: PromQL template for one version's latency histogram over {{.Window}}: " +
		"cumulative counts by le, in seconds"},
	{Name: "datadog-site", Default: datadog.DefaultSite, Group: GroupMetrics, Fallback: []string{"DD_SITE"},
		Usage: "Datadog metrics: the site, e.g. datadoghq.com, datadoghq.eu or us5.datadoghq.com (default $DD_SITE, then datadoghq.com)"},
	{Name: "datadog-api-key", Group: GroupMetrics, Secret: true, Fallback: []string{"DD_API_KEY"},
		Usage: "Datadog metrics: the API key (default $DD_API_KEY)"},
	{Name: "datadog-app-key", Group: GroupMetrics, Secret: true, Fallback: []string{"DD_APP_KEY"},
		Usage: "Datadog metrics: the application key, with the timeseries_query scope (default $DD_APP_KEY)"},
	{Name: "datadog-requests-query", Default: datadog.DefaultRequestsQuery, Group: GroupMetrics,
		Usage: "Datadog metrics: the query counting a version's requests ({{.Version}}, {{.Service}}, {{.Candidate}}, {{.Stable}}, {{.Window}})"},
	{Name: "datadog-errors-query", Default: datadog.DefaultErrorsQuery, Group: GroupMetrics,
		Usage: "Datadog metrics: the query counting a version's failed requests; it must return a series whenever the requests query does"},

	{Name: "on-cancel", Default: "rollback", Group: GroupRun, Usage: "when the job is cancelled: rollback (all traffic to stable) or leave"},
	{Name: "rollback-window", Default: "10m", Group: GroupRun, Usage: "after promotion, keep the previous version warm this long for an instant `ramp rollback`", Max: maxWarm},
	{Name: "wait-lock", Default: "0s", Group: GroupRun, Usage: "deploy: when a rollout is already in flight, wait up to this long for it to end instead of failing at once", Max: maxWait},
	{Name: "watch-window", Default: "10m", Group: GroupRun, Usage: "watch: the traffic a watch judges, back from now (from the promotion at the latest)", Max: maxWait},
	{Name: "wait-bake", Default: "false", Group: GroupRun, Bool: true, Usage: "also wait out the bake after promotion before exiting"},
	{Name: "ab", Default: "false", Group: GroupRun, Bool: true, Usage: "demo: show an A/B test instead of the canaries (a header and query cohort, sticky clients, the winner promoted)"},
	{Name: "output", Default: "text", Group: GroupRun, Usage: "text (progress lines) or json (JSON Lines events and result)"},
	{Name: "summary", Group: GroupRun, Usage: "also write the Markdown summary to this file"},
	{Name: "reason", Group: GroupRun, Usage: "promote, rollback, pause: why, recorded with the rollout"},
	{Name: "rolling", Default: "false", Group: GroupRun, Bool: true, Usage: "demo: show strategy rolling instead of the canaries (four local replicas replaced two at a time, a faulty version rolled back)"},

	{Name: "github-token", Group: GroupReport, Secret: true, Usage: "token for commit statuses, deployments and PR replies (the action passes github.token); empty turns GitHub reporting off"},
	{Name: "environment", Default: "production", Group: GroupReport, Usage: "GitHub deployment environment to record the rollout in (empty: no deployment)"},
	{Name: "status-context", Group: GroupReport, Usage: "commit status context (default ramp/<service>)"},
	{Name: "services", List: true, Group: GroupReport, Usage: "comment: the other services a PR comment command may name, comma or newline separated (default: service only)"},
	{Name: "dotenv", Group: GroupReport, Usage: "also write the outputs as KEY=value lines to this file (GitLab dotenv report)"},

	// Webhooks and notifications (ramp.yaml's webhooks and notifications
	// sections). In GroupReport, not GroupGates: resume, promote, rollback
	// and pause call the stored webhooks too, and they read no gate option.
	{Name: "webhook-secret", Group: GroupReport, Secret: true, Usage: "shared secret signing every webhook call and generic notification: " +
		"X-Ramp-Signature is sha256= and the hex HMAC-SHA256 of \"<X-Ramp-Timestamp>.<body>\" (unsigned when empty)"},
}

// Lookup finds an option by name.
func Lookup(name string) (Option, bool) {
	for _, o := range Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}
