package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// inputLines returns the problems ramp printed, one per line of stderr.
func inputLines(stderr string) []string {
	var out []string
	for l := range strings.Lines(stderr) {
		l = strings.TrimSpace(strings.TrimPrefix(l, "ramp: "))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// untouched fails t if the state directory exists, that is if anything
// was started or written; if it does, it stops whatever runs there.
func untouched(t *testing.T, state string) {
	t.Helper()
	if _, err := os.Stat(state); os.IsNotExist(err) {
		return
	}
	t.Errorf("the state directory %s exists: something was started or written", state)
	rampCtx(context.Background(), nil, "down", "--provider=local", "--service=web", "--state-dir="+state)
}

// TestEveryBadInputIsRefusedBeforeAnythingStarts runs each bad input of
// issue 8 through validate, and through the command it broke, and expects
// exit 2 naming the input, with no process started and no file written.
func TestEveryBadInputIsRefusedBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		commands []string // validate, and the command where the bug showed
		args     []string
		want     []string // every one in stderr
		not      []string // none of these in stderr
	}{
		{"NaN error rate", []string{"validate", "deploy"}, []string{"--max-error-rate=NaN"}, []string{`input "max-error-rate": is not a number (value "NaN")`}, nil},
		{"NaN probe success ratio", []string{"validate", "deploy"}, []string{"--probe-success-ratio=NaN"}, []string{`input "probe-success-ratio": is not a number`}, nil},
		{"infinite error rate", []string{"validate", "deploy"}, []string{"--max-error-rate=-Inf"}, []string{`input "max-error-rate": is out of range`}, nil},
		{"a hold beyond its maximum", []string{"validate", "plan"}, []string{"--hold=7000000000s"}, []string{`input "hold": is longer than the maximum of 24h`}, []string{"expected time"}},
		{"an interval beyond its maximum", []string{"validate", "plan"}, []string{"--interval=2h"}, []string{`input "interval": is longer than the maximum of 1h`}, nil},
		{"steps with bluegreen", []string{"validate", "deploy"}, []string{"--strategy=bluegreen", "--steps=10,50,100"},
			[]string{`input "steps": does not apply to strategy "bluegreen", only to canary`}, nil},
		{"increment with canary", []string{"validate"}, []string{"--increment=20"}, []string{`input "increment": does not apply to strategy "canary"`}, nil},
		{"env name with a space", []string{"validate", "deploy"}, []string{"--env=MY KEY=1"}, []string{`input "env": variable names are`, `"MY KEY"`}, nil},
		{"env name with a carriage return", []string{"validate", "deploy"}, []string{"--env=A\rB=1"}, []string{`input "env"`, `"A\rB"`}, nil},
		{"env PORT on the local provider", []string{"validate", "deploy"}, []string{"--env=PORT=1"}, []string{`input "env": PORT is set by the local provider itself`}, nil},
		{"unterminated quote in image", []string{"validate", "deploy"}, []string{"--image='x sample-app"},
			[]string{`input "image": unterminated ' quote (image is split into words without a shell)`}, nil},
		{"state-dir naming a file", []string{"validate", "deploy"}, []string{"--state-dir=" + file}, []string{`input "state-dir": names a file, not a directory`}, nil},
		{"state-dir under a file", []string{"validate", "deploy"}, []string{"--state-dir=" + filepath.Join(file, "state")}, []string{`input "state-dir": cannot be created`}, nil},
		{"interval that does not parse is reported once", []string{"validate", "deploy"}, []string{"--interval=soon"},
			[]string{`input "interval": is not a duration such as 30s, 5m or 1h (value "soon")`}, []string{"at least 100ms", `(value "0s")`}},
		{"steps that do not parse are reported once", []string{"validate"}, []string{"--steps=5,ten,100", "--hold=1m,2m,3m"},
			[]string{`"ten" is neither a weight nor "pause"`}, []string{"is required", "durations for"}},
		{"gate problems are not dropped for steps", []string{"validate", "deploy"}, []string{"--steps=5,120", "--max-error-rate=200"},
			[]string{`input "steps": weight 120 is outside 1..100`, `input "max-error-rate": must be within 0..100`}, nil},
		{"every provider setting", []string{"validate", "deploy"}, []string{"--listen=bad", "--health-path=nope"},
			[]string{`input "listen": must be host:port`, `input "health-path": must start with /`}, nil},
	}
	for _, c := range cases {
		for _, cmd := range c.commands {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				state := filepath.Join(t.TempDir(), "state")
				args := append([]string{cmd, "--provider=local", "--service=web", "--state-dir=" + state, "--image=./web", "--listen=127.0.0.1:0"}, c.args...)
				code, stdout, stderr := ramp(t, nil, args...)
				if code != cli.ExitInvalid {
					t.Errorf("exit %d, want %d (invalid input)\nstdout: %s\nstderr: %s", code, cli.ExitInvalid, stdout, stderr)
				}
				for _, w := range c.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, stderr)
					}
				}
				for _, n := range append(c.not, "panic", "goroutine") {
					if strings.Contains(stderr+stdout, n) {
						t.Errorf("output holds %q:\n%s%s", n, stdout, stderr)
					}
				}
				untouched(t, state)
			})
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the file named as state-dir changed: %q, %v", b, err)
	}
}

