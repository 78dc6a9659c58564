package verdict

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
	"github.com/ramp-deploy/ramp/strategies"
)

var (
	enabled = flag.Bool("verdict", false, "run the verdict benchmark")
	runs    = flag.Int("verdict.runs", 1000, "rollouts per case")
	only    = flag.String("verdict.only", "", "run only the cases whose name matches this regular expression")
)

// judges are what the benchmark compares: the comparative judge with the
// default guardrail; guardrails alone at Flagger-like limits; and the
// per-window threshold gate ramp had before the judge.
type judgeKind = struct {
	name    string
	metrics func(gates.MetricSource) gates.Metrics
	gates   func(gates.MetricSource) []gates.Gate
}

var judges = []judgeKind{
	{name: "judge", metrics: func(src gates.MetricSource) gates.Metrics {
		return gates.Metrics{Source: src, Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true, Latency: true},
			Guardrails:     []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}},
			OnInconclusive: gates.OnInconclusivePromote}
	}},
	{name: "guardrails 1%/500ms", metrics: func(src gates.MetricSource) gates.Metrics {
		return gates.Metrics{Source: src, Guardrails: []gates.Guardrail{
			{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 50},
			{Metric: gates.MetricLatencyP99, Max: 500, MinRequests: 50}}}
	}},
	{name: "old threshold 1%", gates: func(src gates.MetricSource) []gates.Gate {
		return []gates.Gate{windowGate{src: src, max: 1, minRequests: 50}}
	}},
}

// windowGate is the threshold gate ramp had before the judge: each check
// compares the candidate's error rate over the last interval alone with a
// fixed limit, and fewer than minRequests requests hold the step.
type windowGate struct {
	src         gates.MetricSource
	max         float64
	minRequests int64
}

func (g windowGate) Name() string { return "error-rate" }

func (g windowGate) Check(ctx context.Context, t gates.Target) gates.Result {
	now := time.Now()
	q := gates.CountQuery{Candidate: t.Candidate.ID, Window: gates.Window{Start: now.Add(-t.Window), End: now}}
	if t.Stable != nil {
		q.Stable = t.Stable.ID
	}
	r := gates.Result{Gate: "error-rate", Unit: "%", Window: t.Window}
	o, err := g.src.Observe(ctx, q)
	switch {
	case err != nil:
		r.Outcome, r.Message = gates.Error, err.Error()
	case o.Candidate.Requests < g.minRequests:
		r.Outcome, r.Message = gates.Inconclusive, "too few requests"
	default:
		r.Value = 100 * float64(o.Candidate.Errors) / float64(o.Candidate.Requests)
		r.Outcome = gates.Successful
		if r.Value > g.max {
			r.Outcome = gates.Failed
		}
	}
	return r
}

// scenarios lists the cases at each traffic level.
func scenarios() []scenario {
	var out []scenario
	for _, base := range []float64{0.001, 0.005, 0.01} {
		b := fmt.Sprintf("%g%%", base*100)
		out = append(out,
			scenario{name: "healthy " + b, base: base},
			scenario{name: "shared incident +5% 1m, " + b, base: base, incident: 0.05},
			scenario{name: "rate noise cv0.7 " + b, base: base, noiseCV: 0.7})
		for _, r := range []float64{1.5, 2, 3, 5} {
			out = append(out, scenario{name: fmt.Sprintf("x%g %s", r, b), base: base, ratio: r, regression: true})
		}
	}
	return append(out,
		scenario{name: "0% -> 0.5%", candBase: 0.005, regression: true},
		scenario{name: "latency healthy", base: 0.005},
		scenario{name: "latency x1.1", base: 0.005, slow: 1.1, regression: true},
		scenario{name: "latency x1.3", base: 0.005, slow: 1.3, regression: true},
		scenario{name: "tail 3% +400ms", base: 0.005, tailShare: 0.03, tailAdd: 400, regression: true},
		scenario{name: "tail 1% +1s", base: 0.005, tailShare: 0.01, tailAdd: 1000, regression: true},
	)
}

// row is one case's results.
type row struct {
	rps       float64
	scenario  string
	judge     string
	rollbacks int
	within8   int
	deadline  int
	windows   []int   // windows to rollback, of the runs rolled back
	blast     []int64 // candidate failures before rollback or promotion, every run
	n         int
}

