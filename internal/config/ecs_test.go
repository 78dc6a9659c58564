package config_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// TestECSModeOptions reads mode, task-definition, candidate-scale and
// hook-timeout into the ecs provider's configuration, and only for it.
func TestECSModeOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string
		want     providers.Config
		problems []string
	}{
		{"defaults", []string{"--provider=ecs"}, providers.Config{Mode: "tasksets"}, nil},
		{"native with its hook timeout", []string{"--provider=ecs", "--mode=native", "--hook-timeout=2h"},
			providers.Config{Mode: "native", HookTimeout: 2 * time.Hour}, nil},
		{"native, default hook timeout", []string{"--provider=ecs", "--mode=native"}, providers.Config{Mode: "native", HookTimeout: 24 * time.Hour}, nil},
		{"tasksets file and scale", []string{"--provider=ecs", "--task-definition=td.json", "--candidate-scale=50"},
			providers.Config{Mode: "tasksets", TaskDefinition: "td.json", CandidateScale: 50}, nil},
		{"another provider ignores them", []string{"--provider=local", "--mode=native", "--candidate-scale=50"}, providers.Config{}, nil},
		{"bad values named", []string{"--provider=ecs", "--mode=rolling", "--candidate-scale=half"}, providers.Config{}, []string{"mode", "candidate-scale"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c, err := load(t, tc.args, nil)
			if got := problems(err); !slices.Equal(got, tc.problems) {
				t.Fatalf("problems %v (%v), want %v", got, err, tc.problems)
			}
			if tc.problems != nil {
				return
			}
			got := providers.Config{Mode: c.Target.Mode, TaskDefinition: c.Target.TaskDefinition, CandidateScale: c.Target.CandidateScale, HookTimeout: c.Target.HookTimeout}
			if got.Mode != tc.want.Mode || got.TaskDefinition != tc.want.TaskDefinition || got.CandidateScale != tc.want.CandidateScale || got.HookTimeout != tc.want.HookTimeout {
				t.Fatalf("target %+v, want %+v", got, tc.want)
			}
		})
	}
}
