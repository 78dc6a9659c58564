package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
)

// TestDeployHandsNoSecretToTheServices runs `ramp deploy` of the local
// provider as a separate process, as a GitHub Actions step runs it: its
// environment holds the job's token (as the input and as GITHUB_TOKEN), the
// GITHUB_* and RUNNER_* variables, an Actions runtime token and cloud
// credentials. The supervisor, the agent and the version it starts are
// started with none of them; the version gets its env, PORT and
// RUNNER_TRACKING_ID (so the runner stops it at the end of the job).
func TestDeployHandsNoSecretToTheServices(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	envDir := filepath.Join(dir, "env")
	if err := os.Mkdir(envDir, 0o700); err != nil {
		t.Fatal(err)
	}
	fake := ghubtest.New(t)
	vars := map[string]string{
		"INPUT_PROVIDER": "local", "INPUT_SERVICE": "web", "INPUT_STATE-DIR": filepath.Join(dir, "state"),
		"INPUT_LISTEN": freePort(t), "INPUT_IMAGE": fmt.Sprintf("'%s' sample-app", exe), "INPUT_REVISION": "v1",
		"INPUT_ENV": "SAMPLE_VERSION=v1,APP_MODE=blue", "INPUT_GITHUB-TOKEN": ghubtest.Token,
	}
	t.Cleanup(func() {
		if code, _, stderr := rampCtx(context.Background(), vars, "down"); code != cli.ExitOK {
			t.Errorf("ramp down: exit %d: %s", code, stderr)
		}
	})
	job := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": ghubtest.Repo, "GITHUB_API_URL": fake.URL(),
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "77", "GITHUB_SHA": ghHeadSHA,
		"GITHUB_TOKEN": "ghs_jobtokenjobtokenjobtoken", "GITHUB_OUTPUT": filepath.Join(dir, "output"),
		"GITHUB_STATE": filepath.Join(dir, "state-file"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"ACTIONS_RUNTIME_TOKEN": "actions-runtime-token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-token",
		"RUNNER_TEMP": dir, "RUNNER_TRACKING_ID": "github_job", "AWS_SECRET_ACCESS_KEY": "aws-secret-key",
		"GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(dir, "gha-creds.json"), "DATABASE_PASSWORD": "hunter2",
		"RAMP_MAX_ERROR_RATE": "0", "RAMP_CLI_TEST_ENV_DIR": envDir,
	}
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "deploy")
	cmd.Env = os.Environ()
	for _, m := range []map[string]string{vars, job} {
		for k, v := range m {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ramp deploy: %v\n%s", err, out)
	}

	deploys, agents, apps := readEnvs(t, envDir, "deploy"), readEnvs(t, envDir, "local-agent"), readEnvs(t, envDir, "sample-app")
	if len(deploys) != 1 || len(agents) == 0 || len(apps) != 1 {
		t.Fatalf("recorded %d deploy, %d agent and %d app environments; want 1, at least 1 and 1", len(deploys), len(agents), len(apps))
	}
	for _, env := range deploys { // the control: ramp itself was given them
		if !slices.Contains(env, "INPUT_GITHUB-TOKEN="+ghubtest.Token) || !slices.Contains(env, "GITHUB_TOKEN="+job["GITHUB_TOKEN"]) {
			t.Fatalf("ramp deploy was not started with the token:\n%s", strings.Join(env, "\n"))
		}
	}
	secrets := []string{ghubtest.Token, job["GITHUB_TOKEN"], job["ACTIONS_RUNTIME_TOKEN"], job["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
		job["AWS_SECRET_ACCESS_KEY"], job["DATABASE_PASSWORD"], job["GOOGLE_APPLICATION_CREDENTIALS"], job["GITHUB_OUTPUT"]}
	for who, env := range agents {
		clean(t, who, env, secrets, "RAMP_LOCAL_AGENT_SUPERVISOR", "RAMP_LOCAL_AGENT_TOKEN")
	}
	for who, env := range apps {
		clean(t, who, env, secrets)
		for _, want := range []string{"SAMPLE_VERSION=v1", "APP_MODE=blue", "RUNNER_TRACKING_ID=github_job"} {
			if !slices.Contains(env, want) {
				t.Errorf("%s lacks %s:\n%s", who, want, strings.Join(env, "\n"))
			}
		}
	}
}

// clean fails the test if env holds a secret value, or a variable of the
// runner, of GitHub or of ramp other than the test's own and allowed.
func clean(t *testing.T, who string, env, secrets []string, allowed ...string) {
	t.Helper()
	allowed = append(allowed, "RAMP_CLI_TEST_AS_RAMP", "RAMP_CLI_TEST_ENV_DIR", "RUNNER_TRACKING_ID")
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		for _, p := range []string{"INPUT_", "GITHUB_", "ACTIONS_", "RUNNER_", "RAMP_", "STATE_", "AWS_", "GOOGLE_"} {
			if strings.HasPrefix(name, p) && !slices.Contains(allowed, name) {
				t.Errorf("%s was started with %s", who, kv)
			}
		}
		for _, s := range secrets {
			if strings.Contains(value, s) {
				t.Errorf("%s was started with %s holding a secret of the job", who, name)
			}
		}
	}
}

// readEnvs reads the environments recordEnv wrote in dir for command, by
// process.
func readEnvs(t *testing.T, dir, command string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, command+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out["ramp "+filepath.Base(f)] = strings.Split(string(b), "\x00")
	}
	return out
}

// recordEnv writes this process's environment to dir/<command>-<pid>, NUL
// separated as in /proc/<pid>/environ; an empty dir records nothing.
func recordEnv(dir, command string) {
	if dir == "" {
		return
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d", command, os.Getpid()))
	if err := os.WriteFile(name, []byte(strings.Join(os.Environ(), "\x00")), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "record the environment:", err)
	}
}
