package cli

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/gates/datadog"
	"github.com/ramp-deploy/ramp/gates/prometheus"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// metricSource builds a metric source for a rollout of prov from the
// configuration; nil means no metrics (a provider that reports none).
type metricSource func(a *app, prov providers.Provider) (gates.MetricSource, error)

// metricSources is every metrics-source this ramp reads, by name. There is
// no fallback: another name is an input error listing these.
var metricSources = map[string]metricSource{
	config.SourceProvider:   providerMetrics,
	config.SourcePrometheus: prometheusMetrics,
	config.SourceDatadog:    datadogMetrics,
}

// sourceNames lists the valid metrics-source values, sorted.
func sourceNames() []string {
	names := make([]string, 0, len(metricSources))
	for n := range metricSources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// metricSource builds the source metrics-source names for prov (which
// may be nil when the provider did not build: the error is then the
// provider's). It calls nothing.
func (a *app) metricSource(prov providers.Provider) (gates.MetricSource, error) {
	name := a.cfg.MetricsSource
	if name == "" {
		name = config.SourceProvider
	}
	build, ok := metricSources[name]
	if !ok {
		return nil, input.Invalid("metrics-source", name, "is not a metrics source this ramp reads; valid sources are %q", sourceNames())
	}
	return build(a, prov)
}

// delayFrom says, for the plan, whose default delay applies.
func (a *app) delayFrom() string {
	if slices.Contains([]string{"", config.SourceProvider}, a.cfg.MetricsSource) {
		return fmt.Sprintf("the %s provider's default", a.cfg.Provider)
	}
	return fmt.Sprintf("the %s source's default", a.cfg.MetricsSource)
}

// providerMetrics is the provider's own metrics, when it reports any.
func providerMetrics(_ *app, prov providers.Provider) (gates.MetricSource, error) {
	src, _ := prov.(gates.MetricSource)
	return src, nil
}

// prometheusMetrics reads a Prometheus-compatible API; its warnings go to
// the run's output.
func prometheusMetrics(a *app, prov providers.Provider) (gates.MetricSource, error) {
	cfg := a.cfg.Prometheus
	cfg.Warn = a.sourceWarning
	if il, ok := prov.(providers.InstanceLister); ok {
		cfg.Instances = func(ctx context.Context, version string) (string, error) {
			ids, err := il.InstancesOf(ctx, version)
			return instancesRegexp(ids), err
		}
	}
	return prometheus.New(cfg)
}

// instancesRegexp matches exactly the instance IDs given (nothing, with
// none: a label is never "^$"-only in a series that counts requests).
func instancesRegexp(ids []string) string {
	if len(ids) == 0 {
		return "^$"
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = regexp.QuoteMeta(id)
	}
	slices.Sort(quoted) // one query text for one set of instances, whatever order they were listed in
	return strings.Join(quoted, "|")
}

// datadogMetrics reads Datadog's timeseries query API.
func datadogMetrics(a *app, _ providers.Provider) (gates.MetricSource, error) {
	return datadog.New(a.cfg.Datadog)
}

// sourceWarning passes a metric source's warning to the run's output, or
// to stderr before there is one.
func (a *app) sourceWarning(msg string) {
	if a.out != nil {
		a.out.sink(&engine.Warning{At: engine.At{At: time.Now()}, Message: msg})
		return
	}
	fmt.Fprintf(a.env.Stderr, "ramp: warning: %s\n", msg)
}
