package strategies_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/strategies"
)

// TestABPlans: an A/B test shifts once, with its routing, holds for the
// duration, concludes as on-finish says (keep by default) and only then
// may promote.
func TestABPlans(t *testing.T) {
	t.Parallel()
	base := strategies.Spec{Strategy: strategies.AB, Interval: time.Minute, FailureThreshold: 2, Duration: time.Hour}
	for _, c := range []struct {
		name  string
		edit  func(*strategies.Spec)
		steps []strategies.Step
	}{
		{"weighted, sticky", func(s *strategies.Spec) { s.ABWeight = 50 }, []strategies.Step{
			{Kind: strategies.KindShift, Weight: 50, Match: []string{}, Sticky: true},
			{Kind: strategies.KindAnalyze, Weight: 50, Hold: time.Hour},
			{Kind: strategies.KindConclude, Weight: 50, OnFinish: strategies.OnFinishKeep},
			{Kind: strategies.KindPromote, Weight: 100}}},
		{"match only", func(s *strategies.Spec) {
			s.Match, s.OnFinish = []string{"cookie:variant=b", "header:x-beta=1"}, "promote-winner"
		},
			[]strategies.Step{
				{Kind: strategies.KindShift, Match: []string{"cookie:variant=b", "header:X-Beta=1"}},
				{Kind: strategies.KindAnalyze, Hold: time.Hour},
				{Kind: strategies.KindConclude, OnFinish: strategies.OnFinishPromoteWinner},
				{Kind: strategies.KindPromote, Weight: 100}}},
	} {
		s := base
		c.edit(&s)
		p, err := strategies.New(s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if diff := cmp.Diff(c.steps, p.Steps); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", c.name, diff)
		}
		if !p.Routes() || p.RoutingAt(2).Empty() || !p.RoutingAt(0).Empty() {
			t.Errorf("%s: routing by request not seen where the shift sets it", c.name)
		}
	}
}

// TestABBadSpec names every bad A/B setting at once.
func TestABBadSpec(t *testing.T) {
	t.Parallel()
	_, err := strategies.New(strategies.Spec{Strategy: strategies.AB, Interval: time.Minute, FailureThreshold: 2,
		Match: []string{"path:/b=1", "header:X-Variant"}, ABWeight: 100, Duration: time.Second, OnFinish: "promote"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`"path:/b=1"`, `"header:X-Variant"`, `input "ab-weight"`, `input "duration"`, `input "on-finish"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	_, err = strategies.New(strategies.Spec{Strategy: strategies.AB, Interval: time.Minute, FailureThreshold: 2, Duration: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "would send the candidate nothing") {
		t.Errorf("no cohort: %v", err)
	}
}

// TestPlanSaysWhatWaits: a plan that stops for a person or a result before
// its promotion says so, and its promote step after an A/B conclusion says
// when it is reached; a plan that promotes by itself says nothing.
func TestPlanSaysWhatWaits(t *testing.T) {
	t.Parallel()
	steps := func(raw string) []strategies.Target {
		ts, err := strategies.ParseSteps(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	for _, c := range []struct {
		spec        strategies.Spec
		waits, note string
	}{
		{strategies.Spec{Strategy: strategies.AB, ABWeight: 50}, "pauses when it concludes (on-finish keep)", "once a person promotes or resumes"},
		{strategies.Spec{Strategy: strategies.AB, ABWeight: 50, OnFinish: "promote-winner"}, "promotes only if the candidate wins", "if the candidate wins"},
		{strategies.Spec{Strategy: strategies.AB, ABWeight: 50, OnFinish: "rollback"}, "does not promote", "not reached"},
		{strategies.Spec{Strategy: "canary", Steps: steps("10,pause,100")}, "pauses at 10% until ramp resume or ramp promote", ""},
		{strategies.Spec{Strategy: "canary", Steps: steps("10,50,100")}, "", ""},
	} {
		s := c.spec
		s.Interval, s.FailureThreshold, s.Duration = time.Minute, 2, time.Hour
		p, err := strategies.New(s)
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		waits := p.Waits()
		if (c.waits == "") != (waits == "") || !strings.Contains(waits, c.waits) {
			t.Errorf("%s %v %s: waits %q, want %q", s.Strategy, s.Steps, s.OnFinish, waits, c.waits)
		}
		note := p.PromoteNote(len(p.Steps) - 1)
		if (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%s %v %s: promote note %q, want %q", s.Strategy, s.Steps, s.OnFinish, note, c.note)
		}
	}
}
