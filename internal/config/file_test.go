package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
)

// inDir writes files (name to content) into a new directory and returns it.
func inDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadFile loads deploy's options in dir and parses them.
func loadFile(t *testing.T, dir string, args []string, vars map[string]string) (config.Values, config.Config, error) {
	t.Helper()
	v, err := config.LoadIn(dir, deployCmd, args, env(vars), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(v)
	return v, c, err
}

// leafErrors lists the members of a joined error.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// TestFileErrorsNameTheirPlace: every problem of the file is an input
// error naming file:line:column, all of them at once.
func TestFileErrorsNameTheirPlace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		want       []string // one per problem, in order
	}{
		{"unknown key", "stpes: [10, 100]\n", []string{`ramp.yaml:1:1: input "stpes": is not a ramp option; did you mean "steps"?`}},
		{"unknown key far from any option", "gates:\n  - prometheus\n", []string{`ramp.yaml:1:1: input "gates": is not a ramp option (see ramp deploy --help`}},
		{"string for a whole number", "failure-threshold: two\n", []string{`ramp.yaml:1:20: input "failure-threshold": must be a whole number, not a string (value "two")`}},
		{"yes is not a boolean", "wait-bake: yes\n", []string{`ramp.yaml:1:12: input "wait-bake": must be true or false, not a string`}},
		{"duration without a unit", "interval: 30\n", []string{`ramp.yaml:1:11: input "interval": must be a duration with a unit`}},
		{"quoted number", "alpha: \"0.01\"\n", []string{`ramp.yaml:1:8: input "alpha": must be a number (or a percentage such as "5%"), not a string`}},
		{"infinite number", "tolerance: .inf\n", []string{`ramp.yaml:1:12: input "tolerance": must be a finite number`}},
		{"boolean for text", "service: true\n", []string{`ramp.yaml:1:10: input "service": must be a string, not true or false`}},
		{"mapping for text", "service:\n  name: web\n", []string{`ramp.yaml:2:3: input "service": must be a string, not a mapping`}},
		{"list for a single value", "interval: [1m]\n", []string{`ramp.yaml:1:11: input "interval": must be a duration with a unit, such as "30s" or "1h30m", not a list`}},
		{"bad list entries", "steps:\n  - 10\n  - [50]\n  - true\n", []string{
			`ramp.yaml:3:5: input "steps": entries must each be a weight (a whole number) or "pause", not a list`,
			`ramp.yaml:4:5: input "steps": must be a weight (a whole number) or "pause", not true or false`}},
		{"entry holding a comma", "env:\n  - A=1,B=2\n", []string{`ramp.yaml:2:5: input "env": an entry cannot hold a comma or a newline`}},
		{"empty entry", "services: [api, ~]\n", []string{`ramp.yaml:1:17: input "services": an entry of the list is empty`}},
		{"token refused", "github-token: ghp_x\n", []string{`ramp.yaml:1:1: input "github-token": is a secret, and a configuration file is kept with the code: set RAMP_GITHUB_TOKEN`}},
		{"config refused", "config: other.yaml\n", []string{`ramp.yaml:1:1: input "config": cannot be set in the configuration file itself`}},
		{"not a mapping", "- steps\n", []string{`ramp.yaml:1:1: input "config": the file must be a mapping of option names to values, not a list`}},
		{"syntax error", "steps: [10, 50\n", []string{`ramp.yaml:1:8: input "config": is not valid YAML: sequence end token ']' not found`}},
		{"duplicate key", "interval: 1m\ninterval: 2m\n", []string{`ramp.yaml:2:1: input "config": is not valid YAML: mapping key "interval" already defined`}},
		{"two documents", "interval: 1m\n---\nbake: 1m\n", []string{`ramp.yaml:3:1: input "config": holds more than one YAML document`}},
		{"alias", "interval: &i 1m\nbake: *i\n", []string{
			`ramp.yaml:1:11: input "interval": anchors and aliases are not read`, `ramp.yaml:2:7: input "bake": anchors and aliases are not read`}},
		{"merge key", "environments:\n  staging:\n    <<: {interval: 1m}\n", []string{`ramp.yaml:3:5: input "<<": merge keys are not read`}},
		{"tag", "service: !!str 10\n", []string{`ramp.yaml:1:10: input "service": YAML tags are not read`}},
		{"environments not a mapping", "environments: [staging]\n", []string{`ramp.yaml:1:15: input "environments": must map environment names to their options, not a list`}},
		{"environment inside an environment", "environments:\n  staging:\n    environment: prod\n", []string{
			`ramp.yaml:3:5: input "environment": selects the environment, so it cannot be set inside one`}},
		{"nested environments", "environments:\n  staging:\n    environments: {}\n", []string{`ramp.yaml:3:5: input "environments": environments cannot be nested`}},
		{"environment's unknown key and wrong type", "environments:\n  staging:\n    intervall: 1m\n    bake: 5\n", []string{
			`ramp.yaml:3:5: input "intervall": is not a ramp option; did you mean "interval"?`,
			`ramp.yaml:4:11: input "bake": must be a duration with a unit`}},
		{"value that does not parse", "interval: soon\n", []string{`ramp.yaml:1:11: input "interval": is not a duration such as 30s, 5m or 1h (value "soon")`}},
		{"environment's value that does not parse", "environments:\n  production:\n    steps: [10, x]\n", []string{`ramp.yaml:3:12: input "steps": "x" is neither a weight nor "pause" (value "10,x")`}},
		{"every problem at once", "stpes: [1]\ninterval: 30\nwait-bake: 1\noutput: xml\n", []string{
			`ramp.yaml:1:1: input "stpes"`, `ramp.yaml:2:11: input "interval"`, `ramp.yaml:3:12: input "wait-bake"`,
			`ramp.yaml:4:9: input "output": must be one of ["text" "json"] (value "xml")`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := inDir(t, map[string]string{"ramp.yaml": c.file})
			_, _, err := loadFile(t, dir, nil, nil)
			got := leafErrors(err)
			if len(got) != len(c.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(got), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i].Error(), w) {
					t.Errorf("problem %d:\n  %v\nwant it to start with\n  %s", i, got[i], w)
				}
				if !input.Is(got[i]) {
					t.Errorf("problem %d is not an input error: %v", i, got[i])
				}
			}
		})
	}
}

