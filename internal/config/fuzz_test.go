package config_test

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/strategies"
)

// FuzzParse feeds arbitrary values to the options that are parsed rather
// than taken as they are: the step and hold lists, env pairs, durations and
// numbers, as RAMP_* variables. Parse never panics; every problem is an
// input error naming a real option; and a configuration that parses stays
// within every documented bound, is stored and read back unchanged, and
// plans without a negative time.
func FuzzParse(f *testing.F) {
	f.Add("canary", "10,50,100", "", "A=1", "1m", "1", "100")
	f.Fuzz(func(t *testing.T, strategy, steps, hold, envPairs, interval, errRate, ratio string) {
		vars := map[string]string{"RAMP_PROVIDER": "local", "RAMP_IMAGE": "./web", "RAMP_STRATEGY": strategy, "RAMP_STEPS": steps,
			"RAMP_HOLD": hold, "RAMP_ENV": envPairs, "RAMP_INTERVAL": interval, "RAMP_BAKE": interval, "RAMP_MAX_ERROR_RATE": errRate,
			"RAMP_PROBE_SUCCESS_RATIO": ratio, "RAMP_MAX_LATENCY_P99": hold, "RAMP_ROLLBACK_WINDOW": interval}
		v, err := config.Load(deployCmd, nil, env(vars), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse(v)
		if err != nil {
			checkProblems(t, err)
			return
		}
		checkBounds(t, c)
		stored := c.Rollout.Encode() // must not panic, whatever parsed
		p, err := strategies.New(c.Rollout.Strategy)
		if err != nil {
			if !input.Is(err) {
				t.Fatalf("New: %v is not an input error", err)
			}
			return
		}
		if p.ToPromotion() < 0 || p.WorstRollback() < 0 {
			t.Fatalf("plan %+v: ToPromotion %s, WorstRollback %s", p, p.ToPromotion(), p.WorstRollback())
		}
		// What deploy stores (a configuration that plans) is what a later
		// process reads back.
		got, err := config.DecodeRollout(stored)
		if err != nil || !cmp.Equal(c.Rollout, got) {
			t.Fatalf("rollout %+v stored and read back: %+v, %v", c.Rollout, got, err)
		}
	})
}

// checkProblems fails t unless every problem err joins is an *input.Error
// naming an option.
func checkProblems(t *testing.T, err error) {
	t.Helper()
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			checkProblems(t, e)
		}
		return
	}
	ie, ok := errors.AsType[*input.Error](err)
	if !ok {
		t.Fatalf("%v is not an input error", err)
	}
	if _, ok := config.Lookup(ie.Input); !ok {
		t.Fatalf("%v names %q, which is no option", err, ie.Input)
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkBounds fails t if a parsed configuration leaves a documented bound.
func checkBounds(t *testing.T, c config.Config) {
	t.Helper()
	s, g := c.Rollout.Strategy, c.Rollout.Gates
	durations := map[string]int64{"interval": int64(s.Interval), "bake": int64(s.Bake), "max-latency-p99": int64(g.MaxP99),
		"rollback-window": int64(c.RollbackWindow)}
	for _, h := range s.Holds {
		durations["hold"] = max(durations["hold"], int64(h))
	}
	for name, d := range durations {
		if o, _ := config.Lookup(name); d < 0 || d > int64(o.Max) {
			t.Fatalf("%s = %d outside 0..%s", name, d, o.Max)
		}
	}
	for _, f := range []float64{g.MaxErrorRate, g.Probe.SuccessRatio} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			t.Fatalf("a threshold is %v", f)
		}
	}
	for _, kv := range c.Artifact.Env {
		k, val, _ := strings.Cut(kv, "=")
		if !envName.MatchString(k) || k == "PORT" || strings.ContainsAny(val, "\x00\r\n") {
			t.Fatalf("env entry %q accepted", kv)
		}
	}
}
