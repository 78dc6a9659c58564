package config_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/strategies"
)

var deployCmd = config.Command{Name: "deploy", About: "test", Groups: []config.Group{
	config.GroupConfig, config.GroupTarget, config.GroupDeploy, config.GroupRollout, config.GroupGates, config.GroupMetrics, config.GroupRun, config.GroupReport}}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func load(t *testing.T, args []string, vars map[string]string) (config.Values, config.Config, error) {
	t.Helper()
	v, err := config.LoadIn(t.TempDir(), deployCmd, args, env(vars), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(v)
	return v, c, err
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		vars map[string]string
		want string
		from config.Source
	}{
		{"default", nil, nil, "2", config.FromDefault},
		{"action input with a hyphen", nil, map[string]string{"INPUT_FAILURE-THRESHOLD": "3"}, "3", config.FromInput},
		{"action input with an underscore", nil, map[string]string{"INPUT_FAILURE_THRESHOLD": "4"}, "4", config.FromInput},
		{"env beats input", nil, map[string]string{"INPUT_FAILURE-THRESHOLD": "3", "RAMP_FAILURE_THRESHOLD": "5"}, "5", config.FromEnv},
		{"flag beats env", []string{"--failure-threshold", "6"}, map[string]string{"RAMP_FAILURE_THRESHOLD": "5"}, "6", config.FromFlag},
		{"empty input is not given", nil, map[string]string{"INPUT_FAILURE-THRESHOLD": "  "}, "2", config.FromDefault},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v, cfg, err := load(t, c.args, c.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Get("failure-threshold"); got != c.want || v.From("failure-threshold") != c.from {
				t.Errorf("failure-threshold = %q from %s, want %q from %s", got, v.From("failure-threshold"), c.want, c.from)
			}
			if got := cfg.Rollout.Strategy.FailureThreshold; got != mustAtoi(c.want) {
				t.Errorf("parsed %d", got)
			}
		})
	}
}

func mustAtoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	_, c, err := load(t, []string{"--provider=local", "--service=web", "--image=./web", "--wait-bake", "--env", "A=1,B=2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := strategies.Spec{Strategy: "canary", Steps: []strategies.Target{{Weight: 10}, {Weight: 50}, {Weight: 100}},
		Increment: 10, MaxSurge: "25%", MaxUnavailable: "25%", Interval: time.Minute, FailureThreshold: 2}
	if diff := cmp.Diff(want, c.Rollout.Strategy); diff != "" {
		t.Errorf("strategy spec (-want +got):\n%s", diff)
	}
	if !c.WaitBake || c.OnCancel != "rollback" || c.Output != "text" || c.RollbackWindow != 10*time.Minute {
		t.Errorf("run settings: %+v", c)
	}
	if !cmp.Equal(c.Artifact.Env, []string{"A=1", "B=2"}) || c.Target.Listen != "127.0.0.1:8080" {
		t.Errorf("artifact %+v target %+v", c.Artifact, c.Target)
	}
	if !c.MetricsDefaulted || c.Rollout.Gates.MaxErrorRate != 10 || c.Rollout.Gates.Compare != "errors,latency" || c.Rollout.Gates.Alpha != 0.01 {
		t.Errorf("metric gate defaults: %v %v", c.MetricsDefaulted, c.Rollout.Gates.MaxErrorRate)
	}
}

func TestBadInputsAreNamed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		input, value string
		want         string
	}{
		{"interval", "soon", "is not a duration"},
		{"hold", "1m,later", `"later" is not a duration`},
		{"failure-threshold", "two", "is not a whole number"},
		{"min-requests", "many", "is not a whole number"},
		{"max-error-rate", "low", "is not a number"},
		{"max-latency-p99", "fast", "is not a duration"},
		{"probe-count", "x", "is not a whole number"},
		{"progress-deadline", "-", "is not a duration"},
		{"on-cancel", "panic", `must be one of ["rollback" "leave"]`},
		{"output", "yaml", `must be one of ["text" "json"]`},
		{"wait-bake", "yes", "must be true or false"},
		{"steps", "5,ten,100", `"ten" is neither a weight nor "pause"`},
		{"env", "NOVALUE", "entries must be KEY=VALUE"},
		{"ready-timeout", "1 minute", "is not a duration"},
		{"rollback-window", "-5m", "must not be negative"},
		{"rollback-window", "169h", "is longer than the maximum of 168h"},
		{"wait-lock", "-1s", "must not be negative"},
		{"wait-lock", "25h", "is longer than the maximum of 24h"},
		{"interval", "61m", "is longer than the maximum of 1h"},
		{"hold", "7000000000s", "is longer than the maximum of 24h"},
		{"hold", "1m,-1m", `"-1m" must not be negative`},
		{"bake", "24h1s", "is longer than the maximum of 24h"},
		{"progress-deadline", "-1m", "must not be negative"},
		{"ready-timeout", "2h", "is longer than the maximum of 1h"},
		{"max-latency-p50", "2h", "is longer than the maximum of 1h"},
		{"max-latency-p95", "-5ms", "must not be negative"},
		{"probe-max-latency", "9999h", "is longer than the maximum of 1h"},
		{"max-error-rate", "NaN", "is not a number"},
		{"max-error-rate", "nan%", "is not a number"},
		{"max-error-rate", "Inf", "is out of range"},
		{"max-error-rate", "-infinity", "is out of range"},
		{"max-error-rate", "1e999", "is out of range"},
		{"probe-success-ratio", "NaN", "is not a number"},
		{"probe-success-ratio", "+Inf%", "is out of range"},
		{"min-requests", "99999999999999999999", "is out of range"},
		{"metrics-delay", "late", "is not a duration"},
		{"metrics-delay", "-3m", "must not be negative"},
		{"metrics-delay", "61m", "is longer than the maximum of 1h"},
	}
	for _, c := range cases {
		t.Run(c.input+"="+c.value, func(t *testing.T) {
			t.Parallel()
			_, _, err := load(t, []string{"--" + c.input + "=" + c.value}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			ie, ok := errors.AsType[*input.Error](err)
			if !ok || ie.Input != c.input {
				t.Fatalf("error %v does not name input %q", err, c.input)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.value) {
				t.Errorf("error %q lacks %q or the value %q", err, c.want, c.value)
			}
		})
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, _, err := load(t, []string{"--interval=x", "--failure-threshold=y", "--output=xml"}, nil)
	for _, name := range []string{`"interval"`, `"failure-threshold"`, `"output"`} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not list %s", err, name)
		}
	}
}

func TestHelpDocumentsEveryOption(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := config.Load(deployCmd, []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, o := range config.Options {
		if !strings.Contains(out.String(), "--"+o.Name+"\n") || !strings.Contains(out.String(), o.Env()) {
			t.Errorf("help lacks --%s or %s", o.Name, o.Env())
		}
		if o.Default != "" && !strings.Contains(out.String(), `(default "`+o.Default+`")`) {
			t.Errorf("help lacks the default of --%s", o.Name)
		}
	}
}

func TestRolloutRoundTrips(t *testing.T) {
	t.Parallel()
	_, c, err := load(t, []string{"--steps=5,pause,100", "--hold=30s", "--probe-path=/healthz", "--max-latency-p99=250ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.DecodeRollout(c.Rollout.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Rollout, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := config.DecodeRollout([]byte("{")); err == nil {
		t.Error("decoding garbage: no error")
	}
}
