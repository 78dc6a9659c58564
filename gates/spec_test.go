package gates_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
)

// validSpec turns every gate on with sound settings.
func validSpec() gates.Spec {
	return gates.Spec{
		Compare: "errors,latency", Alpha: 0.01, Tolerance: 1, OnInconclusive: "promote",
		MaxErrorRate: 1, MaxP95: 250 * time.Millisecond, MinRequests: 10, ErrorThreshold: 3, ProgressDeadline: 10 * time.Minute,
		Probe: gates.ProbeSpec{Path: "/healthz", Count: 10, ExpectStatus: 200, MaxLatency: 500 * time.Millisecond, SuccessRatio: 95},
	}
}

// inputs lists, sorted, the inputs err names.
func inputs(err error) []string {
	var names []string
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*input.Error); ok {
			names = append(names, e.Input)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	walk(err)
	slices.Sort(names)
	return names
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*gates.Spec)
		want   []string
	}{
		{"valid", func(*gates.Spec) {}, nil},
		{"metric gates off", func(s *gates.Spec) { s.MaxErrorRate, s.MaxP95 = 0, 0 }, nil},
		{"probe off needs no probe settings", func(s *gates.Spec) { s.Probe = gates.ProbeSpec{} }, nil},
		{"probe by URL", func(s *gates.Spec) { s.Probe.Path, s.Probe.URL = "", "https://web.example.com/healthz" }, nil},
		{"bounds are valid", func(s *gates.Spec) {
			s.MaxErrorRate, s.Probe.SuccessRatio, s.Probe.Count, s.Probe.ExpectStatus, s.ErrorThreshold = 100, 100, 1000, 599, 1
		}, nil},
		{"judge off needs no judge settings", func(s *gates.Spec) { s.Compare, s.Alpha, s.Tolerance = "off", 0, 0 }, nil},
		{"errors only", func(s *gates.Spec) { s.Compare = "errors" }, nil},
		{"unknown comparison", func(s *gates.Spec) { s.Compare = "errors,cpu" }, []string{"compare"}},
		{"unknown comparison and bad numbers", func(s *gates.Spec) { s.Compare, s.Alpha = "cpu", 2 }, []string{"alpha", "compare"}},
		{"alpha zero", func(s *gates.Spec) { s.Alpha = 0 }, []string{"alpha"}},
		{"alpha NaN", func(s *gates.Spec) { s.Alpha = math.NaN() }, []string{"alpha"}},
		{"alpha above one half", func(s *gates.Spec) { s.Alpha = 0.6 }, []string{"alpha"}},
		{"tolerance below one", func(s *gates.Spec) { s.Tolerance = 0.9 }, []string{"tolerance"}},
		{"tolerance infinite", func(s *gates.Spec) { s.Tolerance = math.Inf(1) }, []string{"tolerance"}},
		{"unknown on-inconclusive", func(s *gates.Spec) { s.OnInconclusive = "wait" }, []string{"on-inconclusive"}},
		{"negative error rate", func(s *gates.Spec) { s.MaxErrorRate = -1 }, []string{"max-error-rate"}},
		{"error rate over 100", func(s *gates.Spec) { s.MaxErrorRate = 101 }, []string{"max-error-rate"}},
		{"success ratio over 100", func(s *gates.Spec) { s.Probe.SuccessRatio = 120 }, []string{"probe-success-ratio"}},
		{"NaN error rate", func(s *gates.Spec) { s.MaxErrorRate = math.NaN() }, []string{"max-error-rate"}},
		{"infinite error rate", func(s *gates.Spec) { s.MaxErrorRate = math.Inf(1) }, []string{"max-error-rate"}},
		{"NaN success ratio", func(s *gates.Spec) { s.Probe.SuccessRatio = math.NaN() }, []string{"probe-success-ratio"}},
		{"NaN success ratio with the probe off", func(s *gates.Spec) { s.Probe = gates.ProbeSpec{SuccessRatio: math.NaN()} },
			[]string{"probe-success-ratio"}},
		{"negative infinite success ratio", func(s *gates.Spec) { s.Probe.SuccessRatio = math.Inf(-1) }, []string{"probe-success-ratio"}},
		{"negative latencies", func(s *gates.Spec) {
			s.MaxP50, s.MaxP95, s.MaxP99, s.Probe.MaxLatency = -1, -time.Second, -time.Minute, -time.Millisecond
		}, []string{"max-latency-p50", "max-latency-p95", "max-latency-p99", "probe-max-latency"}},
		{"negative min-requests", func(s *gates.Spec) { s.MinRequests = -1 }, []string{"min-requests"}},
		{"zero error-threshold", func(s *gates.Spec) { s.ErrorThreshold = 0 }, []string{"error-threshold"}},
		{"zero metrics-delay", func(s *gates.Spec) { s.MetricsDelay = new(time.Duration) }, nil},
		{"negative metrics-delay", func(s *gates.Spec) { d := -time.Second; s.MetricsDelay = &d }, []string{"metrics-delay"}},
		{"zero progress-deadline", func(s *gates.Spec) { s.ProgressDeadline = 0 }, []string{"progress-deadline"}},
		{"negative progress-deadline", func(s *gates.Spec) { s.ProgressDeadline = -time.Second }, []string{"progress-deadline"}},
		{"no probes", func(s *gates.Spec) { s.Probe.Count = 0 }, []string{"probe-count"}},
		{"too many probes", func(s *gates.Spec) { s.Probe.Count = 1001 }, []string{"probe-count"}},
		{"status too low", func(s *gates.Spec) { s.Probe.ExpectStatus = 99 }, []string{"probe-expect-status"}},
		{"status too high", func(s *gates.Spec) { s.Probe.ExpectStatus = 600 }, []string{"probe-expect-status"}},
		{"URL not http", func(s *gates.Spec) { s.Probe.URL = "ftp://web.example.com/" }, []string{"probe-url"}},
		{"URL without host", func(s *gates.Spec) { s.Probe.URL = "http:///healthz" }, []string{"probe-url"}},
		{"URL unparsable", func(s *gates.Spec) { s.Probe.URL = "http://[::1" }, []string{"probe-url"}},
		{"zero value", func(s *gates.Spec) { *s = gates.Spec{} }, []string{"error-threshold", "progress-deadline"}},
		{"everything wrong at once", func(s *gates.Spec) {
			*s = gates.Spec{Compare: "errors", Alpha: 2, Tolerance: -1, OnInconclusive: "maybe", MaxErrorRate: -1, MaxP50: -1, MaxP95: -1, MaxP99: -1, MinRequests: -1,
				Probe: gates.ProbeSpec{URL: "mailto:x", SuccessRatio: -1, MaxLatency: -1}}
		}, []string{"alpha", "error-threshold", "max-error-rate", "max-latency-p50", "max-latency-p95", "max-latency-p99", "min-requests",
			"on-inconclusive", "probe-count", "probe-expect-status", "probe-max-latency", "probe-success-ratio", "probe-url",
			"progress-deadline", "tolerance"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSpec()
			tc.change(&s)
			err := s.Validate()
			if diff := cmp.Diff(tc.want, inputs(err)); diff != "" {
				t.Errorf("inputs named by %v (-want +got):\n%s", err, diff)
			}
			if (err != nil) != (tc.want != nil) {
				t.Errorf("Validate = %v, want an error: %v", err, tc.want != nil)
			}
		})
	}
}

