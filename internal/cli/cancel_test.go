//go:build unix

package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestCancelledJob sends SIGTERM to a deploy holding at 50%, as a cancelled
// CI job does, and checks what the next process finds.
func TestCancelledJob(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		onCancel   string
		weight     string
		phase      string
		stableText string
	}{
		{"rollback", "weight     0% to the candidate", "rolled_back", "candidate  -"},
		{"leave", "weight     50% to the candidate", "cancelled", "candidate  v2"},
	} {
		t.Run(c.onCancel, func(t *testing.T) {
			t.Parallel()
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"RAMP_PROVIDER": "local", "RAMP_SERVICE": "web", "RAMP_STATE_DIR": filepath.Join(t.TempDir(), "state"),
				"RAMP_LISTEN": freePort(t), "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0", "RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe)}
			t.Cleanup(func() { rampCtx(context.Background(), vars, "down") })
			if code, _, stderr := ramp(t, vars, "deploy", "--revision=v1"); code != 0 {
				t.Fatalf("first deploy: exit %d: %s", code, stderr)
			}
			cmd, sc := startHolding(t, exe, vars, "--on-cancel="+c.onCancel)
			start := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() { // drain
			}
			err = cmd.Wait()
			took := time.Since(start)
			if code := cmd.ProcessState.ExitCode(); code != cli.ExitCancelled {
				t.Fatalf("exit %d (%v), want %d (cancelled)", code, err, cli.ExitCancelled)
			}
			// The runner kills the step about 10 s after its signal; the engine
			// bounds the cancelled run's rollback by its CancelTimeout
			// (engine.TestCancelGivesUpAfterCancelTimeout checks the bound on a
			// fake clock). A real process on a loaded machine may take any
			// time, so this only reports it.
			t.Logf("the cancelled deploy exited %s after SIGTERM", took.Round(time.Millisecond))
			_, status, _ := ramp(t, vars, "status")
			for _, w := range []string{c.weight, c.phase, c.stableText, "cancelled (terminated signal received)"} {
				if !strings.Contains(status, w) {
					t.Errorf("status lacks %q:\n%s", w, status)
				}
			}
		})
	}
}

// TestPostStepFinishesAKilledJob kills a deploy holding at 50% with SIGKILL
// (no chance to clean up), then runs the action's post step with the state
// the main step saved.
func TestPostStepFinishesAKilledJob(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vars := map[string]string{"RAMP_PROVIDER": "local", "RAMP_SERVICE": "web", "RAMP_STATE_DIR": filepath.Join(dir, "state"),
		"RAMP_LISTEN": freePort(t), "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0", "RAMP_MAX_ERROR_RATE": "0",
		"RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe), "GITHUB_ACTIONS": "true", "GITHUB_STATE": filepath.Join(dir, "github_state")}
	t.Cleanup(func() { rampCtx(context.Background(), vars, "down") })
	if code, _, stderr := ramp(t, vars, "deploy", "--revision=v1"); code != 0 {
		t.Fatalf("first deploy: exit %d: %s", code, stderr)
	}
	os.Remove(vars["GITHUB_STATE"])
	cmd, _ := startHolding(t, exe, vars, "--probe-path=/")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	raw, err := os.ReadFile(vars["GITHUB_STATE"])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "rollout<<") || strings.Contains(string(raw), "finished<<") {
		t.Fatalf("state saved by the killed step:\n%s", raw)
	}
	vars["STATE_rollout"] = lines[1]
	code, stdout, stderr := ramp(t, vars, "post")
	if code != 0 {
		t.Fatalf("post: exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, status, _ := ramp(t, vars, "status")
	for _, w := range []string{"weight     0% to the candidate", "rolled_back", "rolled back by the post step"} {
		if !strings.Contains(status, w) {
			t.Errorf("status lacks %q:\n%s", w, status)
		}
	}
	if code, stdout, _ := ramp(t, vars, "post"); code != 0 || !strings.Contains(stdout, "nothing to finish") {
		t.Errorf("second post: exit %d: %s", code, stdout)
	}
}

// startHolding starts `ramp deploy` of v2 as a separate process, as a CI
// job would, and returns once it holds at 50% checking its gates.
func startHolding(t *testing.T, exe string, vars map[string]string, args ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), procTimeout) // bounds a hang only
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, exe, append([]string{"deploy", "--revision=v2", "--steps=50,100", "--hold=10m", "--output=json"}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "gate_checked" {
			return cmd, sc // holding at 50%
		}
	}
	t.Fatal("the deploy ended before holding at 50%")
	return nil, nil
}
