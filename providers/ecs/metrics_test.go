package ecs

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// TestEngineJudgesCloudWatch runs a canary gated by an error-rate
// guardrail and the comparative judge over CloudWatch, at the provider's
// metrics delay: a healthy candidate is promoted, one whose tasks answer
// 5xx is rolled back on the guardrail, with the weights back on the
// stable and the candidate set gone.
func TestEngineJudgesCloudWatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, image string
		outcome     engine.Outcome
		reason      string
		weights     [2]int
	}{
		{"healthy", nextImage, engine.OutcomePromoted, "promoted", [2]int{0, 100}},
		{"failing", "registry.example/web:failing", engine.OutcomeRolledBack, "error", [2]int{100, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				eng := &engine.Engine{Provider: p, Service: "web",
					Metrics: gates.Metrics{Source: p, Delay: gates.DefaultDelay(p), Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true},
						Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}}},
					Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute, RollbackWindow: time.Hour,
					Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second}}
				res := eng.Deploy(t.Context(), canary(t, 2*time.Minute, 10, 50, 100), providers.Artifact{Image: tc.image, Revision: "v2"},
					providers.Rollout{ID: "r1"})
				if res.Outcome != tc.outcome || !strings.Contains(strings.ToLower(res.Reason), tc.reason) {
					t.Fatalf("outcome %s (%s), want %s saying %q", res.Outcome, res.Reason, tc.outcome, tc.reason)
				}
				t.Logf("%s: %s", res.Outcome, res.Reason)
				if got := e.weights(); got != tc.weights {
					t.Errorf("weights %v, want %v", got, tc.weights)
				}
				if tc.outcome == engine.OutcomeRolledBack && len(e.w.TaskSets("prod", "web")) != 1 {
					t.Errorf("task sets after rollback: %+v", e.w.TaskSets("prod", "web"))
				}
			})
		})
	}
}

// TestObserve reads both target groups' minutes: no datapoints is no data
// (zero requests), a window holding no whole minute calls nothing, and
// the minutes of consecutive windows add up to the traffic.
func TestObserve(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		ctx := t.Context()
		start := time.Now().Truncate(time.Minute).Add(time.Minute)
		time.Sleep(time.Until(start))
		if _, err := p.Deploy(ctx, providers.Artifact{Image: "registry.example/web:slow", Revision: "v2"}); err != nil {
			t.Fatal(err)
		}
		rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: "v2", Weight: 20}
		time.Sleep(time.Until(start.Add(time.Minute)))
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 20})
		q := gates.CountQuery{Candidate: "v2", Stable: e.w.TaskSets("prod", "web")[0].ID}
		q.Window = gates.Window{Start: start, End: start.Add(time.Minute)}
		time.Sleep(time.Until(start.Add(5 * time.Minute)))
		o, err := p.Observe(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if o.Candidate.Requests != 0 || !o.Candidate.Latency.Empty() || o.Stable.Requests != 600 {
			t.Errorf("the minute before the shift: %+v", o)
		}
		before := e.w.Calls()["monitoring:GetMetricData"]
		q.Window = gates.Window{Start: start.Add(90 * time.Second), End: start.Add(100 * time.Second)}
		if o, err := p.Observe(ctx, q); err != nil || o.Candidate.Requests != 0 || e.w.Calls()["monitoring:GetMetricData"] != before {
			t.Errorf("a window without a whole minute: %+v, %v, %d calls", o, err, e.w.Calls()["monitoring:GetMetricData"]-before)
		}
		var sum gates.Counts
		for i := 1; i < 4; i++ {
			q.Window = gates.Window{Start: start.Add(time.Duration(i) * time.Minute), End: start.Add(time.Duration(i+1) * time.Minute)}
			o, err := p.Observe(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			sum.Requests += o.Candidate.Requests
			if p99, ok := o.Candidate.Latency.Quantile(0.99); !ok || p99 != 1000 {
				t.Errorf("window %d: candidate p99 %v (%v), want the 1000 ms bound", i, p99, ok)
			}
		}
		if sum.Requests != 3*120 {
			t.Errorf("three minutes at 20%% of 10 rps: %d requests, want 360", sum.Requests)
		}
	})
}
