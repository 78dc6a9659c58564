package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestStatusNumbersStepsAsTheLog pauses a canary at its pause step and
// checks that `ramp status` names the step the deploy log last showed.
func TestStatusNumbersStepsAsTheLog(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"RAMP_PROVIDER": "local", "RAMP_SERVICE": "web", "RAMP_STATE_DIR": filepath.Join(t.TempDir(), "state"),
		"RAMP_LISTEN": freePort(t), "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0", "RAMP_MAX_ERROR_RATE": "0",
		"RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe)}
	t.Cleanup(func() { rampCtx(context.Background(), vars, "down") })
	if code, _, stderr := ramp(t, vars, "deploy", "--revision=v1"); code != cli.ExitOK {
		t.Fatalf("first deploy: exit %d: %s", code, stderr)
	}
	code, log, stderr := ramp(t, vars, "deploy", "--revision=v2", "--steps=20,pause,100")
	if code != cli.ExitPaused {
		t.Fatalf("deploy: exit %d, want %d (paused)\n%s%s", code, cli.ExitPaused, log, stderr)
	}
	steps := regexp.MustCompile(`(?m)^.*step (\d+/\d+): `).FindAllStringSubmatch(log, -1)
	if len(steps) == 0 {
		t.Fatalf("the deploy log shows no step:\n%s", log)
	}
	last := steps[len(steps)-1][1]
	_, status, _ := ramp(t, vars, "status")
	if want := "paused at 20% (canary, at step " + last + ", "; !strings.Contains(status, want) {
		t.Errorf("status does not say %q, as the log's last step %s:\n%s\nlog:\n%s", want, last, status, log)
	}
}
