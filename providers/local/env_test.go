package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// dirtyEnv is what ramp's environment holds as a GitHub Actions step, and
// more: none of it may reach the agent or a version.
var dirtyEnv = map[string]string{
	"INPUT_GITHUB-TOKEN":             "ghs_inputtokeninputtoken",
	"INPUT_REVISION":                 "v1",
	"GITHUB_TOKEN":                   "ghs_githubtokengithubtoken",
	"GITHUB_SHA":                     "abc1234aaaabbbbccccddddeeeeffff000011112",
	"GITHUB_OUTPUT":                  "/runner/_temp/_runner_file_commands/set_output_1",
	"GITHUB_STATE":                   "/runner/_temp/_runner_file_commands/save_state_1",
	"ACTIONS_RUNTIME_TOKEN":          "runtime-token",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-token",
	"RUNNER_TEMP":                    "/runner/_temp",
	"STATE_rollout":                  "20260101-000000-abcd",
	"AWS_SECRET_ACCESS_KEY":          "aws-secret",
	"GOOGLE_APPLICATION_CREDENTIALS": "/runner/_temp/gha-creds.json",
	"CLOUDSDK_AUTH_ACCESS_TOKEN":     "gcloud-token",
	"DATABASE_PASSWORD":              "hunter2",
	"NPM_TOKEN":                      "npm-token",
	"RAMP_STEPS":                     "10,100",
}

func TestCleanEnv(t *testing.T) {
	t.Parallel()
	environ := []string{"PATH=/usr/bin", "HOME=/home/runner", "LANG=C.UTF-8", "LC_TIME=C", "TZ=UTC", "TMPDIR=/tmp",
		"RUNNER_TRACKING_ID=github_1", "GOMAXPROCS=2", "GORACE=halt_on_error=1", "EDITOR=vi", "=C:=C:\\x", "NOEQUALS",
		"RAMP_LOCAL_AGENT_TOKEN=t", "RAMP_CLI_TEST_AS_RAMP=1", "RAMP_TEST_TOKEN=x", "GITHUB_TEST=x", "Path=C:\\bin"}
	for k, v := range dirtyEnv {
		environ = append(environ, k+"="+v)
	}
	base := []string{"PATH=/usr/bin", "HOME=/home/runner", "LANG=C.UTF-8", "LC_TIME=C", "TZ=UTC", "TMPDIR=/tmp",
		"RUNNER_TRACKING_ID=github_1", "Path=C:\\bin"}
	cases := []struct {
		name  string
		agent bool
		extra []string
		want  []string
	}{
		{name: "a version", want: base},
		{name: "the agent keeps the Go runtime settings", agent: true, want: append(slices.Clone(base), "GOMAXPROCS=2", "GORACE=halt_on_error=1")},
		{name: "a test's own variables", extra: []string{"RAMP_CLI_TEST_AS_RAMP", "EDITOR"},
			want: append(slices.Clone(base), "RAMP_CLI_TEST_AS_RAMP=1", "EDITOR=vi")},
		{name: "a test cannot pass a credential or a runner variable",
			extra: []string{"RAMP_TEST_TOKEN", "GITHUB_TOKEN", "GITHUB_TEST", "RAMP_LOCAL_AGENT_TOKEN", "AWS_SECRET_ACCESS_KEY", "DATABASE_PASSWORD"},
			want:  base},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := cleanEnv(environ, tc.agent, tc.extra)
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("cleanEnv() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsCredential(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "github_token": true, "INPUT_GITHUB-TOKEN": true, "ACTIONS_CACHE_URL": true,
		"RUNNER_TEMP": true, "RAMP_PROVIDER": true, "AWS_PROFILE": true, "GOOGLE_APPLICATION_CREDENTIALS": true,
		"CLOUDSDK_CORE_PROJECT": true, "MY_API_KEY": true, "DB_PASSWORD": true, "OAUTH_CLIENT": true,
		"PATH": false, "HOME": false, "RUNNER_TRACKING_ID": false, "LC_ALL": false, "SAMPLE_VERSION": false,
	} {
		if got := isCredential(name); got != want {
			t.Errorf("isCredential(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestNoSecretReachesTheAgentOrAVersion starts the agent as a process from
// an environment holding a job's tokens, runner paths and cloud
// credentials, deploys a version with env of its own, and reads what each
// process was started with: the agent and the version hold none of the
// dirty variables, the version holds its env and PORT.
// It sets the environment, so it cannot run in parallel.
func TestNoSecretReachesTheAgentOrAVersion(t *testing.T) {
	dir := t.TempDir()
	for k, v := range dirtyEnv {
		t.Setenv(k, v)
	}
	t.Setenv("RUNNER_TRACKING_ID", "github_job")
	t.Setenv("RAMP_LOCAL_TEST_ENV_DIR", dir)
	cfg := testConfig(t)
	cfg.Executable = os.Args[0]
	p := newProvider(t, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown() in cleanup: %v", err)
		}
	})
	a := appArtifact("v1", "v1", 0)
	a.Env = append(a.Env, "APP_MODE=blue", "APP_API_TOKEN=given-by-the-user")
	mustDeploy(t, p, a)

	agents, apps := recordedEnvs(t, dir, "agent"), recordedEnvs(t, dir, "app")
	if len(agents) == 0 || len(apps) != 1 {
		t.Fatalf("recorded %d agent and %d app environments, want at least one agent and one app", len(agents), len(apps))
	}
	for who, env := range agents {
		noDirtyEnv(t, who, env, envSupervisor, envToken, "RAMP_LOCAL_TEST_ENV_DIR")
	}
	for who, env := range apps {
		noDirtyEnv(t, who, env, "RAMP_LOCAL_TEST_APP", "RAMP_LOCAL_TEST_ENV_DIR")
		for _, want := range []string{"APP_MODE=blue", "APP_API_TOKEN=given-by-the-user", "SAMPLE_VERSION=v1",
			"RUNNER_TRACKING_ID=github_job", "PATH=" + os.Getenv("PATH")} {
			if !slices.Contains(env, want) {
				t.Errorf("%s lacks %s:\n%s", who, want, strings.Join(env, "\n"))
			}
		}
		if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PORT=") }) {
			t.Errorf("%s has no PORT:\n%s", who, strings.Join(env, "\n"))
		}
	}
}

// noDirtyEnv fails the test if env holds a variable of dirtyEnv, or a
// RAMP_* variable other than allowed.
func noDirtyEnv(t *testing.T, who string, env []string, allowed ...string) {
	t.Helper()
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if _, dirty := dirtyEnv[name]; dirty || strings.HasPrefix(name, "RAMP_") && !slices.Contains(allowed, name) {
			t.Errorf("%s was started with %s=%s", who, name, value)
		}
		for k, v := range dirtyEnv {
			if strings.Contains(value, v) && len(v) > 4 {
				t.Errorf("%s was started with %s holding the value of %s", who, name, k)
			}
		}
	}
}

// recordedEnvs reads the environments recordEnv wrote in dir for role, by
// process.
func recordedEnvs(t *testing.T, dir, role string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, role+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out["the "+filepath.Base(f)] = strings.Split(string(b), "\x00")
	}
	return out
}

// recordEnv writes this process's environment to dir/<role>-<pid>, NUL
// separated as in /proc/<pid>/environ; an empty dir records nothing.
func recordEnv(dir, role string) {
	if dir == "" {
		return
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d", role, os.Getpid()))
	if err := os.WriteFile(name, []byte(strings.Join(os.Environ(), "\x00")), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "record the environment:", err)
	}
}
