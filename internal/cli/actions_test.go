package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
)

// TestAsGitHubActionStep runs deploy the way the action's shim does: inputs
// as INPUT_*, the runner's files, GITHUB_ACTIONS=true.
func TestAsGitHubActionStep(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gh := ghubtest.New(t)
	token := ghubtest.Token
	const apiKey = "sk-live-51Habc"
	vars := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": ghubtest.Repo, "GITHUB_API_URL": gh.URL(), "GITHUB_RUN_ID": "77", "GITHUB_SHA": "0123456789abcdef",
		"INPUT_PROVIDER": "local", "INPUT_SERVICE": "web", "INPUT_STATE-DIR": filepath.Join(dir, "state"), "INPUT_LISTEN": freePort(t),
		"INPUT_IMAGE": fmt.Sprintf("'%s' sample-app", exe), "INPUT_INTERVAL": "200ms", "INPUT_MIN-REQUESTS": "0", "INPUT_MAX-ERROR-RATE": "0",
		"INPUT_PROBE-PATH": "/", "INPUT_PROBE-MAX-LATENCY": "30s", "INPUT_STEPS": "50,100", "INPUT_GITHUB-TOKEN": token, "INPUT_ENVIRONMENT": "",
		"INPUT_ENV": "SAMPLE_VERSION=v1,PAYMENT_API_KEY=" + apiKey,
	}
	t.Cleanup(func() { rampCtx(context.Background(), vars, "down") }) // t.Context() is done in cleanups
	code, stdout, stderr := ramp(t, vars, "deploy")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	vars["INPUT_ENV"] = "SAMPLE_VERSION=v2"
	code, stdout2, stderr2 := ramp(t, vars, "deploy")
	if code != cli.ExitOK {
		t.Fatalf("second deploy: exit %d\n%s\n%s", code, stdout2, stderr2)
	}
	outputs, _ := os.ReadFile(vars["GITHUB_OUTPUT"])
	summary, _ := os.ReadFile(vars["GITHUB_STEP_SUMMARY"])
	for _, want := range []string{"result<<ghadelimiter_", "\npromoted\n", "stable<<", "weight<<", "\n100\n", "url<<", "summary<<"} {
		if !strings.Contains(string(outputs), want) {
			t.Errorf("outputs lack %q:\n%s", want, outputs)
		}
	}
	for _, want := range []string{"Promoted", "Traffic", "https://github.example/" + ghubtest.Repo + "/actions/runs/77"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	log := stdout + stderr + stdout2 + stderr2
	for _, want := range []string{"::add-mask::" + token, "::add-mask::" + apiKey, "::group::step 1/3: shift to 50%25", "::endgroup::", "::notice title=ramp%3A promoted::"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// Secrets appear nowhere but in the add-mask commands the runner consumes.
	var unmasked []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			unmasked = append(unmasked, line)
		}
	}
	for name, text := range map[string]string{"log": strings.Join(unmasked, "\n"), "outputs": string(outputs), "summary": string(summary)} {
		for _, secret := range []string{token, apiKey} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows the secret %q", name, secret)
			}
		}
	}
}
