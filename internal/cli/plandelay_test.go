package cli_test

import (
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestPlanShowsTheMetricsDelay: validate shows when the first window of
// the candidate's traffic is judged under the provider's metrics delay
// (cloudrun 3m, local none, or the one given) and explains the steps too
// short to see their own traffic.
func TestPlanShowsTheMetricsDelay(t *testing.T) {
	t.Parallel()
	cloudrun := []string{"validate", "--provider=cloudrun", "--project=p", "--region=europe-west1", "--service=web",
		"--image=europe-docker.pkg.dev/p/web/web:1"}
	for _, c := range []struct {
		name      string
		args      []string
		want, not []string
	}{
		{"cloudrun's default", append(cloudrun, "--steps=10,50,100", "--hold=5m,1m"), []string{
			"metrics-delay 3m (the cloudrun provider's default): each check judges the traffic up to 3m before it; " +
				"the first interval at 10% (from 0s) closes at 1m and is judged at 4m",
			"(interval x failure-threshold; the metrics show it 3m later)",
			"note: step 4 holds 50% for 1m, less than metrics-delay + interval (4m): it ends before its traffic is seen",
		}, []string{"note: step 2"}},
		{"a guardrail holds the first step", append(cloudrun, "--steps=10,100"), []string{
			"note: step 2 holds 10% until the guardrails have judged its traffic: about 4m, not 1m",
		}, nil},
		{"a deadline too short for the delay", append(cloudrun, "--progress-deadline=2m", "--metrics-delay=5m"), []string{
			"metrics-delay 5m: each check", "note: step 2: no window of its traffic is visible before progress-deadline (2m) ends it",
		}, nil},
		{"judge only, promoted before it sees anything", append(cloudrun, "--steps=10,100", "--max-error-rate=0"), []string{
			"note: the rollout reaches 100% at 1m, before any window of the candidate's traffic is judged",
		}, nil},
		{"no delay given", append(cloudrun, "--metrics-delay=0s"), nil, []string{"metrics-delay", "show it"}},
		{"local", []string{"validate", "--provider=local", "--service=web", "--image=./web"}, nil, []string{"metrics-delay"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := ramp(t, nil, c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("plan lacks %q:\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("plan has %q:\n%s", n, out)
				}
			}
		})
	}
}

// TestCloudRunProjectFromTheEnvironment: project falls back to the
// variables gcloud and google-github-actions/auth set; without any, it is
// named missing with the other bad inputs, saying where it may come from.
func TestCloudRunProjectFromTheEnvironment(t *testing.T) {
	t.Parallel()
	args := []string{"validate", "--provider=cloudrun", "--region=europe-west1", "--service=web", "--image=europe-docker.pkg.dev/p/web/web:1"}
	for _, v := range []string{"GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"} {
		if code, _, stderr := ramp(t, map[string]string{v: "p"}, args...); code != 0 {
			t.Errorf("project from %s: exit %d: %s", v, code, stderr)
		}
	}
	code, _, stderr := ramp(t, nil, append(args, "--region=", "--metrics-delay=-1m")...)
	if code != cli.ExitInvalid {
		t.Fatalf("no project: exit %d, want %d", code, cli.ExitInvalid)
	}
	for _, w := range []string{`input "project": is required (or set GOOGLE_CLOUD_PROJECT or CLOUDSDK_CORE_PROJECT)`,
		`input "region": is required`, `input "metrics-delay": must not be negative`} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}
