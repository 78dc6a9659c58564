package cli

import (
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

func TestStepText(t *testing.T) {
	t.Parallel()
	// 20,pause,100: 1 shift to 20%, 2 analyse at 20%, 3 pause, 4 promote.
	spec := config.Rollout{Strategy: strategies.Spec{Strategy: "canary", Interval: time.Second, FailureThreshold: 1,
		Steps: []strategies.Target{{Weight: 20}, {Pause: true}, {Weight: 100}}}}.Encode()
	cases := []struct {
		name  string
		phase providers.Phase
		step  int
		spec  bool
		want  string
	}{
		{"the analysis in progress", providers.PhaseProgressing, 1, true, "at step 2/4"},
		{"paused by the plan's pause step", providers.PhasePaused, 3, true, "at step 3/4"},
		{"paused by a command during the analysis", providers.PhasePaused, 1, true, "at step 2/4"},
		{"rolled back while paused by the plan", providers.PhaseRolledBack, 3, true, "at step 3/4"},
		{"rolled back during the analysis", providers.PhaseRolledBack, 1, true, "at step 2/4"},
		{"resumed after the pause", providers.PhaseProgressing, 3, true, "at step 4/4"},
		{"cancelled past the end", providers.PhaseCancelled, 9, true, "at step 4/4"},
		{"promoted", providers.PhasePromoted, 4, true, ""},
		{"no plan recorded", providers.PhasePaused, 2, false, "at step 3"},
	}
	for _, c := range cases {
		r := providers.Rollout{Phase: c.phase, Step: c.step}
		if c.spec {
			r.Spec = spec
		}
		if got := stepText(r); got != c.want {
			t.Errorf("%s: stepText() = %q, want %q", c.name, got, c.want)
		}
	}
}
