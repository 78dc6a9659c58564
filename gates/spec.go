package gates

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Spec is the gate settings. Zero thresholds switch a metric gate off.
type Spec struct {
	// MaxErrorRate is the highest passing error rate in percent; 0 is off.
	MaxErrorRate float64 `json:"max_error_rate,omitempty"`
	// MaxP50, MaxP95 and MaxP99 are the slowest passing latency percentiles.
	MaxP50 time.Duration `json:"max_latency_p50,omitempty"`
	MaxP95 time.Duration `json:"max_latency_p95,omitempty"`
	MaxP99 time.Duration `json:"max_latency_p99,omitempty"`
	// MinRequests is the least traffic a metric verdict needs.
	MinRequests int64 `json:"min_requests"`
	// ErrorThreshold is how many checks in a row may fail to run.
	ErrorThreshold int `json:"error_threshold"`
	// ProgressDeadline fails a step still without a verdict after it.
	ProgressDeadline time.Duration `json:"progress_deadline"`
	// Probe configures the HTTP probe gate; off unless Path or URL is set.
	Probe ProbeSpec `json:"probe"`
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
	if s.MinRequests < 0 {
		errs = append(errs, input.Invalid("min-requests", strconv.FormatInt(s.MinRequests, 10), "must not be negative"))
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

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// MetricsWanted reports whether any metric gate is on.
func (s Spec) MetricsWanted() bool {
	return s.MaxErrorRate > 0 || s.MaxP50 > 0 || s.MaxP95 > 0 || s.MaxP99 > 0
}

// Build makes the gates the spec turns on. src may be nil when the provider
// reports no metrics; then asking for a metric gate is an input error.
func Build(s Spec, src MetricSource, client *http.Client) ([]Gate, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var gs []Gate
	if s.Probe.Enabled() {
		p := s.Probe
		gs = append(gs, ProbeGate{Client: client, URL: p.URL, Path: p.Path, Count: p.Count,
			ExpectStatus: p.ExpectStatus, MaxLatency: p.MaxLatency, SuccessRatio: p.SuccessRatio})
	}
	if !s.MetricsWanted() {
		return gs, nil
	}
	if src == nil {
		return nil, input.Invalid(s.firstMetricInput(), "", "this provider reports no metrics; use probe gates or a metrics source")
	}
	add := func(metric string, maxV float64) {
		if maxV > 0 {
			gs = append(gs, MetricGate{Source: src, Metric: metric, Max: maxV, MinRequests: s.MinRequests})
		}
	}
	add(MetricErrorRate, s.MaxErrorRate)
	add(MetricLatencyP50, Millis(s.MaxP50))
	add(MetricLatencyP95, Millis(s.MaxP95))
	add(MetricLatencyP99, Millis(s.MaxP99))
	return gs, nil
}

// firstMetricInput names the first metric gate input that is on.
func (s Spec) firstMetricInput() string {
	switch {
	case s.MaxErrorRate > 0:
		return "max-error-rate"
	case s.MaxP50 > 0:
		return "max-latency-p50"
	case s.MaxP95 > 0:
		return "max-latency-p95"
	}
	return "max-latency-p99"
}

// NeedsTraffic reports whether g can only judge a candidate taking traffic;
// such gates are skipped while the candidate has none (blue-green tests).
func NeedsTraffic(g Gate) bool {
	n, ok := g.(interface{ NeedsTraffic() bool })
	return ok && n.NeedsTraffic()
}
