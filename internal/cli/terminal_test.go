package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

func TestRecordProgress(t *testing.T) {
	t.Parallel()
	// 20,pause,100: 1 shift to 20%, 2 analyse at 20%, 3 pause, 4 promote.
	spec := config.Rollout{Strategy: strategies.Spec{Strategy: "canary", Interval: time.Minute, FailureThreshold: 1,
		Steps: []strategies.Target{{Weight: 20}, {Pause: true}, {Weight: 100}}}}.Encode()
	cases := []struct {
		name   string
		record providers.Rollout
		want   string
	}{
		{"the analysis in progress", providers.Rollout{Phase: providers.PhaseProgressing, Step: 1, Weight: 20, Spec: spec},
			"step 2 of 4 · analyse at 20% for 1m"},
		{"a shift in progress", providers.Rollout{Phase: providers.PhaseProgressing, Step: 0, Weight: 0, Spec: spec},
			"step 1 of 4 · shift at 0%"},
		{"paused", providers.Rollout{Phase: providers.PhasePaused, Step: 3, Weight: 20, Spec: spec}, ""},
		{"no plan recorded", providers.Rollout{Phase: providers.PhaseProgressing, Step: 1, Weight: 20}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, ok := recordProgress(tc.record)
			if got := p.String(); ok != (tc.want != "") || (ok && got != tc.want) {
				t.Errorf("recordProgress() = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// TestNotATerminal: a buffer, a pipe or TERM=dumb gets no status line.
func TestNotATerminal(t *testing.T) {
	t.Parallel()
	env := func(k string) string { return map[string]string{"TERM": "xterm"}[k] }
	if _, ok := terminal(&lockedWriter{w: &bytes.Buffer{}}, env); ok {
		t.Error("a buffer is taken for a terminal")
	}
	if _, ok := terminal(&bytes.Buffer{}, func(string) string { return "dumb" }); ok {
		t.Error("TERM=dumb is taken for a terminal")
	}
}
