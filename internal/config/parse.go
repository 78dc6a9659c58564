package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// parser converts raw values, collecting every problem. A value that does
// not parse reads as its zero value, so the checks made on it later report
// nothing more about it (see input.Merge).
type parser struct {
	v    Values
	errs []error
}

func (p *parser) str(name string) string { return p.v.Get(name) }

func (p *parser) fail(name, raw, format string, args ...any) {
	p.errs = append(p.errs, input.Invalid(name, raw, format, args...))
}

// duration reads a duration option: empty is 0; it must not be negative
// nor longer than the option's documented maximum.
func (p *parser) duration(name string) time.Duration {
	raw := p.v.Get(name)
	if raw == "" {
		return 0
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		p.fail(name, raw, "is not a duration such as 30s, 5m or 1h")
		return 0
	}
	if !p.inBounds(name, raw, d) {
		return 0
	}
	return d
}

// inBounds reports whether d is within 0..the option's maximum, recording
// the problem if not.
func (p *parser) inBounds(name, raw string, d time.Duration) bool {
	if d < 0 {
		p.fail(name, raw, "must not be negative")
		return false
	}
	if o, _ := Lookup(name); o.Max > 0 && d > o.Max {
		p.fail(name, raw, "is longer than the maximum of %s", FormatDuration(o.Max))
		return false
	}
	return true
}

func (p *parser) integer(name string) int {
	raw := p.v.Get(name)
	n, err := strconv.Atoi(raw)
	switch {
	case errors.Is(err, strconv.ErrRange):
		p.fail(name, raw, "is out of range")
		return 0
	case err != nil:
		p.fail(name, raw, "is not a whole number")
		return 0
	}
	return n
}

// number reads a decimal number, optionally followed by %. NaN and the
// infinities are refused: no threshold can be compared with them.
func (p *parser) number(name string) float64 {
	raw := p.v.Get(name)
	f, err := strconv.ParseFloat(strings.TrimSuffix(raw, "%"), 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || (err == nil && math.IsInf(f, 0)):
		p.fail(name, raw, "is out of range")
		return 0
	case err != nil:
		p.fail(name, raw, "is not a number")
		return 0
	case math.IsNaN(f):
		p.fail(name, raw, "is not a number")
		return 0
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
	p.fail(name, raw, "must be true or false")
	return false
}

func (p *parser) oneOf(name string, valid ...string) string {
	raw := p.v.Get(name)
	for _, s := range valid {
		if raw == s {
			return raw
		}
	}
	p.fail(name, raw, "must be one of %q", valid)
	return raw
}

// steps reads the canary's steps; nil when they do not parse.
func (p *parser) steps() []strategies.Target {
	raw := p.str("steps")
	if raw == "" {
		return nil
	}
	steps, err := strategies.ParseSteps(raw)
	if err != nil {
		p.errs = append(p.errs, err)
		return nil
	}
	return steps
}

// holds reads the hold list, each within the option's bounds; nil when any
// does not parse.
func (p *parser) holds() []time.Duration {
	raw := p.str("hold")
	if raw == "" {
		return nil
	}
	holds, err := strategies.ParseHolds(raw)
	if err != nil {
		p.errs = append(p.errs, err)
		return nil
	}
	for _, d := range holds {
		if !p.inBounds("hold", raw, d) {
			return nil
		}
	}
	return holds
}

// rollout reads the plan and gate settings.
func (p *parser) rollout() Rollout {
	var r Rollout
	s := &r.Strategy
	s.Strategy = p.str("strategy")
	s.Steps, s.Holds = p.steps(), p.holds()
	s.Increment = p.integer("increment")
	s.MaxSurge, s.MaxUnavailable = p.str("max-surge"), p.str("max-unavailable")
	if s.Strategy == strategies.AB { // applies() refuses them given to another strategy
		s.Match, s.Duration, s.OnFinish = splitList(p.str("match")), p.duration("duration"), p.str("on-finish")
		switch {
		case p.str("ab-weight") != "":
			s.ABWeight = p.integer("ab-weight")
		case len(s.Match) == 0:
			s.ABWeight = 50
		}
	}
	s.Interval = p.duration("interval")
	s.Bake = p.duration("bake")
	s.FailureThreshold = p.integer("failure-threshold")
	g := &r.Gates
	g.Compare, g.OnInconclusive = p.str("compare"), p.str("on-inconclusive")
	g.Alpha, g.Tolerance = p.number("alpha"), p.number("tolerance")
	g.MaxErrorRate = p.number("max-error-rate")
	g.MaxP50, g.MaxP95, g.MaxP99 = p.duration("max-latency-p50"), p.duration("max-latency-p95"), p.duration("max-latency-p99")
	g.MinRequests = int64(p.integer("min-requests"))
	g.ErrorThreshold = p.integer("error-threshold")
	if p.str("metrics-delay") != "" { // empty: the provider's delay
		d := p.duration("metrics-delay")
		g.MetricsDelay = &d
	}
	g.ProgressDeadline = p.duration("progress-deadline")
	g.Probe = gates.ProbeSpec{URL: p.str("probe-url"), Path: p.str("probe-path"), Count: p.integer("probe-count"),
		ExpectStatus: p.integer("probe-expect-status"), MaxLatency: p.duration("probe-max-latency"),
		SuccessRatio: p.number("probe-success-ratio")}
	p.applies(s.Strategy)
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

// FormatDuration writes d without zero trailing units: 24h, 1h30m, 90s.
func FormatDuration(d time.Duration) string { return input.Duration(d) }

// ecs reads the options of the ecs provider's modes into t: only for
// provider ecs, so another provider's defaults never trip its checks.
func (p *parser) ecs(t *providers.Config, provider string) {
	var hookTimeout time.Duration
	if p.v.has("hook-timeout") {
		hookTimeout = p.duration("hook-timeout") // checked against its maximum for any provider
	}
	if provider != "ecs" {
		return
	}
	if p.v.has("mode") {
		t.Mode = p.oneOf("mode", "tasksets", "native")
	}
	if p.v.has("task-definition") {
		t.TaskDefinition = p.str("task-definition")
	}
	if p.v.has("candidate-scale") && p.str("candidate-scale") != "" {
		t.CandidateScale = p.integer("candidate-scale")
	}
	if t.Mode == "native" {
		t.HookTimeout = hookTimeout
	}
}