// fakeSource is a metric source that measures nothing.
type fakeSource struct{}

func (*fakeSource) Observe(context.Context, gates.CountQuery) (gates.Observation, error) {
	return gates.Observation{}, nil
}

func TestBuild(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	client := &http.Client{Timeout: time.Minute}
	probe := gates.ProbeGate{Client: client, Path: "/healthz", Count: 10, ExpectStatus: 200,
		MaxLatency: 500 * time.Millisecond, SuccessRatio: 95}
	judge := &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true, Latency: true}
	guard := func(metric string, maxV float64) gates.Guardrail {
		return gates.Guardrail{Metric: metric, Max: maxV, MinRequests: 10}
	}
	cases := []struct {
		name      string
		change    func(*gates.Spec)
		src       gates.MetricSource
		want      []gates.Gate
		metrics   gates.Metrics
		wantInput bool // the error is a bad input
	}{{
		name: "every gate", src: src,
		change: func(s *gates.Spec) { s.MaxP50, s.MaxP99 = 100*time.Millisecond, time.Second },
		want:   []gates.Gate{probe},
		metrics: gates.Metrics{Source: src, Judge: judge, OnInconclusive: "promote", Guardrails: []gates.Guardrail{
			guard(gates.MetricErrorRate, 1), guard(gates.MetricLatencyP50, 100), guard(gates.MetricLatencyP95, 250),
			guard(gates.MetricLatencyP99, 1000)}},
	}, {
		name: "metrics only", src: src,
		change: func(s *gates.Spec) { s.Probe = gates.ProbeSpec{}; s.MaxP95 = 0; s.Compare = "errors" },
		metrics: gates.Metrics{Source: src, OnInconclusive: "promote", Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true},
			Guardrails: []gates.Guardrail{guard(gates.MetricErrorRate, 1)}},
	}, {
		name:   "probe only, with no metrics source",
		change: func(s *gates.Spec) { s.MaxErrorRate, s.MaxP95, s.Compare = 0, 0, "off" },
		want:   []gates.Gate{probe},
	}, {
		name: "probe by URL",
		change: func(s *gates.Spec) {
			s.MaxErrorRate, s.MaxP95, s.Compare, s.Probe.URL = 0, 0, "", "https://web.example.com/ready"
		},
		want: []gates.Gate{gates.ProbeGate{Client: client, URL: "https://web.example.com/ready", Path: "/healthz", Count: 10,
			ExpectStatus: 200, MaxLatency: 500 * time.Millisecond, SuccessRatio: 95}},
	}, {
		name:   "no gates",
		change: func(s *gates.Spec) { s.MaxErrorRate, s.MaxP95, s.Compare, s.Probe = 0, 0, "off", gates.ProbeSpec{} },
	}, {
		name:      "the judge without a source",
		change:    func(s *gates.Spec) { s.MaxErrorRate, s.MaxP95 = 0, 0 },
		wantInput: true,
	}, {
		name:      "guardrails without a source",
		change:    func(s *gates.Spec) { s.MaxErrorRate, s.Compare = 0, "off" }, // a latency guardrail alone still needs one
		wantInput: true,
	}, {
		name: "invalid spec", src: src,
		change:    func(s *gates.Spec) { s.ErrorThreshold = 0 },
		wantInput: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSpec()
			tc.change(&s)
			got, m, err := gates.Build(s, tc.src, client)
			if input.Is(err) != tc.wantInput || (err != nil && !tc.wantInput) {
				t.Fatalf("Build error = %v, want an input error: %v", err, tc.wantInput)
			}
			opts := []cmp.Option{cmp.Comparer(func(a, b gates.MetricSource) bool { return a == b }),
				cmpopts.IgnoreUnexported(gates.Guardrail{})}
			if diff := cmp.Diff(tc.want, got, opts...); diff != "" {
				t.Errorf("gates (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.metrics, m, opts...); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
		})
	}
}
