package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
)

// problems lists the inputs err names, in order.
func problems(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, problems(e)...)
		}
		return out
	}
	if ie, ok := errors.AsType[*input.Error](err); ok {
		return []string{ie.Input}
	}
	if err != nil {
		return []string{"other: " + err.Error()}
	}
	return nil
}

func TestEnvNames(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	cases := []struct {
		name, provider, env string
		want                string // "" for valid
	}{
		{"valid", "local", "A=1,_B2=" + secret + ",lower_case=x", ""},
		{"a value may hold = and spaces", "cloudrun", "A=x=y z", ""},
		{"space in the name", "local", "MY KEY=" + secret, `variable names are letters, digits and _, not starting with a digit (value "MY KEY")`},
		{"carriage return in the name", "local", "A\rB=" + secret, `(value "A\rB")`},
		{"leading digit", "cloudrun", "1ST=" + secret, `(value "1ST")`},
		{"dash", "cloudrun", "A-B=" + secret, `(value "A-B")`},
		{"no value", "local", "NOVALUE", `entries must be KEY=VALUE (value "NOVALUE")`},
		{"no key", "local", "=" + secret, "one has no KEY"},
		{"carriage return in the value", "local", "A=x\r" + secret + "\ry", "the value of A holds a NUL or carriage return"},
		{"NUL in the value", "cloudrun", "A=x\x00" + secret, "the value of A holds a NUL or carriage return"},
		{"PORT on the local provider", "local", "PORT=9000", "PORT is set by the local provider itself"},
		{"PORT on Cloud Run", "cloudrun", "PORT=9000", "PORT is set by the cloudrun provider itself"},
		{"K_SERVICE on Cloud Run", "cloudrun", "K_SERVICE=x", "K_SERVICE is set by the cloudrun provider itself"},
		{"K_REVISION on Cloud Run", "cloudrun", "K_REVISION=x", "K_REVISION is set by"},
		{"K_CONFIGURATION on Cloud Run", "cloudrun", "K_CONFIGURATION=x", "K_CONFIGURATION is set by"},
		{"K_SERVICE is free on the local provider", "local", "K_SERVICE=x", ""},
		{"names are case-sensitive", "cloudrun", "port=1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := load(t, []string{"--provider=" + c.provider, "--image=x", "--env=" + c.env}, nil)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if got := problems(err); !slices.Equal(got, []string{"env"}) {
				t.Fatalf("error %v names %q, want only env", err, got)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the variable's value", err)
			}
		})
	}
}

func TestOptionsThatDoNotApplyToTheStrategy(t *testing.T) {
	t.Parallel()
	// runner is what the Actions runner passes for a step that sets only
	// provider, service and strategy: every other input with a default.
	runner := func(strategy string, set map[string]string) map[string]string {
		vars := map[string]string{"INPUT_PROVIDER": "local", "INPUT_SERVICE": "web", "INPUT_STRATEGY": strategy}
		for _, o := range config.Options {
			if o.Default != "" && vars["INPUT_"+strings.ToUpper(o.Name)] == "" {
				vars["INPUT_"+strings.ToUpper(o.Name)] = o.Default
			}
		}
		for k, v := range set {
			vars[k] = v
		}
		return vars
	}
	cases := []struct {
		name string
		args []string
		vars map[string]string
		want []string // the inputs named
		text string   // and part of the message
	}{
		{"steps by flag with bluegreen", []string{"--strategy=bluegreen", "--steps=10,50,100"}, nil,
			[]string{"steps"}, `does not apply to strategy "bluegreen", only to canary`},
		{"steps by RAMP_STEPS with linear", []string{"--strategy=linear"}, map[string]string{"RAMP_STEPS": "10,50,100"},
			[]string{"steps"}, `strategy "linear"`},
		{"increment with canary", []string{"--increment=20"}, nil, []string{"increment"}, "only to linear"},
		{"hold with immediate", []string{"--strategy=immediate", "--hold=1m"}, nil, []string{"hold"}, "only to canary, linear, bluegreen"},
		{"every one at once", []string{"--strategy=immediate", "--hold=1m", "--steps=5,100", "--increment=5"}, nil,
			[]string{"steps", "increment", "hold"}, ""},
		{"defaults apply to every strategy", []string{"--strategy=bluegreen"}, nil, nil, ""},
		{"hold applies to bluegreen", []string{"--strategy=bluegreen", "--hold=5m"}, nil, nil, ""},
		{"an unknown strategy is left to the planner", []string{"--strategy=yolo", "--steps=5,100", "--increment=5"}, nil, nil, ""},
		{"the action's defaults are not given", nil, runner("bluegreen", nil), nil, ""},
		{"the action's defaults with immediate", nil, runner("immediate", nil), nil, ""},
		{"an action input other than its default is given", nil, runner("bluegreen", map[string]string{"INPUT_STEPS": "5,100"}),
			[]string{"steps"}, `(value "5,100")`},
		{"RAMP_* equal to the default is still given", nil, runner("bluegreen", map[string]string{"RAMP_STEPS": "10,50,100"}),
			[]string{"steps"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := load(t, c.args, c.vars)
			if got := problems(err); !slices.Equal(got, c.want) {
				t.Fatalf("error %v names %q, want %q", err, got, c.want)
			}
			if c.text != "" && !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q lacks %q", err, c.text)
			}
		})
	}
}

