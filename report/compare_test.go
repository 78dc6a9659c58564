package report

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// compareSummary is a rollout with n windows of both versions' traffic,
// the p99 latency measured when latency is set.
func compareSummary(n int, latency bool) *Summary {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &Summary{}
	step := strategies.Step{Kind: strategies.KindAnalyze, Weight: 20, Hold: time.Hour}
	s.Event(&engine.Started{At: engine.At{At: t0}, Service: "web", Strategy: "canary", Stable: "v1", Candidate: "v2",
		Plan: strategies.Plan{Steps: []strategies.Step{step}}})
	s.Event(&engine.StepStarted{At: engine.At{At: t0}, Total: 1, Step: step})
	for i := range n {
		j := &engine.Judged{At: engine.At{At: t0.Add(time.Duration(i+1) * 10 * time.Second)}, Weight: 20,
			Candidate: gates.Tally2{Requests: 100, Bad: int64(i % 3)}, Stable: gates.Tally2{Requests: 400, Bad: 1}}
		if latency {
			j.CandidateP99MS, j.StableP99MS = 50, 25
		}
		s.Event(j)
	}
	return s
}

func TestComparison(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		n             int
		latency       bool
		charts        int
		want, absent  []string
		maxLineValues int
	}{
		{name: "too few windows", n: minCompared - 1, absent: []string{"Error rate of", "Each check"}},
		{name: "errors only", n: 5, charts: 1, want: []string{`title "Error rate of v2 against v1"`, `x-axis "check" 1 --> 5`,
			`y-axis "error rate (%)" 0 --> 2`, "line [0, 1, 2, 0, 1]", "line [0.25, 0.25, 0.25, 0.25, 0.25]",
			"checks 1–5 at 20%", "No decision yet.", "| 3 | 00:30 | 20% | 2/100 (2%) | 1/400 (0.25%) |"},
			absent: []string{"p99", "Evidence against"}},
		{name: "with latency", n: 4, latency: true, charts: 2, want: []string{`title "p99 latency of v2 against v1"`,
			"| 50 ms | 25 ms |"}},
		{name: "grouped", n: 500, charts: 1, want: []string{`x-axis "check (9 per point)" 1 --> 500`, "| … | 440 earlier checks |"},
			maxLineValues: maxSamples},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := compareSummary(tc.n, tc.latency).Markdown()
			if n := strings.Count(got, "```mermaid") - 1; n != tc.charts { // less the traffic chart
				t.Errorf("%d comparison charts, want %d:\n%s", n, tc.charts, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("summary has %q:\n%s", a, got)
				}
			}
			for line := range strings.SplitSeq(got, "\n") {
				if v := strings.Count(line, ",") + 1; tc.maxLineValues > 0 && strings.HasPrefix(line, "  line [") && v > tc.maxLineValues+1 {
					t.Errorf("a line of %d values, more than %d", v, tc.maxLineValues+1)
				}
			}
		})
	}
}

func TestRoundUp(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.25: 2, 3: 5, 7: 10, 120: 200, 500: 500} {
		if got := roundUp(v); got != want {
			t.Errorf("roundUp(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestGateText(t *testing.T) {
	t.Parallel()
	pass := gates.Result{Gate: "error-rate", Outcome: gates.Successful, Value: 0.3, Unit: "%", Threshold: "<= 1", Samples: 398}
	fail := pass
	fail.Outcome, fail.Value = gates.Failed, 6.75
	nodata := gates.Result{Gate: "error-rate", Outcome: gates.Inconclusive, Message: "3 requests < min-requests 10"}
	broken := gates.Result{Gate: "metrics", Outcome: gates.Error, Message: "timeout"}
	failedV, errorV := gates.Verdict{Outcome: gates.Failed}, gates.Verdict{Outcome: gates.Error}
	type chk struct {
		r gates.Result
		v gates.Verdict
	}
	cases := []struct {
		name   string
		checks []chk
		want   string
	}{
		{"one pass", []chk{{pass, gates.Verdict{}}}, "✅ error-rate passed 1 check: 0.3% (≤ 1%, 398 samples)"},
		{"all passed", []chk{{pass, gates.Verdict{}}, {pass, gates.Verdict{}}}, "✅ error-rate passed 2 of 2 checks, last 0.3% (≤ 1%, 398 samples)"},
		{"failed then passed", []chk{{fail, gates.Verdict{}}, {pass, gates.Verdict{}}},
			"✅ error-rate failed 1 of 2 checks, last 0.3% (≤ 1%, 398 samples)"},
		{"failed the step", []chk{{fail, gates.Verdict{}}, {fail, failedV}}, "❌ error-rate failed 2 of 2 checks, last 6.75% (≤ 1%, 398 samples)"},
		{"no data, then a pass", []chk{{nodata, gates.Verdict{}}, {nodata, gates.Verdict{}}, {pass, gates.Verdict{}}},
			"✅ error-rate passed 1 of 3 checks (2 without enough data), last 0.3% (≤ 1%, 398 samples)"},
		{"no data once", []chk{{nodata, gates.Verdict{}}}, "⚠️ error-rate: not enough data (3 requests < min-requests 10)"},
		{"no data twice", []chk{{nodata, gates.Verdict{}}, {nodata, gates.Verdict{}}},
			"⚠️ error-rate: no verdict in 2 checks, last: not enough data (3 requests < min-requests 10)"},
		{"never measured", []chk{{broken, gates.Verdict{}}, {broken, gates.Verdict{}}, {broken, errorV}},
			"❌ metrics: no verdict in 3 checks, last: could not measure (timeout)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c gateCell
			for _, k := range tc.checks {
				c.add(k.r, k.v)
			}
			if got := gateText(c); got != tc.want {
				t.Errorf("gateText = %q, want %q", got, tc.want)
			}
		})
	}
}
