package engine_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// TestWatch promotes v2 and watches it as a cron job would: healthy, then
// failing (rolled back to the warm v1), then again (nothing left to do).
func TestWatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		e := newEngine(p, &recorder{})
		if res := e.Deploy(t.Context(), canaryPlan(t, "50,100"), art, providers.Rollout{ID: "r1"}); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("deploy: %s (%s)", res.Outcome, res.Reason)
		}
		time.Sleep(2 * time.Minute)
		w := e.Watch(t.Context(), 10*time.Minute)
		if w.Acted || !strings.Contains(w.Reason, "v2 is within its guardrails over the last 2m") || len(w.Checks) != 1 {
			t.Fatalf("healthy watch: %+v", w)
		}
		p.SetHealth("v2", providertest.Health{ErrorRate: 0.3})
		time.Sleep(time.Minute)
		w = e.Watch(t.Context(), time.Minute)
		if !w.Acted || w.Result.Outcome != engine.OutcomeRolledBack || !strings.Contains(w.Result.Reason, "broke its guardrails over the last 1m") {
			t.Fatalf("failing watch: %+v", w)
		}
		if st := p.Snapshot(); st.Stable.ID != "v1" {
			t.Errorf("stable %s after the watch, want v1 back", st.Stable.ID)
		}
		if w = e.Watch(t.Context(), time.Minute); w.Acted || !strings.Contains(w.Reason, "nothing to watch") {
			t.Errorf("second watch: %+v, want nothing to do", w)
		}
	})
}

func TestWatchLeavesAloneWhatItCannotJudge(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		after time.Duration
		rps   float64
		want  string
	}{
		{"rollback window over", 11 * time.Minute, 50, "rollback window is over"},
		{"too little traffic", time.Minute, 0.1, "not enough traffic to judge over the last 1m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				e := newEngine(p, &recorder{})
				if res := e.Deploy(t.Context(), canaryPlan(t, "50,100"), art, providers.Rollout{ID: "r1"}); res.Outcome != engine.OutcomePromoted {
					t.Fatalf("deploy: %s (%s)", res.Outcome, res.Reason)
				}
				p.SetTraffic(c.rps)
				p.SetHealth("v2", providertest.Health{ErrorRate: 1})
				time.Sleep(c.after)
				if w := e.Watch(t.Context(), 10*time.Minute); w.Acted || !strings.Contains(w.Reason, c.want) {
					t.Errorf("watch: %+v, want no action because %s", w, c.want)
				}
				if st := p.Snapshot(); st.Stable.ID != "v2" {
					t.Errorf("stable %s, want v2 left alone", st.Stable.ID)
				}
			})
		})
	}
}

// TestWatchUnderAMetricsDelay: a watch judges the traffic from the
// promotion up to the metrics delay ago, and right after the promotion,
// when the source shows none of it yet, says so and does nothing.
func TestWatchUnderAMetricsDelay(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		e := newEngine(p, &recorder{})
		e.Metrics.Delay = 3 * time.Minute
		if res := e.Deploy(t.Context(), canaryPlan(t, "50,100"), art, providers.Rollout{ID: "r1"}); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("deploy: %s (%s)", res.Outcome, res.Reason)
		}
		time.Sleep(2 * time.Minute)
		w := e.Watch(t.Context(), 10*time.Minute)
		if w.Acted || !strings.Contains(w.Reason, "v2: no traffic to judge yet") || len(w.Checks) != 0 {
			t.Fatalf("watch 2m after the promotion: %+v", w)
		}
		time.Sleep(3 * time.Minute)
		w = e.Watch(t.Context(), 10*time.Minute)
		if w.Acted || !strings.Contains(w.Reason, "v2 is within its guardrails over the 2m up to 3m ago") || w.Checks[0].Samples != 6000 {
			t.Fatalf("watch 5m after the promotion: %+v", w)
		}
	})
}
