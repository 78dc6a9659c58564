package strategies_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/strategies"
)

func TestRollingBatches(t *testing.T) {
	t.Parallel()
	replace := func(k, w, surge int) strategies.Step {
		return strategies.Step{Kind: strategies.KindReplace, Instances: k, Weight: w, Surge: surge}
	}
	analyze := func(w int) strategies.Step { return strategies.Step{Kind: strategies.KindAnalyze, Weight: w, Hold: m} }
	promote := strategies.Step{Kind: strategies.KindPromote, Weight: 100}
	cases := []struct {
		name               string
		n                  int
		surge, unavailable string
		want               []strategies.Step
	}{
		{"4 instances, max-unavailable 1", 4, "0", "1",
			[]strategies.Step{replace(1, 25, 0), analyze(25), replace(2, 50, 0), analyze(50), replace(3, 75, 0), analyze(75), replace(4, 100, 0), promote}},
		{"4 instances, max-surge 1", 4, "1", "0",
			[]strategies.Step{replace(1, 25, 1), analyze(25), replace(2, 50, 1), analyze(50), replace(3, 75, 1), analyze(75), replace(4, 100, 1), promote}},
		{"4 instances, one of each: batches of 2", 4, "1", "1",
			[]strategies.Step{replace(2, 50, 1), analyze(50), replace(4, 100, 1), promote}},
		{"Kubernetes defaults 25%/25% of 4: batches of 2", 4, "25%", "25%",
			[]strategies.Step{replace(2, 50, 1), analyze(50), replace(4, 100, 1), promote}},
		{"surge rounds up: 10% of 3 is 1", 3, "10%", "0",
			[]strategies.Step{replace(1, 33, 1), analyze(33), replace(2, 67, 1), analyze(67), replace(3, 100, 1), promote}},
		{"unavailable rounds down: 50% of 3 is 1", 3, "0", "50%",
			[]strategies.Step{replace(1, 33, 0), analyze(33), replace(2, 67, 0), analyze(67), replace(3, 100, 0), promote}},
		{"both round to nothing: unavailable becomes 1", 3, "0%", "20%",
			[]strategies.Step{replace(1, 33, 0), analyze(33), replace(2, 67, 0), analyze(67), replace(3, 100, 0), promote}},
		{"a last batch smaller than the others", 5, "2", "0",
			[]strategies.Step{replace(2, 40, 2), analyze(40), replace(4, 80, 2), analyze(80), replace(5, 100, 2), promote}},
		{"one instance: one batch", 1, "1", "0", []strategies.Step{replace(1, 100, 1), promote}},
		{"a batch larger than the service", 2, "100%", "100%", []strategies.Step{replace(2, 100, 2), promote}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			plan, err := strategies.New(strategies.Spec{Strategy: strategies.Rolling, Instances: c.n, MaxSurge: c.surge,
				MaxUnavailable: c.unavailable, Interval: m, FailureThreshold: 2})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, plan.Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRollingBadSpecs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec strategies.Spec
		want []string
	}{
		{"both zero", strategies.Spec{Instances: 4, MaxSurge: "0", MaxUnavailable: "0%"},
			[]string{`input "max-surge"`, "both zero"}},
		{"both empty", strategies.Spec{Instances: 4}, []string{`input "max-surge"`, "both zero"}},
		{"not a count", strategies.Spec{Instances: 4, MaxSurge: "one", MaxUnavailable: "-1"},
			[]string{`input "max-surge"`, `"one"`, "neither a count", `input "max-unavailable"`, "negative"}},
		{"percentage over 100", strategies.Spec{Instances: 4, MaxUnavailable: "150%"}, []string{`input "max-unavailable"`, "over 100%"}},
		{"no instances", strategies.Spec{MaxSurge: "1"}, []string{`input "replicas"`, "at least 1"}},
		{"a bake", strategies.Spec{Instances: 2, MaxSurge: "1", Bake: m}, []string{`input "bake"`, "none is kept warm"}},
		{"a hold per batch", strategies.Spec{Instances: 2, MaxSurge: "1", Holds: []time.Duration{m, m}}, []string{`input "hold"`, "one hold"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.spec.Strategy, c.spec.Interval, c.spec.FailureThreshold = strategies.Rolling, m, 2
			_, err := strategies.New(c.spec)
			if err == nil || !input.Is(err) {
				t.Fatalf("New = %v, want an input error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestInstanceWeight(t *testing.T) {
	t.Parallel()
	cases := []struct{ k, n, want int }{
		{0, 4, 0}, {1, 4, 25}, {3, 4, 75}, {4, 4, 100}, {1, 3, 33}, {2, 3, 67}, {1, 300, 1}, {299, 300, 99}, {1, 0, 0},
	}
	for _, c := range cases {
		if got := strategies.InstanceWeight(c.k, c.n); got != c.want {
			t.Errorf("InstanceWeight(%d, %d) = %d, want %d", c.k, c.n, got, c.want)
		}
	}
}
