package gates_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
)

// res returns an error-rate result with the given outcome.
func res(out gates.Outcome) gates.Result {
	r := gates.Result{Gate: "error-rate", Outcome: out, Value: 0.2, Unit: "%", Threshold: "<= 1",
		Window: 30 * time.Second, Samples: 400}
	switch out {
	case gates.Failed:
		r.Value = 5
	case gates.Inconclusive:
		r.Value, r.Samples, r.Message = 0, 3, "3 requests < min-requests 10"
	case gates.Error:
		r.Value, r.Samples, r.Message = 0, 0, "monitoring: deadline exceeded"
	}
	return r
}

const (
	S = gates.Successful
	F = gates.Failed
	I = gates.Inconclusive
	E = gates.Error
)

func TestTallyAddAndAssess(t *testing.T) {
	t.Parallel()
	limits := gates.Limits{Failures: 2, Errors: 3}
	cases := []struct {
		name     string
		limits   gates.Limits
		checks   []gates.Outcome
		failures int
		errors   int
		want     gates.Outcome
	}{
		{"nothing checked", limits, nil, 0, 0, I},
		{"successful", limits, []gates.Outcome{S}, 0, 0, S},
		{"inconclusive", limits, []gates.Outcome{I}, 0, 0, I},
		{"one failure under the limit", limits, []gates.Outcome{F}, 1, 0, I},
		{"failed at the failure limit", limits, []gates.Outcome{F, F}, 2, 0, F},
		{"a success resets the failures", limits, []gates.Outcome{F, S, F}, 1, 0, I},
		{"an inconclusive check does not clear the failures", limits, []gates.Outcome{F, I, F}, 2, 0, F},
		{"errors do not reset the failures", limits, []gates.Outcome{F, E, F}, 2, 0, F},
		{"errors under the limit", limits, []gates.Outcome{E, E}, 0, 2, I},
		{"error at the error limit", limits, []gates.Outcome{E, E, E}, 0, 3, E},
		{"a failure resets the errors", limits, []gates.Outcome{E, E, F, E}, 1, 1, I},
		{"a success resets the errors", limits, []gates.Outcome{E, E, S, E, E}, 0, 2, I},
		{"an inconclusive check resets the errors", limits, []gates.Outcome{E, E, I, E}, 0, 1, I},
		{"failures win over errors", gates.Limits{Failures: 2, Errors: 1}, []gates.Outcome{F, E, F}, 2, 0, F},
		{"errors and failures interleaved", gates.Limits{Failures: 3, Errors: 2}, []gates.Outcome{F, E, F, E}, 2, 1, I},
		{"zero limits count as one failure", gates.Limits{}, []gates.Outcome{F}, 1, 0, F},
		{"zero limits count as one error", gates.Limits{}, []gates.Outcome{E}, 0, 1, E},
		{"a higher limit tolerates more", gates.Limits{Failures: 3, Errors: 3}, []gates.Outcome{F, F}, 2, 0, I},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tally gates.Tally
			for _, out := range tc.checks {
				tally = tally.Add(res(out))
			}
			want := gates.Tally{Checks: len(tc.checks), Failures: tc.failures, Errors: tc.errors}
			if len(tc.checks) > 0 {
				want.Last = res(tc.checks[len(tc.checks)-1])
			}
			if diff := cmp.Diff(want, tally); diff != "" {
				t.Errorf("tally (-want +got):\n%s", diff)
			}
			if got := gates.Assess(tally, tc.limits); got.Outcome != tc.want {
				t.Errorf("Assess = %s (%s), want %s", got.Outcome, got.Reason, tc.want)
			}
		})
	}
}

func TestAssessReason(t *testing.T) {
	t.Parallel()
	limits := gates.Limits{Failures: 2, Errors: 3}
	cases := []struct {
		name   string
		checks []gates.Outcome
		want   gates.Verdict
	}{
		{"nothing checked", nil, gates.Verdict{Outcome: I, Reason: "not checked yet"}},
		{"successful", []gates.Outcome{S}, gates.Verdict{Outcome: S,
			Reason: "error-rate = 0.2% (threshold ≤ 1%, 400 samples over 30s)"}},
		{"failed", []gates.Outcome{F, F}, gates.Verdict{Outcome: F,
			Reason: "error-rate failed 2 times in a row (failure-threshold 2): 5% (threshold ≤ 1%, 400 samples over 30s)"}},
		{"error", []gates.Outcome{E, E, E}, gates.Verdict{Outcome: E,
			Reason: "error-rate could not be measured 3 times in a row (error-threshold 3): monitoring: deadline exceeded"}},
		{"failure under the limit", []gates.Outcome{F}, gates.Verdict{Outcome: I,
			Reason: "error-rate = 5% (threshold ≤ 1%, 400 samples over 30s)"}},
		{"waiting for data", []gates.Outcome{I}, gates.Verdict{Outcome: I,
			Reason: "error-rate: not enough data: 3 requests < min-requests 10"}},
		{"error under the limit", []gates.Outcome{E}, gates.Verdict{Outcome: I,
			Reason: "error-rate: error: monitoring: deadline exceeded"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tally gates.Tally
			for _, out := range tc.checks {
				tally = tally.Add(res(out))
			}
			if diff := cmp.Diff(tc.want, gates.Assess(tally, limits)); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		r    gates.Result
		want string
	}{
		{"successful", res(S), "error-rate = 0.2% (threshold ≤ 1%, 400 samples over 30s)"},
		{"failed", res(F), "error-rate = 5% (threshold ≤ 1%, 400 samples over 30s)"},
		{"inconclusive", res(I), "error-rate: not enough data: 3 requests < min-requests 10"},
		{"error", res(E), "error-rate: error: monitoring: deadline exceeded"},
		{"latency", gates.Result{Gate: "latency-p95", Outcome: S, Value: 212.456, Unit: "ms", Threshold: "<= 250",
			Window: time.Minute, Samples: 1200}, "latency-p95 = 212.46ms (threshold ≤ 250ms, 1200 samples over 1m)"},
		{"probe", gates.Result{Gate: "probe", Outcome: F, Value: 70, Unit: "%", Threshold: ">= 90",
			Window: 10 * time.Second, Samples: 10, Message: "3 of 10 probes failed"}, "probe = 70% (threshold ≥ 90%, 10 samples over 10s): 3 of 10 probes failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := gates.Explain(tc.r); got != tc.want {
				t.Errorf("Explain = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{0.2, "0.2"},
		{0.15, "0.15"},
		{1.0 / 3, "0.33"},
		{2.0 / 3, "0.67"},
		{0.001, "0"},
		{1, "1"},
		{10, "10"},
		{12.5, "12.5"},
		{99.999, "100"},
		{100, "100"},
		{1000, "1000"},
		{-1.5, "-1.5"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.v), func(t *testing.T) {
			t.Parallel()
			if got := gates.FormatValue(tc.v); got != tc.want {
				t.Errorf("FormatValue(%v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}
