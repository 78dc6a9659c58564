package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/config"
)

// TestMetricsDelay: metrics-delay is left to the provider unless given;
// a value given, even 0s, is kept, and stored with the rollout.
func TestMetricsDelay(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		vars map[string]string
		want *time.Duration
	}{
		{"not given", nil, nil, nil},
		{"an empty action input", nil, map[string]string{"INPUT_METRICS-DELAY": ""}, nil},
		{"0s", []string{"--metrics-delay=0s"}, nil, new(time.Duration)},
		{"an action input", nil, map[string]string{"INPUT_METRICS_DELAY": "4m"}, durationOf(4 * time.Minute)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, cfg, err := load(t, c.args, c.vars)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Rollout.Gates.MetricsDelay
			if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
				t.Fatalf("MetricsDelay = %v, want %v", show(got), show(c.want))
			}
			back, err := config.DecodeRollout(cfg.Rollout.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if b := back.Gates.MetricsDelay; (b == nil) != (got == nil) || (b != nil && *b != *got) {
				t.Errorf("stored and read back: %v, want %v", show(b), show(got))
			}
		})
	}
}

func durationOf(d time.Duration) *time.Duration { return &d }

func show(d *time.Duration) string {
	if d == nil {
		return "nil (the provider's)"
	}
	return d.String()
}

// TestProjectFallback: project comes from the flag, RAMP_PROJECT or the
// action input first, then from the variables gcloud and
// google-github-actions/auth set.
func TestProjectFallback(t *testing.T) {
	t.Parallel()
	gcloud := map[string]string{"GOOGLE_CLOUD_PROJECT": "from-google", "CLOUDSDK_CORE_PROJECT": "from-sdk"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range gcloud {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		args []string
		vars map[string]string
		want string
		from config.Source
	}{
		{"none", nil, nil, "", config.FromDefault},
		{"GOOGLE_CLOUD_PROJECT first", nil, gcloud, "from-google", config.FromEnv},
		{"then CLOUDSDK_CORE_PROJECT", nil, map[string]string{"GOOGLE_CLOUD_PROJECT": " ", "CLOUDSDK_CORE_PROJECT": "from-sdk"}, "from-sdk", config.FromEnv},
		{"the action input wins", nil, with("INPUT_PROJECT", "from-input"), "from-input", config.FromInput},
		{"RAMP_PROJECT wins", nil, with("RAMP_PROJECT", "from-ramp"), "from-ramp", config.FromEnv},
		{"the flag wins", []string{"--project=from-flag"}, gcloud, "from-flag", config.FromFlag},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v, cfg, err := load(t, c.args, c.vars)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Target.Project != c.want || v.From("project") != c.from {
				t.Errorf("project %q from %s, want %q from %s", cfg.Target.Project, v.From("project"), c.want, c.from)
			}
		})
	}
	var help strings.Builder
	config.PrintHelp(&help, deployCmd)
	if !strings.Contains(help.String(), "env RAMP_PROJECT, GOOGLE_CLOUD_PROJECT, CLOUDSDK_CORE_PROJECT, action input project") {
		t.Errorf("help does not name the fallback variables:\n%s", help.String())
	}
}
