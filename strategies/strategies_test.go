package strategies_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/strategies"
)

const m = time.Minute

func steps(t *testing.T, raw string) []strategies.Target {
	t.Helper()
	ts, err := strategies.ParseSteps(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestPlans(t *testing.T) {
	t.Parallel()
	shift := func(w int) strategies.Step { return strategies.Step{Kind: strategies.KindShift, Weight: w} }
	analyze := func(w int, d time.Duration) strategies.Step {
		return strategies.Step{Kind: strategies.KindAnalyze, Weight: w, Hold: d}
	}
	promote := strategies.Step{Kind: strategies.KindPromote, Weight: 100}
	cases := []struct {
		name      string
		spec      strategies.Spec
		want      []strategies.Step
		promotion time.Duration
	}{
		{"canary with one hold", strategies.Spec{Strategy: "canary", Steps: steps(t, "5,25,50,100"), Holds: []time.Duration{2 * m}},
			[]strategies.Step{shift(5), analyze(5, 2*m), shift(25), analyze(25, 2*m), shift(50), analyze(50, 2*m), promote}, 6 * m},
		{"canary with a hold per step", strategies.Spec{Strategy: "canary", Steps: steps(t, "10, 50%, 100"), Holds: []time.Duration{m, 5 * m}},
			[]strategies.Step{shift(10), analyze(10, m), shift(50), analyze(50, 5*m), promote}, 6 * m},
		{"canary holds default to the interval", strategies.Spec{Strategy: "canary", Steps: steps(t, "20,100")},
			[]strategies.Step{shift(20), analyze(20, m), promote}, m},
		{"canary with a manual pause", strategies.Spec{Strategy: "canary", Steps: steps(t, "10,pause,100")},
			[]strategies.Step{shift(10), analyze(10, m), {Kind: strategies.KindPause, Weight: 10}, promote}, m},
		{"canary with a bake", strategies.Spec{Strategy: "canary", Steps: steps(t, "50,100"), Bake: 10 * m},
			[]strategies.Step{shift(50), analyze(50, m), promote, {Kind: strategies.KindBake, Weight: 100, Hold: 10 * m}}, m},
		{"linear", strategies.Spec{Strategy: "linear", Increment: 30},
			[]strategies.Step{shift(30), analyze(30, m), shift(60), analyze(60, m), shift(90), analyze(90, m), promote}, 3 * m},
		{"linear with a hold", strategies.Spec{Strategy: "linear", Increment: 50, Holds: []time.Duration{3 * m}},
			[]strategies.Step{shift(50), analyze(50, 3*m), promote}, 3 * m},
		{"bluegreen", strategies.Spec{Strategy: "bluegreen", Bake: 15 * m},
			[]strategies.Step{analyze(0, m), promote, {Kind: strategies.KindBake, Weight: 100, Hold: 15 * m}}, m},
		{"immediate", strategies.Spec{Strategy: "immediate"}, []strategies.Step{analyze(0, 0), promote}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.spec.Interval, c.spec.FailureThreshold = m, 3
			plan, err := strategies.New(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, plan.Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if got := plan.ToPromotion(); got != c.promotion {
				t.Errorf("ToPromotion = %s, want %s", got, c.promotion)
			}
			if got := plan.WorstRollback(); got != 3*m {
				t.Errorf("WorstRollback = %s, want 3m (interval x failure-threshold)", got)
			}
		})
	}
}

func TestBadSpecs(t *testing.T) {
	t.Parallel()
	base := strategies.Spec{Strategy: "canary", Interval: m, FailureThreshold: 2}
	cases := []struct {
		name   string
		mutate func(*strategies.Spec)
		want   []string // each must appear in the joined error
	}{
		{"weight over 100", func(s *strategies.Spec) { s.Steps = steps(t, "5,120") }, []string{`input "steps"`, "weight 120 is outside 1..100", `"5,120"`}},
		{"weight zero", func(s *strategies.Spec) { s.Steps = steps(t, "0,100") }, []string{`input "steps"`, "weight 0 is outside 1..100"}},
		{"not increasing", func(s *strategies.Spec) { s.Steps = steps(t, "50,20,100") }, []string{`input "steps"`, "weight 20 does not increase from 50"}},
		{"not ending at 100", func(s *strategies.Spec) { s.Steps = steps(t, "10,50") }, []string{`input "steps"`, "must end at 100", `"10,50"`}},
		{"no steps", func(s *strategies.Spec) { s.Steps = nil }, []string{`input "steps": is required`}},
		{"holds do not match", func(s *strategies.Spec) {
			s.Steps, s.Holds = steps(t, "10,50,100"), []time.Duration{m, m, m}
		}, []string{`input "hold"`, "3 durations for 2 steps below 100"}},
		{"bad interval", func(s *strategies.Spec) { s.Steps, s.Interval = steps(t, "100"), 0 }, []string{`input "interval"`, "must be at least 100ms"}},
		{"interval too short", func(s *strategies.Spec) { s.Steps, s.Interval = steps(t, "100"), time.Nanosecond }, []string{`input "interval"`, `"1ns"`}},
		{"failure threshold out of range", func(s *strategies.Spec) { s.Steps, s.FailureThreshold = steps(t, "100"), 0 }, []string{`input "failure-threshold"`, "1..100", `"0"`}},
		{"negative bake", func(s *strategies.Spec) { s.Steps, s.Bake = steps(t, "100"), -m }, []string{`input "bake"`}},
		{"unknown strategy", func(s *strategies.Spec) { s.Strategy = "yolo" }, []string{`input "strategy"`, `"yolo"`, `["ab" "bluegreen" "canary" "immediate" "linear" "rolling"]`}},
		{"linear increment", func(s *strategies.Spec) { s.Strategy, s.Increment = "linear", 0 }, []string{`input "increment"`, "1..99"}},
		{"every problem at once", func(s *strategies.Spec) {
			s.Steps, s.Interval, s.FailureThreshold = steps(t, "120,50"), -m, 500
		}, []string{`input "steps"`, "120 is outside", "50 does not increase", `input "interval"`, `input "failure-threshold"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := base
			c.mutate(&s)
			_, err := strategies.New(s)
			if err == nil {
				t.Fatal("no error")
			}
			if !input.Is(err) {
				t.Errorf("%v: not an input error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseInputs(t *testing.T) {
	t.Parallel()
	if _, err := strategies.ParseSteps("5,ten,100"); err == nil || !strings.Contains(err.Error(), `"ten" is neither a weight nor "pause"`) {
		t.Errorf("ParseSteps(ten) = %v", err)
	}
	if _, err := strategies.ParseHolds("1m,soon"); err == nil || !strings.Contains(err.Error(), `input "hold"`) {
		t.Errorf("ParseHolds(soon) = %v", err)
	}
	got, err := strategies.ParseHolds("30s, 2m")
	if err != nil || !cmp.Equal(got, []time.Duration{30 * time.Second, 2 * m}) {
		t.Errorf("ParseHolds = %v, %v", got, err)
	}
}

func TestValidateWalksEveryKind(t *testing.T) {
	t.Parallel()
	for _, k := range strategies.Kinds {
		w := 0
		if k == strategies.KindPromote || k == strategies.KindBake {
			w = 100
		}
		n := 0
		if k == strategies.KindReplace {
			n = 1
		}
		f := 0
		if k == strategies.KindFlag {
			f = 100
		}
		if err := (strategies.Step{Kind: k, Weight: w, Instances: n, Flag: f}).Validate(); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		if s := (strategies.Step{Kind: k}).String(); strings.HasPrefix(s, "unknown") {
			t.Errorf("%s has no description", k)
		}
	}
	err := strategies.Step{Kind: "teleport"}.Validate()
	if err == nil || !strings.Contains(err.Error(), `unknown step kind "teleport"`) {
		t.Errorf("unknown kind: %v", err)
	}
	err = strategies.Plan{Steps: []strategies.Step{{Kind: strategies.KindShift, Weight: 10}}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "never promotes") {
		t.Errorf("plan without promote: %v", err)
	}
}

func TestHoldsRoundUpToIntervals(t *testing.T) {
	t.Parallel()
	plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: steps(t, "10,50,100"),
		Holds: []time.Duration{30 * time.Second, 90 * time.Second}, Interval: m, FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.ToPromotion(); got != 3*m {
		t.Errorf("ToPromotion = %s, want 3m (30s rounds up to 1m, 90s to 2m: gates are checked once a minute)", got)
	}
}

func TestPlanArithmeticSaturates(t *testing.T) {
	t.Parallel()
	huge := strategies.MaxDuration / 3
	cases := []struct {
		name      string
		spec      strategies.Spec
		promotion time.Duration
		rollback  time.Duration
	}{
		{"holds that overflow when summed", strategies.Spec{Strategy: "canary", Steps: steps(t, "10,20,30,40,100"),
			Holds: []time.Duration{huge}, Interval: m, FailureThreshold: 2}, strategies.MaxDuration, 2 * m},
		{"a hold that overflows when rounded up", strategies.Spec{Strategy: "linear", Increment: 50,
			Holds: []time.Duration{strategies.MaxDuration - 1}, Interval: 7 * time.Second, FailureThreshold: 1},
			strategies.MaxDuration, 7 * time.Second},
		{"interval x failure-threshold overflows", strategies.Spec{Strategy: "bluegreen", Interval: huge, FailureThreshold: 100},
			huge, strategies.MaxDuration},
		{"7000000000s", strategies.Spec{Strategy: "canary", Steps: steps(t, "10,50,100"),
			Holds: []time.Duration{7000000000 * time.Second}, Interval: m, FailureThreshold: 2}, strategies.MaxDuration, 2 * m},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			plan, err := strategies.New(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.ToPromotion(); got != c.promotion {
				t.Errorf("ToPromotion = %s, want %s", got, c.promotion)
			}
			if got := plan.WorstRollback(); got != c.rollback {
				t.Errorf("WorstRollback = %s, want %s", got, c.rollback)
			}
			for _, s := range plan.Steps {
				if got := plan.HoldTime(s); got < 0 || got < s.Hold {
					t.Errorf("HoldTime(%s) = %s: below the hold", s, got)
				}
			}
		})
	}
}

func TestParseHoldsListsEveryBadEntry(t *testing.T) {
	t.Parallel()
	_, err := strategies.ParseHolds("soon, -1m, 30s, later")
	for _, w := range []string{`"soon" is not a duration`, `"-1m" must not be negative`, `"later" is not a duration`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("ParseHolds error %v lacks %q", err, w)
		}
	}
	if err != nil && strings.Contains(err.Error(), `"30s"`) {
		t.Errorf("ParseHolds error %v names the good entry", err)
	}
}
