package config

import (
	"strings"

	"github.com/ramp-deploy/ramp/gates/prometheus"
	"github.com/ramp-deploy/ramp/internal/input"
)

// The values of metrics-source the configuration knows. Which of them this
// build can read is the command line's business (its source registry),
// which names the valid ones when given another.
const (
	SourceProvider   = "provider"
	SourcePrometheus = "prometheus"
	SourceDatadog    = "datadog"
)

// metrics reads where the judge, the guardrails and the checks read
// traffic, and the Prometheus settings, checked whole when Prometheus is
// the source. A Prometheus option given with another source is an error
// rather than ignored: the rollout would be judged from other metrics
// than the user meant.
func (p *parser) metrics(c *Config) {
	c.MetricsSource = strings.TrimSpace(p.str("metrics-source"))
	if c.MetricsSource == "" {
		c.MetricsSource = SourceProvider
	}
	c.Prometheus = prometheus.Config{
		URL: p.str("prometheus-url"), Token: p.str("prometheus-token"),
		Username: p.str("prometheus-username"), Password: p.str("prometheus-password"),
		Headers:  prometheus.SplitHeaders(p.str("prometheus-headers")),
		Selector: p.str("prometheus-selector"), RequestsMetric: p.str("prometheus-requests-metric"),
		CodeLabel: p.str("prometheus-code-label"), LatencyMetric: p.str("prometheus-latency-metric"),
		RequestsQuery: p.str("prometheus-requests-query"), ErrorsQuery: p.str("prometheus-errors-query"),
		LatencyQuery: p.str("prometheus-latency-query"), Service: c.Target.Service,
	}
	switch c.MetricsSource {
	case SourcePrometheus:
		p.errs = append(p.errs, input.Leaves(c.Prometheus.Validate())...)
	case SourceDatadog:
		p.errs = append(p.errs, input.Leaves(c.Datadog.Validate())...)
	}
	p.unused(c.MetricsSource, SourcePrometheus, "prometheus-")
	// The Datadog keys and site fall back to DD_* variables a runner may
	// hold for other tools: only the queries say Datadog was meant.
	p.unused(c.MetricsSource, SourceDatadog, "datadog-requests-query", "datadog-errors-query")
}

// unused fails when an option of source (named by the prefixes) is given
// while metrics-source names another source.
func (p *parser) unused(chosen, source string, prefixes ...string) {
	if chosen == source {
		return
	}
	for _, o := range Options {
		for _, prefix := range prefixes {
			if strings.HasPrefix(o.Name, prefix) && p.v.Given(o.Name) && p.str(o.Name) != o.Default {
				p.fail("metrics-source", chosen, "%s is set: set metrics-source to %s, or leave the %s options out", o.Name, source, source)
				return
			}
		}
	}
}