// TestFilePrecedence: flags, RAMP_* and action inputs override the file;
// the selected environment's overrides beat the file's top level; the file
// beats other tools' variables and the defaults.
func TestFilePrecedence(t *testing.T) {
	t.Parallel()
	const file = `failure-threshold: 3
project: from-file
environments:
  staging:
    failure-threshold: 5
  production:
    interval: 30s
`
	cases := []struct {
		name       string
		args       []string
		vars       map[string]string
		option     string
		want       string
		from       config.Source
		wantEnv    string
		wantWhere  string
		extraFiles map[string]string
	}{
		{"file beats the default", nil, nil, "failure-threshold", "3", config.FromFile, "production", "ramp.yaml:1:20", nil},
		{"flag beats the file", []string{"--failure-threshold=4"}, nil, "failure-threshold", "4", config.FromFlag, "production", "", nil},
		{"RAMP_ beats the file", nil, map[string]string{"RAMP_FAILURE_THRESHOLD": "6"}, "failure-threshold", "6", config.FromEnv, "production", "", nil},
		{"action input beats the file", nil, map[string]string{"INPUT_FAILURE-THRESHOLD": "7"}, "failure-threshold", "7", config.FromInput, "production", "", nil},
		{"action input equal to its default does not hide the file", nil, map[string]string{"INPUT_FAILURE-THRESHOLD": "2"},
			"failure-threshold", "3", config.FromFile, "production", "ramp.yaml:1:20", nil},
		{"empty action input does not hide the file", nil, map[string]string{"INPUT_FAILURE-THRESHOLD": ""},
			"failure-threshold", "3", config.FromFile, "production", "ramp.yaml:1:20", nil},
		{"file beats other tools' variables", nil, map[string]string{"GOOGLE_CLOUD_PROJECT": "ambient"}, "project", "from-file", config.FromFile, "production", "ramp.yaml:2:10", nil},
		{"default environment's overrides", nil, nil, "interval", "30s", config.FromFile, "production", "ramp.yaml:7:15", nil},
		{"environment flag selects overrides", []string{"--environment=staging"}, nil, "failure-threshold", "5", config.FromFile, "staging", "ramp.yaml:5:24", nil},
		{"RAMP_ENVIRONMENT selects overrides", nil, map[string]string{"RAMP_ENVIRONMENT": "staging"}, "failure-threshold", "5", config.FromFile, "staging", "ramp.yaml:5:24", nil},
		{"environment input selects overrides", nil, map[string]string{"INPUT_ENVIRONMENT": "staging"}, "failure-threshold", "5", config.FromFile, "staging", "ramp.yaml:5:24", nil},
		{"environment input equal to its default", nil, map[string]string{"INPUT_ENVIRONMENT": "production"}, "interval", "30s", config.FromFile, "production", "ramp.yaml:7:15", nil},
		{"flag beats the environment's override", []string{"--environment=staging", "--failure-threshold=9"}, nil, "failure-threshold", "9", config.FromFlag, "staging", "", nil},
		{"other environment's overrides do not apply", []string{"--environment=staging"}, nil, "interval", "1m", config.FromDefault, "staging", "", nil},
		{"environment without overrides", []string{"--environment=qa"}, nil, "failure-threshold", "3", config.FromFile, "qa", "ramp.yaml:1:20", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := inDir(t, map[string]string{"ramp.yaml": file})
			v, _, err := loadFile(t, dir, c.args, c.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Get(c.option); got != c.want || v.From(c.option) != c.from {
				t.Errorf("%s = %q from %s, want %q from %s", c.option, got, v.From(c.option), c.want, c.from)
			}
			if v.Where(c.option) != c.wantWhere {
				t.Errorf("Where(%s) = %q, want %q", c.option, v.Where(c.option), c.wantWhere)
			}
			if v.File.Environment != c.wantEnv {
				t.Errorf("environment %q, want %q", v.File.Environment, c.wantEnv)
			}
		})
	}
}

