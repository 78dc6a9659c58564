package cloudrun

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// liveTraffic gives the candidate api-v2 100 requests and the stable 900
// in every minute from ten minutes before now to an hour after, as Cloud
// Run reports them: the fake shows each minute once its lag has passed.
func liveTraffic(f *fake.Monitoring) {
	now := time.Now()
	for end := now.Add(-10 * time.Minute); end.Before(now.Add(time.Hour)); end = end.Add(time.Minute) {
		f.Serve(resource(candidateRevision), "2xx", end, ms(100, 40)...)
		f.Serve(resource(seedRevision), "2xx", end, ms(900, 40)...)
	}
}

// TestFakeMonitoringHidesLatePoints checks that the fake shows a point only
// once its lag has passed since the point's end, as Cloud Monitoring does.
func TestFakeMonitoringHidesLatePoints(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		now := time.Now().Truncate(time.Minute)
		for _, ago := range []time.Duration{4, 3, 2, 1, 0} {
			e.mon.Serve(resource(candidateRevision), "2xx", now.Add(-ago*time.Minute), ms(int(1+ago), 10)...)
		}
		p := e.provider(t)
		requests := func() int64 {
			t.Helper()
			o, err := p.Observe(t.Context(), gates.CountQuery{Candidate: candidateRevision,
				Window: gates.Window{Start: now.Add(-10 * time.Minute), End: now.Add(time.Hour)}})
			if err != nil {
				t.Fatal(err)
			}
			return o.Candidate.Requests
		}
		if got := requests(); got != 5+4 {
			t.Errorf("with the default lag: %d requests, want the 9 of the minutes ending 4m and 3m ago", got)
		}
		time.Sleep(2 * time.Minute)
		if got := requests(); got != 5+4+3+2 {
			t.Errorf("two minutes later: %d requests, want 14", got)
		}
		e.mon.SetLag(0)
		if got := requests(); got != 15 {
			t.Errorf("without a lag: %d requests, want all 15", got)
		}
	})
}

// TestAnalysisSeesLateTrafficOnlyWithTheDelay polls the provider as the
// engine does, every minute, with and without the metrics delay: without
// it every window is still hidden; with it each window holds its minute,
// and the windows follow each other.
func TestAnalysisSeesLateTrafficOnlyWithTheDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		delay    func(*Provider) time.Duration
		requests int64 // per window, each version together
	}{
		{"no delay", func(*Provider) time.Duration { return 0 }, 0},
		{"the provider's delay", func(p *Provider) time.Duration { return gates.DefaultDelay(p) }, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				liveTraffic(e.mon)
				p := e.provider(t)
				m := gates.Metrics{Source: p, Delay: tc.delay(p), Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true},
					Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}}}
				a := m.Start()
				target := gates.Target{Candidate: providers.Revision{ID: candidateRevision},
					Stable: &providers.Revision{ID: seedRevision}, Weight: 10, Window: time.Minute}
				var last gates.Window
				for i := range 5 {
					time.Sleep(time.Minute)
					poll := a.Poll(t.Context(), target, time.Now())
					if poll.Err != nil {
						t.Fatal(poll.Err)
					}
					o := poll.Observation
					if got := o.Candidate.Requests + o.Stable.Requests; got != tc.requests {
						t.Errorf("poll %d over %v: %d requests, want %d", i, o.Window, got, tc.requests)
					}
					if want := time.Now().Add(-m.Delay); !o.Window.End.Equal(want) || (i > 0 && !o.Window.Start.Equal(last.End)) {
						t.Errorf("poll %d window %v, want from the last one's end %v to %v", i, o.Window, last.End, want)
					}
					last = o.Window
					if g := poll.Guardrails[0]; (g.Outcome == gates.Inconclusive) != (tc.requests == 0) {
						t.Errorf("poll %d guardrail %s (%s)", i, g.Outcome, g.Message)
					}
				}
			})
		})
	}
}

// TestEngineJudgesLateMetrics runs a canary with a guardrail over Cloud
// Monitoring's late points: at the provider's delay it is promoted; without
// a delay the guardrail sees no request, holds, and the progress deadline
// rolls the rollout back, as issue 11 found of the real API.
func TestEngineJudgesLateMetrics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		delay   time.Duration
		outcome engine.Outcome
		reason  string
	}{
		{"no delay", 0, engine.OutcomeRolledBack, "no requests reached the candidate"},
		{"the provider's delay", ingestionDelay, engine.OutcomePromoted, "promoted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, env *testEnv) {
				liveTraffic(env.mon)
				p := env.provider(t)
				var mu sync.Mutex
				var judged []gates.Window
				e := &engine.Engine{Provider: p, Service: testService,
					Metrics: gates.Metrics{Source: p, Delay: tc.delay, Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true},
						Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 50}}},
					Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 4 * time.Minute, RollbackWindow: time.Hour,
					Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second},
					Events: func(ev engine.Event) {
						if j, ok := ev.(*engine.Judged); ok {
							mu.Lock()
							judged = append(judged, j.Window)
							mu.Unlock()
						}
					}}
				res := e.Deploy(t.Context(), canary(t, 2*time.Minute, 10, 50, 100),
					providers.Artifact{Image: nextImage, Revision: "v2"}, providers.Rollout{ID: "r1"})
				if res.Outcome != tc.outcome || !strings.Contains(res.Reason, tc.reason) {
					t.Fatalf("outcome %s (%s), want %s saying %q", res.Outcome, res.Reason, tc.outcome, tc.reason)
				}
				mu.Lock()
				defer mu.Unlock()
				for i := 1; i < len(judged); i++ {
					if !judged[i].Start.Equal(judged[i-1].End) {
						t.Errorf("window %d %v does not start where window %d %v ends", i, judged[i], i-1, judged[i-1])
					}
				}
			})
		})
	}
}
