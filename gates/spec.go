package gates

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Spec is the gate settings. Zero thresholds switch a guardrail off.
type Spec struct {
	// Compare lists what the comparative judge compares: "errors",
	// "latency", both comma separated, or "off".
	Compare string `json:"compare,omitempty"`
	// Alpha bounds the judge's false rollbacks; Tolerance is its null ratio.
	Alpha     float64 `json:"alpha,omitempty"`
	Tolerance float64 `json:"tolerance,omitempty"`
	// OnInconclusive decides an inconclusive comparison at the end of the
	// last step before 100%: promote, hold or rollback.
	OnInconclusive string `json:"on_inconclusive,omitempty"`
	// MaxErrorRate is the highest passing error rate in percent; 0 is off.
	MaxErrorRate float64 `json:"max_error_rate,omitempty"`
	// MaxP50, MaxP95 and MaxP99 are the slowest passing latency percentiles.
	MaxP50 time.Duration `json:"max_latency_p50,omitempty"`
	MaxP95 time.Duration `json:"max_latency_p95,omitempty"`
	MaxP99 time.Duration `json:"max_latency_p99,omitempty"`
	// MinRequests is the least traffic a guardrail verdict needs; windows
	// are pooled until they hold it.
	MinRequests int64 `json:"min_requests"`
	// ErrorThreshold is how many checks in a row may fail to run.
	ErrorThreshold int `json:"error_threshold"`
	// MetricsDelay is how long ago the traffic each poll measures ends
	// (Metrics.Delay); nil leaves it to the source (DefaultDelay).
	MetricsDelay *time.Duration `json:"metrics_delay,omitempty"`
	// ProgressDeadline fails a step still without a verdict after it.
	ProgressDeadline time.Duration `json:"progress_deadline"`
	// Probe configures the HTTP probe gate; off unless Path or URL is set.
	Probe ProbeSpec `json:"probe"`
	// Checks are the configuration file's custom metric checks.
	Checks []CheckSpec `json:"checks,omitempty"`
	// Webhooks are the configuration file's webhooks.
	Webhooks []WebhookSpec `json:"webhooks,omitempty"`
	// Service is the service's name, for the checks' {{.Service}}: set by
	// whoever builds the gates, never stored with the rollout.
	Service string `json:"-"`
}

// ProbeSpec is the HTTP probe settings.
type ProbeSpec struct {
	URL          string        `json:"url,omitempty"`
	Path         string        `json:"path,omitempty"`
	Count        int           `json:"count"`
	ExpectStatus int           `json:"expect_status"`
	MaxLatency   time.Duration `json:"max_latency"`
	SuccessRatio float64       `json:"success_ratio"`
}

// Enabled reports whether the probe gate runs.
func (p ProbeSpec) Enabled() bool { return p.URL != "" || p.Path != "" }

// Validate lists every bad setting, each naming its input.
func (s Spec) Validate() error {
	var errs []error
	// Written as !(in range) so that NaN, which compares false with
	// everything, is out of range too.
	if !(s.MaxErrorRate >= 0 && s.MaxErrorRate <= 100) {
		errs = append(errs, input.Invalid("max-error-rate", formatFloat(s.MaxErrorRate), "must be within 0..100"))
	}
	// An unused ratio is still checked for NaN: the spec is stored as JSON,
	// which has no NaN.
	if r := s.Probe.SuccessRatio; math.IsNaN(r) || (s.Probe.Enabled() && !(r > 0 && r <= 100)) {
		errs = append(errs, input.Invalid("probe-success-ratio", formatFloat(r), "must be above 0 and at most 100"))
	}
	for name, d := range map[string]time.Duration{"max-latency-p50": s.MaxP50, "max-latency-p95": s.MaxP95,
		"max-latency-p99": s.MaxP99, "probe-max-latency": s.Probe.MaxLatency} {
		if d < 0 {
			errs = append(errs, input.Invalid(name, d.String(), "must not be negative"))
		}
	}
	errs = append(errs, s.validateJudge()...)
	for i, c := range s.Checks {
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("checks[%d] %q: %w", i, c.Name, err))
		}
	}
	for i, w := range s.Webhooks {
		if err := w.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("webhooks[%d] %q: %w", i, w.Name, err))
		}
	}
	if s.MinRequests < 0 {
		errs = append(errs, input.Invalid("min-requests", strconv.FormatInt(s.MinRequests, 10), "must not be negative"))
	}
	if d := s.MetricsDelay; d != nil && *d < 0 {
		errs = append(errs, input.Invalid("metrics-delay", d.String(), "must not be negative"))
	}
	if s.ErrorThreshold < 1 {
		errs = append(errs, input.Invalid("error-threshold", strconv.Itoa(s.ErrorThreshold), "must be at least 1"))
	}
	if s.ProgressDeadline <= 0 {
		errs = append(errs, input.Invalid("progress-deadline", s.ProgressDeadline.String(), "must be positive"))
	}
	if s.Probe.Enabled() {
		if s.Probe.Count < 1 || s.Probe.Count > 1000 {
			errs = append(errs, input.Invalid("probe-count", strconv.Itoa(s.Probe.Count), "must be within 1..1000"))
		}
		if s.Probe.ExpectStatus < 100 || s.Probe.ExpectStatus > 599 {
			errs = append(errs, input.Invalid("probe-expect-status", strconv.Itoa(s.Probe.ExpectStatus), "is not an HTTP status"))
		}
		if s.Probe.URL != "" {
			if u, err := url.Parse(s.Probe.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, input.Invalid("probe-url", s.Probe.URL, "is not an http(s) URL"))
			}
		}
	}
	return errors.Join(errs...)
}