// TestFileTopLevelEnvironmentSelects: the file's own environment key
// selects its overrides (and is the GitHub deployment environment).
func TestFileTopLevelEnvironmentSelects(t *testing.T) {
	t.Parallel()
	dir := inDir(t, map[string]string{"ramp.yaml": "environment: staging\nenvironments:\n  staging:\n    steps: [5, 100]\n"})
	v, c, err := loadFile(t, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("steps") != "5,100" || c.GitHub.Environment != "staging" {
		t.Errorf("steps %q, environment %q; want 5,100 and staging", v.Get("steps"), c.GitHub.Environment)
	}
	want := `configuration file: ramp.yaml (found in the working directory); environment "staging" overrides steps`
	if got := v.File.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}

// TestFileDiscovery: the file named by config, else .ramp.yaml or
// ramp.yaml in the working directory; a named file that is missing, or two
// found, are input errors.
func TestFileDiscovery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		files    map[string]string
		args     []string
		vars     map[string]string
		wantPath string
		wantErr  string
		describe string
	}{
		{"none", nil, nil, nil, "", "", "configuration file: none (no config option, no .ramp.yaml or ramp.yaml in the working directory)"},
		{"ramp.yaml", map[string]string{"ramp.yaml": "service: a"}, nil, nil, "ramp.yaml", "", "configuration file: ramp.yaml (found in the working directory)"},
		{".ramp.yaml", map[string]string{".ramp.yaml": "service: a"}, nil, nil, ".ramp.yaml", "", "configuration file: .ramp.yaml (found in the working directory)"},
		{"both", map[string]string{".ramp.yaml": "service: a", "ramp.yaml": "service: b"}, nil, nil, "", `input "config": both .ramp.yaml and ramp.yaml are in the working directory`, ""},
		{"named by the flag", map[string]string{"deploy/web.yaml": "service: a", "ramp.yaml": "service: b"}, []string{"--config=deploy/web.yaml"}, nil,
			"deploy/web.yaml", "", "configuration file: deploy/web.yaml (named by the config option)"},
		{"named by RAMP_CONFIG", map[string]string{"web.yaml": "service: a"}, nil, map[string]string{"RAMP_CONFIG": "web.yaml"}, "web.yaml", "", ""},
		{"named by the action input", map[string]string{"web.yaml": "service: a"}, nil, map[string]string{"INPUT_CONFIG": "web.yaml"}, "web.yaml", "", ""},
		{"named file missing", map[string]string{"ramp.yaml": "service: b"}, []string{"--config=nope.yaml"}, nil, "nope.yaml", `input "config": no such file (value "nope.yaml")`, ""},
		{"named directory", map[string]string{"d/x": ""}, []string{"--config=d"}, nil, "d", `input "config": cannot be read`, ""},
		{"empty file", map[string]string{"ramp.yaml": "# nothing yet\n"}, nil, nil, "ramp.yaml", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := inDir(t, c.files)
			v, cfg, err := loadFile(t, dir, c.args, c.vars)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !input.Is(err)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			if v.File.Path != c.wantPath {
				t.Errorf("path %q, want %q", v.File.Path, c.wantPath)
			}
			if c.wantErr == "" && c.wantPath != "" && !strings.HasSuffix(c.name, "file") && cfg.Target.Service != "a" {
				t.Errorf("service %q, want a (from %s)", cfg.Target.Service, c.wantPath)
			}
			if c.describe != "" && v.File.Describe() != c.describe {
				t.Errorf("Describe() = %q, want %q", v.File.Describe(), c.describe)
			}
		})
	}
}

