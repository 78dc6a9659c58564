package report_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/report"
	"github.com/ramp-deploy/ramp/strategies"
)

// abVerdicts feeds a real comparison 8 windows of 1000 requests per
// variant (errors 10 vs 12, conversions candConv vs 30, latency alike)
// and returns its standing after each.
func abVerdicts(t *testing.T, candConv float64) []gates.ABVerdict {
	t.Helper()
	c, err := gates.NewComparison(gates.ABSpec{Alpha: 0.01, Errors: true, Latency: true,
		Checks: []gates.CheckSpec{{Name: "conversions", Query: `sum(increase(conversions_total{version="{{.Version}}"}[{{.Window}}]))`,
			Direction: gates.HigherIsBetter}}})
	if err != nil {
		t.Fatal(err)
	}
	h := gates.Histogram{Bounds: []float64{10, 25, 50, 100, 250}, Counts: []int64{200, 600, 900, 990, 1000}, Total: 1000}
	var out []gates.ABVerdict
	for range 8 {
		c.Observe(gates.Observation{Candidate: gates.Counts{Requests: 1000, Errors: 10, Latency: h},
			Stable: gates.Counts{Requests: 1000, Errors: 12, Latency: h}}, [][2]float64{{candConv, 30}})
		out = append(out, c.Verdict())
	}
	return out
}

// abTest scripts an A/B test kept at its end (on-finish keep): 50% of
// clients, sticky, with a cookie rule, compared over 8 windows.
func abTest(t *testing.T, candConv float64, onFinish, decision string) []engine.Event {
	p, err := strategies.New(strategies.Spec{Strategy: strategies.AB, Match: []string{"cookie:variant=b"}, ABWeight: 50,
		Duration: 4 * time.Minute, OnFinish: onFinish, Interval: 30 * time.Second, FailureThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := newScript()
	s.add(0, &engine.Started{ID: "r1", Service: "web", Strategy: "ab", Stable: "v1", Candidate: "v2", ServiceURL: serviceURL, Plan: p})
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 50}).done(1, p, 0, time.Second)
	s.step(1, p, 1)
	vs := abVerdicts(t, candConv)
	for i := range vs {
		s.add(float64(31+30*i), &engine.Judged{Index: 1, Weight: 50, Candidate: gates.Tally2{Requests: 1000, Bad: 10},
			Stable: gates.Tally2{Requests: 1000, Bad: 12}, AB: &vs[i]})
	}
	s.done(241, p, 1, 240*time.Second).step(241, p, 2)
	last := vs[len(vs)-1]
	s.add(241, &engine.Concluded{Verdict: &last, OnFinish: onFinish, Decision: decision})
	reason := "A/B test over: " + last.Summary + "; on-finish " + onFinish + ": both variants keep serving; promote or roll back by command"
	s.add(241, &engine.Paused{Weight: 50, Step: 3, Reason: reason})
	s.add(241, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePaused, Reason: reason, Stable: "v1", Candidate: "v2",
		Weight: 50, URL: serviceURL, AB: &last}})
	return s.events
}

// TestABSummaryGolden: the job summary shows both variants side by side
// per metric, with the winner line (or no difference).
func TestABSummaryGolden(t *testing.T) {
	t.Parallel()
	golden(t, "ab_winner", summarize(abTest(t, 60, "keep", "keep"), "", "").Markdown())
	golden(t, "ab_no_difference", summarize(abTest(t, 31, "promote-winner", "keep"), "", "").Markdown())
}

// TestABConsoleAndJSON: the console prints the conclusion with each
// metric side by side; the JSON result carries the verdict.
func TestABConsoleAndJSON(t *testing.T) {
	t.Parallel()
	events := abTest(t, 60, "keep", "keep")
	out := strings.Join(console(events, false), "\n")
	for _, want := range []string{
		"[04:01]  50% | A/B test concluded after 8 windows: winner: the candidate — conversions: candidate 6% (480/8000), stable 3% (240/8000)",
		"  error-rate (lower is better): candidate 1% (80/8000) | stable 1.2% (96/8000) |",
		"  conversions (higher is better): candidate 6% (480/8000) | stable 3% (240/8000) |",
		"| candidate better",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	var fin struct {
		Result struct {
			AB gates.ABVerdict `json:"ab"`
		} `json:"result"`
	}
	line := report.Line(events[len(events)-1])
	if err := json.Unmarshal(line, &fin); err != nil || fin.Result.AB.Winner != gates.VariantCandidate || len(fin.Result.AB.Metrics) != 3 {
		t.Errorf("JSON result %s (%v): want the verdict with the candidate as winner and 3 metrics", line, err)
	}
}