// validateJudge checks the comparative judge's settings.
func (s Spec) validateJudge() []error {
	var errs []error
	_, _, bad := s.compares()
	if bad != nil {
		errs = append(errs, bad)
	}
	switch s.OnInconclusive {
	case "", OnInconclusivePromote, OnInconclusiveHold, OnInconclusiveRollback:
	default:
		errs = append(errs, input.Invalid("on-inconclusive", s.OnInconclusive, "must be promote, hold or rollback"))
	}
	if bad == nil && s.judge() == nil { // the judge's numbers matter only when it may run
		return errs
	}
	if !(s.Alpha > 0 && s.Alpha <= 0.5) {
		errs = append(errs, input.Invalid("alpha", formatFloat(s.Alpha), "must be above 0 and at most 0.5"))
	}
	if !(s.Tolerance >= 1 && s.Tolerance <= 10) {
		errs = append(errs, input.Invalid("tolerance", formatFloat(s.Tolerance), "must be a ratio within 1..10 (1.25 allows 25%% more errors than the stable)"))
	}
	return errs
}

// compares parses Compare.
func (s Spec) compares() (errs, latency bool, err error) {
	for _, f := range strings.FieldsFunc(s.Compare, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		switch f {
		case "errors":
			errs = true
		case "latency":
			latency = true
		case "off", "none":
		default:
			return false, false, input.Invalid("compare", s.Compare, "lists errors and latency, or is off")
		}
	}
	return errs, latency, nil
}

// judge returns the judge's settings, nil when it is off.
func (s Spec) judge() *JudgeSpec {
	errs, latency, _ := s.compares()
	if !errs && !latency {
		return nil
	}
	return &JudgeSpec{Alpha: s.Alpha, Tolerance: s.Tolerance, Errors: errs, Latency: latency}
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// MetricsWanted reports whether the judge or any guardrail is on.
func (s Spec) MetricsWanted() bool {
	return s.judge() != nil || s.MaxErrorRate > 0 || s.MaxP50 > 0 || s.MaxP95 > 0 || s.MaxP99 > 0
}

// Build makes the probe gate, a gate per check and the metric analysis the
// spec turns on. src may be nil when the provider reports no metrics; then
// asking for the judge or a guardrail is an input error, and checks need
// src to be a QuerySource.
func Build(s Spec, src MetricSource, client *http.Client) ([]Gate, Metrics, error) {
	if err := s.Validate(); err != nil {
		return nil, Metrics{}, err
	}
	var gs []Gate
	if s.Probe.Enabled() {
		p := s.Probe
		gs = append(gs, ProbeGate{Client: client, URL: p.URL, Path: p.Path, Count: p.Count,
			ExpectStatus: p.ExpectStatus, MaxLatency: p.MaxLatency, SuccessRatio: p.SuccessRatio})
	}
	checks, err := s.checkGates(src)
	if err != nil {
		return nil, Metrics{}, err
	}
	gs = append(gs, checks...)
	if !s.MetricsWanted() {
		return gs, Metrics{}, nil
	}
	if src == nil {
		return nil, Metrics{}, input.Invalid(s.firstMetricInput(), "", "this provider reports no metrics; use probe gates or a metrics source")
	}
	m := Metrics{Source: src, Judge: s.judge(), OnInconclusive: s.OnInconclusive, Delay: s.Delay(src)}
	add := func(metric string, maxV float64) {
		if maxV > 0 {
			m.Guardrails = append(m.Guardrails, Guardrail{Metric: metric, Max: maxV, MinRequests: s.MinRequests})
		}
	}
	add(MetricErrorRate, s.MaxErrorRate)
	add(MetricLatencyP50, Millis(s.MaxP50))
	add(MetricLatencyP95, Millis(s.MaxP95))
	add(MetricLatencyP99, Millis(s.MaxP99))
	return gs, m, nil
}

// checkGates makes a gate of each check, which src must answer: a
// QuerySource (metrics-source prometheus or datadog).
func (s Spec) checkGates(src MetricSource) ([]Gate, error) {
	if len(s.Checks) == 0 {
		return nil, nil
	}
	qs, ok := src.(QuerySource)
	if !ok {
		return nil, input.Invalid("checks", "", "need a metrics source that answers queries: set metrics-source to prometheus or datadog")
	}
	var gs []Gate
	var errs []error
	for i, c := range s.Checks {
		if !c.Bounded() { // compared in an A/B test only
			continue
		}
		g, err := NewCheckGate(c, qs, s.Service, s.Delay(src))
		if err != nil {
			errs = append(errs, fmt.Errorf("checks[%d] %q: %w", i, c.Name, err))
			continue
		}
		gs = append(gs, g)
	}
	return gs, errors.Join(errs...)
}

// AB is the comparison of an A/B test under these settings: alpha, the
// compared metrics (compare's errors and latency) and every check with a
// direction.
func (s Spec) AB() ABSpec {
	errs, latency, _ := s.compares()
	ab := ABSpec{Alpha: s.Alpha, Errors: errs, Latency: latency}
	for _, c := range s.Checks {
		if c.Direction != "" {
			ab.Checks = append(ab.Checks, c)
		}
	}
	return ab
}

// Delay is the metrics delay: MetricsDelay when set, else what src asks for.
func (s Spec) Delay(src MetricSource) time.Duration {
	if s.MetricsDelay != nil {
		return *s.MetricsDelay
	}
	return DefaultDelay(src)
}

// firstMetricInput names the first metric input that is on.
func (s Spec) firstMetricInput() string {
	switch {
	case s.judge() != nil:
		return "compare"
	case s.MaxErrorRate > 0:
		return "max-error-rate"
	case s.MaxP50 > 0:
		return "max-latency-p50"
	case s.MaxP95 > 0:
		return "max-latency-p95"
	}
	return "max-latency-p99"
}
