package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers/local"
)

// TestMain lets this test binary stand in for ramp: the local provider
// starts it as its agent and as the sample app. RAMP_CLI_TEST_AS_RAMP=1
// makes it ramp; with RAMP_CLI_TEST_ENV_DIR set, each process it runs as
// first writes its environment there (see recordEnv). The local provider
// passes both on to the processes it starts (local.KeepTestEnv).
func TestMain(m *testing.M) {
	local.KeepTestEnv("RAMP_CLI_TEST_AS_RAMP", "RAMP_CLI_TEST_ENV_DIR")
	if os.Getenv("RAMP_CLI_TEST_AS_RAMP") == "1" {
		if len(os.Args) > 1 {
			recordEnv(os.Getenv("RAMP_CLI_TEST_ENV_DIR"), os.Args[1])
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Run(ctx, os.Args[1:], cli.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
		stop()
		os.Exit(code)
	}
	os.Setenv("RAMP_CLI_TEST_AS_RAMP", "1")
	os.Exit(m.Run())
}

// ramp runs one command as a separate invocation would, with vars as its
// environment, and returns the exit code, stdout and stderr.
func ramp(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return rampCtx(t.Context(), vars, args...)
}

func rampCtx(ctx context.Context, vars map[string]string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Run(ctx, args, cli.Env{Getenv: func(k string) string { return vars[k] }, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestBadInputFailsBeforeAnyProviderCall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"every problem at once", []string{"deploy", "--provider=local", "--state-dir=" + state, "--steps=5,120", "--interval=soon", "--failure-threshold=0", "--probe-url=ftp://x", "--probe-path=/"},
			[]string{`input "service": is required`, `input "image": is required`, `input "interval"`}},
		{"plan problems listed together", []string{"deploy", "--provider=local", "--state-dir=" + state, "--service=web", "--image=x", "--steps=5,120", "--failure-threshold=0"},
			[]string{`input "steps"`, "weight 120 is outside 1..100", `input "failure-threshold"`}},
		{"unknown provider lists the valid ones", []string{"deploy", "--provider=heroku", "--service=web", "--image=x"},
			[]string{`input "provider"`, `"heroku"`, `valid providers are ["cloudrun" "ecs" "flag" "fly" "local"]`}},
		{"unknown strategy", []string{"plan", "--provider=local", "--service=web", "--state-dir=" + state, "--strategy=yolo"},
			[]string{`input "strategy"`, `"yolo"`}},
		{"bad probe", []string{"validate", "--provider=local", "--service=web", "--state-dir=" + state, "--probe-url=ftp://x"},
			[]string{`input "probe-url"`, "ftp://x"}},
		{"unknown flag", []string{"deploy", "--stpes=10,100"}, []string{"flag provided but not defined: -stpes"}},
		{"unknown command", []string{"deplyo"}, []string{`unknown command "deplyo"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := ramp(t, nil, c.args...)
			if code != cli.ExitInvalid {
				t.Errorf("exit %d, want %d (invalid input)", code, cli.ExitInvalid)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the state directory exists (%v): something was touched", err)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := ramp(t, nil, "--help")
	for _, c := range []string{"deploy", "plan", "promote", "rollback", "pause", "resume", "status", "validate", "demo"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("--help lacks %s", c)
		}
	}
	if code != 0 {
		t.Errorf("--help exit %d", code)
	}
	code, out, _ = ramp(t, nil, "deploy", "--help")
	if code != 0 || !strings.Contains(out, "--failure-threshold") || !strings.Contains(out, `(default "2")`) {
		t.Errorf("deploy --help (exit %d):\n%s", code, out)
	}
}

func TestPlanPrintsScheduleAndTouchesNothing(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	code, out, stderr := ramp(t, nil, "plan", "--provider=local", "--service=web", "--state-dir="+state,
		"--steps=5,25,50,100", "--hold=2m", "--interval=30s", "--failure-threshold=3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"shift to 5%", "analyse at 25% for 2m", "expected time to full promotion: 6m",
		"worst-case time to rollback once the candidate fails: 1m30s", "nothing was changed"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan output lacks %q:\n%s", w, out)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "agent.json")); !os.IsNotExist(err) {
		t.Errorf("plan started an agent (%v)", err)
	}
}

// TestRolloutAcrossProcesses drives the local provider through separate
// invocations, as separate CI jobs would: a first deploy, a canary paused by
// its plan, status and promote from "other processes", a fast rollback, and
// a faulty candidate rolled back on its own.
func TestRolloutAcrossProcesses(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"RAMP_PROVIDER": "local", "RAMP_SERVICE": "web", "RAMP_STATE_DIR": filepath.Join(t.TempDir(), "state"),
		"RAMP_LISTEN": freePort(t), "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0", "RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe)}
	t.Cleanup(func() { // t.Context() is already done here
		if code, _, stderr := rampCtx(context.Background(), vars, "down"); code != 0 {
			t.Errorf("ramp down: exit %d: %s", code, stderr)
		}
	})
	step := func(want int, args ...string) string {
		t.Helper()
		code, out, stderr := ramp(t, vars, args...)
		if code != want {
			t.Fatalf("ramp %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, stderr)
		}
		return out
	}
	out := step(cli.ExitOK, "deploy", "--revision=v1", "--env=SAMPLE_VERSION=v1")
	if !strings.Contains(out, "first deploy") {
		t.Errorf("first deploy not announced:\n%s", out)
	}
	step(cli.ExitPaused, "deploy", "--revision=v2", "--env=SAMPLE_VERSION=v2", "--steps=20,pause,100", "--max-error-rate=0")
	if out := step(cli.ExitOK, "status"); !strings.Contains(out, "paused") || !strings.Contains(out, "20% to the candidate") {
		t.Errorf("status of the paused rollout:\n%s", out)
	}
	step(cli.ExitProvider, "deploy", "--revision=v3", "--env=SAMPLE_VERSION=v3")
	step(cli.ExitOK, "promote", "--reason=looks good")
	if out := step(cli.ExitOK, "status"); !strings.Contains(out, "stable     v2") || !strings.Contains(out, "previous   v1") {
		t.Errorf("status after promote:\n%s", out)
	}
	step(cli.ExitOK, "rollback")
	if out := step(cli.ExitOK, "status"); !strings.Contains(out, "stable     v1") {
		t.Errorf("status after the fast rollback:\n%s", out)
	}
	out = step(cli.ExitRolledBack, "deploy", "--revision=v4", "--env=SAMPLE_VERSION=v4,SAMPLE_FAIL_RATE=1",
		"--probe-path=/", "--max-error-rate=0", "--output=json")
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
	}
	if last["type"] != "finished" {
		t.Fatalf("last JSON line is %v, want the finished event", last)
	}
	if res, _ := last["result"].(map[string]any); res["outcome"] != "rolled_back" || !strings.Contains(fmt.Sprint(res["reason"]), "probe") {
		t.Errorf("result %v, want rolled_back naming the probe", last["result"])
	}
}