// TestCloudRunReservedEnv: the names Cloud Run sets itself are refused.
func TestCloudRunReservedEnv(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"} {
		code, _, stderr := ramp(t, nil, "validate", "--provider=cloudrun", "--project=p", "--region=europe-west1",
			"--service=web", "--image=europe-docker.pkg.dev/p/web/web:1", "--env=A=1,"+name+"=x")
		if code != cli.ExitInvalid || !strings.Contains(stderr, `input "env": `+name+" is set by the cloudrun provider itself") {
			t.Errorf("env %s: exit %d, stderr:\n%s", name, code, stderr)
		}
	}
}

// TestCloudRunNameLimits: a service name too long for ramp's traffic tags
// and a revision name too long for Cloud Run are refused before any call,
// together with any other bad input, each on a line of its own.
func TestCloudRunNameLimits(t *testing.T) {
	t.Parallel()
	long := "web-" + strings.Repeat("x", 34) // 38 characters
	for _, cmd := range []string{"validate", "deploy"} {
		code, _, stderr := ramp(t, nil, cmd, "--provider=cloudrun", "--project=p", "--region=europe-west1",
			"--service="+long, "--image=europe-docker.pkg.dev/p/web/web:1", "--max-error-rate=NaN")
		lines := inputLines(stderr)
		if code != cli.ExitInvalid || len(lines) != 2 || !strings.Contains(stderr, `input "service": is 38 characters; ramp takes at most 37`) {
			t.Errorf("%s with a service of 38 characters: exit %d, stderr:\n%s", cmd, code, stderr)
		}
		code, _, stderr = ramp(t, nil, cmd, "--provider=cloudrun", "--project=p", "--region=europe-west1",
			"--service=web", "--image=europe-docker.pkg.dev/p/web/web:1", "--revision=release-"+strings.Repeat("a", 52))
		if code != cli.ExitInvalid || !strings.Contains(stderr, `input "revision": makes the revision name`) || !strings.Contains(stderr, "at most 63") {
			t.Errorf("%s with a revision too long: exit %d, stderr:\n%s", cmd, code, stderr)
		}
	}
}

