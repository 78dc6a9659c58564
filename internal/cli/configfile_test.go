package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// rampIn runs one command in working directory dir, which holds files.
func rampIn(t *testing.T, files map[string]string, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	code := cli.Run(t.Context(), args, cli.Env{Getenv: func(k string) string { return vars[k] }, Stdout: &out, Stderr: &errb, Dir: dir})
	return code, out.String(), errb.String()
}

// TestValidateReadsTheConfigFile: validate says which file it read and
// which overrides applied, flags and RAMP_* win over the file, every
// environment of the file is checked, and every problem names its place.
func TestValidateReadsTheConfigFile(t *testing.T) {
	t.Parallel()
	const file = `provider: local
service: web
image: ./web
steps: [5, 100]
environments:
  staging:
    steps: [50, 100]
`
	cases := []struct {
		name     string
		files    map[string]string
		vars     map[string]string
		args     []string
		code     int
		want     []string // in stdout, or stderr when code is not 0
		wantNone []string
	}{
		{"found", map[string]string{"ramp.yaml": file}, nil, nil, 0, []string{
			"configuration file: ramp.yaml (found in the working directory); environment \"production\": no overrides (the file has staging)",
			"shift to 5%", "configuration is valid"}, nil},
		{"environment selected by the action input", map[string]string{".ramp.yaml": file}, map[string]string{"INPUT_ENVIRONMENT": "staging"}, nil, 0, []string{
			"configuration file: .ramp.yaml (found in the working directory); environment \"staging\" overrides steps", "shift to 50%"}, []string{"shift to 5%"}},
		{"flag beats the file", map[string]string{"ramp.yaml": file}, nil, []string{"--steps=20,100"}, 0, []string{"shift to 20%"}, []string{"shift to 5%"}},
		{"RAMP_ beats the environment", map[string]string{"ramp.yaml": file}, map[string]string{"RAMP_STEPS": "30,100", "RAMP_ENVIRONMENT": "staging"}, nil, 0,
			[]string{"shift to 30%"}, []string{"shift to 50%"}},
		{"named by the flag", map[string]string{"web.yaml": file}, nil, []string{"--config=web.yaml"}, 0, []string{
			"configuration file: web.yaml (named by the config option)"}, nil},
		{"none", nil, nil, []string{"--provider=local", "--service=web", "--image=./web"}, 0, []string{"configuration file: none"}, nil},
		{"named file missing", nil, nil, []string{"--config=web.yaml", "--provider=local", "--service=web"}, 2, []string{
			`input "config": no such file (value "web.yaml")`}, nil},
		{"every problem at once, in every environment", map[string]string{"ramp.yaml": file + "    interval: soon\n  production:\n    steps: [5, 120]\nstpes: 1\n"},
			nil, nil, 2, []string{
				`ramp.yaml:11:1: input "stpes": is not a ramp option; did you mean "steps"?`,
				`ramp.yaml:10:12: input "steps": weight 120 is outside 1..100 (value "5,120")`,
				`environment "staging": ramp.yaml:8:15: input "interval": is not a duration such as 30s, 5m or 1h (value "soon")`}, nil},
		{"a token in the file is refused", map[string]string{"ramp.yaml": file + "github-token: ghp_0123456789\n"}, nil, nil, 2, []string{
			`ramp.yaml:8:1: input "github-token": is a secret`}, []string{"ghp_0123456789"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := rampIn(t, c.files, c.vars, append([]string{"validate"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, stderr)
			}
			got := out
			if c.code != 0 {
				got = stderr
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.wantNone {
				if strings.Contains(out+stderr, w) {
					t.Errorf("output has %q:\n%s%s", w, out, stderr)
				}
			}
		})
	}
}

// TestPlanSaysWhichConfigFile: plan names the file it read too.
func TestPlanSaysWhichConfigFile(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	code, out, stderr := rampIn(t, map[string]string{"ramp.yaml": "provider: local\nservice: web\nstate-dir: " + state + "\nsteps: [5, 100]\n"}, nil, "plan")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"configuration file: ramp.yaml (found in the working directory)", "shift to 5%", "nothing was changed"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan output lacks %q:\n%s", w, out)
		}
	}
}