func TestActionInputEqualToItsDefaultIsNotGiven(t *testing.T) {
	t.Parallel()
	cases := []struct {
		vars  map[string]string
		given bool
		from  config.Source
	}{
		{map[string]string{"INPUT_MAX-ERROR-RATE": "10"}, false, config.FromDefault},
		{map[string]string{"INPUT_MAX_ERROR_RATE": "10"}, false, config.FromDefault},
		{map[string]string{"INPUT_MAX-ERROR-RATE": "2"}, true, config.FromInput},
		{map[string]string{"RAMP_MAX_ERROR_RATE": "1"}, true, config.FromEnv},
		{nil, false, config.FromDefault},
	}
	for _, c := range cases {
		v, cfg, err := load(t, nil, c.vars)
		if err != nil {
			t.Fatal(err)
		}
		if v.Given("max-error-rate") != c.given || v.From("max-error-rate") != c.from {
			t.Errorf("%v: given %v from %s, want %v from %s", c.vars, v.Given("max-error-rate"), v.From("max-error-rate"), c.given, c.from)
		}
		if cfg.MetricsDefaulted == c.given {
			t.Errorf("%v: MetricsDefaulted = %v", c.vars, cfg.MetricsDefaulted)
		}
	}
}

func TestEveryDurationHasADocumentedMaximum(t *testing.T) {
	t.Parallel()
	var help strings.Builder
	config.PrintHelp(&help, deployCmd)
	n := 0
	for _, o := range config.Options {
		if o.Max == 0 {
			continue
		}
		n++
		want := "(at most " + config.FormatDuration(o.Max) + ")"
		if !strings.Contains(help.String(), "--"+o.Name+"\n      "+o.Usage) || !strings.Contains(help.String(), want) {
			t.Errorf("help of --%s lacks %q", o.Name, want)
		}
		var only []string // an option of one strategy, given with it
		if o.Name == "duration" {
			only = []string{"--strategy=ab"}
		}
		_, _, err := load(t, append([]string{"--" + o.Name + "=" + (o.Max + 1).String()}, only...), nil)
		if got := problems(err); !slices.Equal(got, []string{o.Name}) {
			t.Errorf("--%s one nanosecond over its maximum: error %v", o.Name, err)
		}
		if _, _, err := load(t, append([]string{"--" + o.Name + "=" + o.Max.String()}, only...), nil); err != nil {
			t.Errorf("--%s at its maximum: %v", o.Name, err)
		}
	}
	if n != 16 {
		t.Errorf("%d options have a maximum, want the 16 duration options", n)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[string]string{"24h": "24h", "1h30m": "1h30m", "90s": "1m30s", "168h": "168h", "1h0m1s": "1h0m1s", "0s": "0s", "100ms": "100ms"} {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := config.FormatDuration(dur); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestRollingOptionsApplyToRollingOnly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want []string // each in the error; none means no error
	}{
		{"rolling with its options", []string{"--strategy=rolling", "--max-surge=1", "--max-unavailable=0", "--replicas=3", "--hold=5s"}, nil},
		{"max-surge with canary", []string{"--strategy=canary", "--max-surge=1"}, []string{`input "max-surge"`, `only to rolling`}},
		{"max-unavailable with linear", []string{"--strategy=linear", "--max-unavailable=50%"}, []string{`input "max-unavailable"`, `only to rolling`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, cfg, err := load(t, append([]string{"--provider=local", "--service=web", "--image=./web"}, c.args...), nil)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if s := cfg.Rollout.Strategy; s.MaxSurge != "1" || s.MaxUnavailable != "0" || cfg.Target.Replicas != 3 {
					t.Errorf("rolling spec %+v, replicas %d", s, cfg.Target.Replicas)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