// TestAllBadInputsListedAtOnce gives one bad value to many inputs at once
// and expects each named on a line of its own, and nothing else.
func TestAllBadInputsListedAtOnce(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	code, _, stderr := ramp(t, map[string]string{"RAMP_INCREMENT": "30"}, "validate", "--provider=local", "--service=web",
		"--state-dir="+state, "--listen=bad", "--health-path=nope", "--image='x", "--env=MY KEY=1,PORT=2",
		"--steps=5,120", "--hold=7000000000s", "--interval=soon", "--max-error-rate=NaN", "--probe-success-ratio=200",
		"--probe-path=/", "--failure-threshold=0", "--rollback-window=-1m")
	if code != cli.ExitInvalid {
		t.Errorf("exit %d, want %d", code, cli.ExitInvalid)
	}
	want := []string{"listen", "health-path", "image", "env", "env", "steps", "steps", "hold", "interval", "max-error-rate",
		"probe-success-ratio", "failure-threshold", "rollback-window", "increment"}
	var got []string
	for _, l := range inputLines(stderr) {
		name, _, ok := strings.Cut(strings.TrimPrefix(l, `configure provider "local": `), `":`)
		if !ok || !strings.HasPrefix(name, `input "`) {
			t.Errorf("line %q names no input", l)
			continue
		}
		got = append(got, strings.TrimPrefix(name, `input "`))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("inputs named %q, want %q:\n%s", got, want, stderr)
	}
	untouched(t, state)
}

// TestCorruptAgentFileNamesTheRepair: status and down with a corrupt
// agent.json say which file to remove.
func TestCorruptAgentFileNamesTheRepair(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	agentFile := filepath.Join(state, "agent.json")
	if err := os.WriteFile(agentFile, []byte(`{"control":`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"status", "down"} {
		code, _, stderr := ramp(t, nil, cmd, "--provider=local", "--service=web", "--state-dir="+state)
		if code != cli.ExitProvider || !strings.Contains(stderr, `rm "`+agentFile+`"`) {
			t.Errorf("%s: exit %d, want %d with the repair `rm %q`:\n%s", cmd, code, cli.ExitProvider, agentFile, stderr)
		}
	}
}

// TestActionSelfTestWorkflowValidates runs `ramp validate` with the
// environment the Actions runner gives each `uses: ./` step of the action's
// self-test workflow: every input the step sets, and every other input
// action.yml declares with a default. Inputs the runner passes only because
// they have a default must not count as given (steps with bluegreen, ...).
func TestActionSelfTestWorkflowValidates(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, filepath.Join(root, "action.yml"), &action)
	readYAML(t, filepath.Join(root, ".github", "workflows", "ci.yml"), &wf)
	exprs := strings.NewReplacer("${{ runner.temp }}", t.TempDir(), "${{ env.SAMPLE }}", "'/opt/ramp sample' sample-app",
		"${{ github.sha }}", "0123456789abcdef0123456789abcdef01234567", "${{ github.token }}", "", "${{ matrix.os }}", "ubuntu-latest")
	n := 0
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			if step.Uses != "./" {
				continue
			}
			n++
			vars := map[string]string{}
			for name, in := range action.Inputs {
				vars["INPUT_"+strings.ToUpper(name)] = exprs.Replace(in.Default)
			}
			for name, v := range step.With {
				vars["INPUT_"+strings.ToUpper(name)] = exprs.Replace(v)
			}
			for k, v := range vars {
				if strings.Contains(v, "${{") {
					t.Fatalf("step %q: %s=%q: an expression this test does not know", step.Name, k, v)
				}
			}
			code, _, stderr := ramp(t, vars, "validate")
			if code != cli.ExitOK {
				t.Errorf("step %q: validate exit %d:\n%s", step.Name, code, stderr)
			}
			for _, strategy := range []string{"linear", "bluegreen", "immediate"} {
				vars["INPUT_STRATEGY"], vars["INPUT_STEPS"], vars["INPUT_INCREMENT"], vars["INPUT_HOLD"] = strategy, "10,50,100", "10", ""
				if code, _, stderr := ramp(t, vars, "validate"); code != cli.ExitOK {
					t.Errorf("step %q with strategy %s and the other inputs at their defaults: validate exit %d:\n%s", step.Name, strategy, code, stderr)
				}
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d steps using ./ in ci.yml, want at least 3", n)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