func TestVerdict(t *testing.T) {
	if !*enabled && os.Getenv("RAMP_VERDICT") == "" {
		t.Skip("the verdict benchmark runs on demand: go test ./bench/verdict -run Verdict -verdict")
	}
	filter := regexp.MustCompile(*only)
	var mu sync.Mutex
	var rows []row
	t.Run("cases", func(t *testing.T) {
		for _, rps := range []float64{20, 50, 200} {
			for ci, sc := range scenarios() {
				if sc.slow == 0 {
					sc.slow = 1
				}
				for ji, j := range judges {
					name := fmt.Sprintf("%grps/%s/%s", rps, sc.name, j.name)
					if !filter.MatchString(name) {
						continue
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						r := simulate(t, sc, rps, j, uint64(ci*10+ji))
						r.judge = j.name
						mu.Lock()
						rows = append(rows, r)
						mu.Unlock()
					})
				}
			}
		}
	})
	print(rows)
}

// simulate runs the case *runs times through the real engine.
func simulate(t *testing.T, sc scenario, rps float64, j judgeKind, seed uint64) row {
	r := row{rps: rps, scenario: sc.name, n: *runs}
	plan, err := strategies.New(strategies.Spec{Strategy: "canary", Interval: 30 * time.Second, FailureThreshold: 2,
		Steps: []strategies.Target{{Weight: 5}, {Weight: 25}, {Weight: 50}, {Weight: 100}}, Holds: []time.Duration{2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(seed, uint64(rps)))
		for i := range *runs {
			p := providertest.NewPlatform("http://svc", "v1")
			src := newSim(p, sc, rps, rng, 6*time.Minute)
			windows := 0
			e := &engine.Engine{Provider: providertest.Fake{P: p}, Service: "sim",
				Limits: gates.Limits{Failures: 2, Errors: 3}, ProgressDeadline: 10 * time.Minute, Retry: engine.DefaultBackoff,
				Events: func(ev engine.Event) {
					if _, ok := ev.(*engine.Judged); ok {
						windows++
					}
				}}
			if j.metrics != nil {
				e.Metrics = j.metrics(src)
			}
			if j.gates != nil {
				e.Gates = j.gates(src)
			}
			res := e.Deploy(t.Context(), plan, providers.Artifact{Image: "app:v2", Revision: "v2"}, providers.Rollout{ID: fmt.Sprint("r", i)})
			r.blast = append(r.blast, src.failures)
			switch res.Outcome {
			case engine.OutcomeRolledBack:
				r.rollbacks++
				r.windows = append(r.windows, windows)
				if windows <= 8 {
					r.within8++
				}
				if !sc.regression && os.Getenv("RAMP_VERDICT_DEBUG") != "" {
					t.Logf("false rollback of %s after %d windows: %s", sc.name, windows, res.Reason)
				}
				if strings.Contains(res.Reason, "progress-deadline") {
					r.deadline++
				}
			case engine.OutcomePromoted:
			default:
				t.Fatalf("run %d: %s (%s)", i, res.Outcome, res.Reason)
			}
		}
	})
	return r
}

// print writes the results as a Markdown table, cases in order.
func print(rows []row) {
	slices.SortFunc(rows, func(a, b row) int {
		if a.rps != b.rps {
			return int(a.rps - b.rps)
		}
		if c := strings.Compare(a.scenario, b.scenario); c != 0 {
			return c
		}
		return strings.Compare(a.judge, b.judge)
	})
	fmt.Println("| rps | case | judge | rolled back % | within 8 windows % | median windows | p95 windows | p95 blast radius | deadline rollbacks |")
	fmt.Println("|--:|---|---|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		pct := func(k int) string { return fmt.Sprintf("%.1f", 100*float64(k)/float64(r.n)) }
		fmt.Printf("| %g | %s | %s | %s | %s | %s | %s | %d | %d |\n", r.rps, r.scenario, r.judge, pct(r.rollbacks), pct(r.within8),
			quantile(r.windows, 0.5), quantile(r.windows, 0.95), quantileInt(r.blast, 0.95), r.deadline)
	}
}

func quantile(xs []int, q float64) string {
	if len(xs) == 0 {
		return "–"
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return fmt.Sprint(s[min(len(s)-1, int(q*float64(len(s))))])
}

func quantileInt(xs []int64, q float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