// TestCommandsWithoutTheConfigGroupReadNoFile: the local agent, started by
// ramp with every setting as a flag, never reads a file.
func TestCommandsWithoutTheConfigGroupReadNoFile(t *testing.T) {
	t.Parallel()
	dir := inDir(t, map[string]string{"ramp.yaml": "service: a\nnot-an-option: 1\n"})
	cmd := config.Command{Name: "local-agent", Groups: []config.Group{config.GroupTarget}}
	v, err := config.LoadIn(dir, cmd, nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(v); err != nil || v.Get("service") != "" || v.File.Path != "" {
		t.Errorf("err %v, service %q, file %q: want no file read", err, v.Get("service"), v.File.Path)
	}
}

// TestFileSaysWhatFlagsSay: every option the file may hold, written with
// its YAML type, loads as the same raw value as the flag.
func TestFileSaysWhatFlagsSay(t *testing.T) {
	t.Parallel()
	file := `provider: local
service: web
listen: 127.0.0.1:9090
ready-timeout: 90s
image: ./web --port=$PORT
env:
  - A=1
  - B=two words
labels: team=web, tier=1
cpu: 0.5
max-instances: 10
skip-default-labels: true
steps: [5, pause, 50, 100]
hold: [30s, 1m, 2m, 0s]
compare: [errors]
alpha: 0.05
max-error-rate: 5%
probe-success-ratio: 99.5
max-latency-p99: 250ms
min-requests: 0x20
summary: |-
  out/summary.md
`
	flags := []string{"--provider=local", "--service=web", "--listen=127.0.0.1:9090", "--ready-timeout=90s", "--image=./web --port=$PORT",
		"--env=A=1,B=two words", "--labels=team=web,tier=1", "--cpu=0.5", "--max-instances=10", "--skip-default-labels",
		"--steps=5,pause,50,100", "--hold=30s,1m,2m,0s", "--compare=errors", "--alpha=0.05", "--max-error-rate=5%",
		"--probe-success-ratio=99.5", "--max-latency-p99=250ms", "--min-requests=32", "--summary=out/summary.md"}
	fromFile, cf, err := loadFile(t, inDir(t, map[string]string{"ramp.yaml": file}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromFlags, cl, err := loadFile(t, t.TempDir(), flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range config.Options {
		if fromFile.Get(o.Name) != fromFlags.Get(o.Name) {
			t.Errorf("%s: file gives %q, flag %q", o.Name, fromFile.Get(o.Name), fromFlags.Get(o.Name))
		}
		if fromFlags.Given(o.Name) != fromFile.Given(o.Name) {
			t.Errorf("%s: given from the file %v, from the flags %v", o.Name, fromFile.Given(o.Name), fromFlags.Given(o.Name))
		}
	}
	if cf.Rollout.Encode() == nil || string(cf.Rollout.Encode()) != string(cl.Rollout.Encode()) {
		t.Errorf("rollout from the file %s, from the flags %s", cf.Rollout.Encode(), cl.Rollout.Encode())
	}
}

// TestFileErrorsReachCommandChecks: an error found after Parse (by the
// provider or a command) about a value from the file names its place too.
func TestFileErrorsReachCommandChecks(t *testing.T) {
	t.Parallel()
	v, _, err := loadFile(t, inDir(t, map[string]string{"ramp.yaml": "service: web\nregion: x\n"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	later := errors.Join(input.Invalid("region", "x", "is not a region"), input.Invalid("provider", "", "is required"))
	got := v.Locate(later).Error()
	if !strings.Contains(got, `ramp.yaml:2:9: input "region": is not a region`) || strings.Contains(got, `ramp.yaml:2:9: input "provider"`) {
		t.Errorf("located: %s", got)
	}
}
