package strategies_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/strategies"
)

// FuzzParseSteps: any steps input either parses, and then reads back the
// same when written out again and plans without a panic or a negative
// time, or is refused with an input error naming steps.
func FuzzParseSteps(f *testing.F) {
	f.Add("10,50,100")
	f.Add("5,flag:25,50,100")
	f.Fuzz(func(t *testing.T, raw string) {
		ts, err := strategies.ParseSteps(raw)
		if err != nil {
			if ie, ok := errorsAsInput(err); !ok || ie.Input != "steps" {
				t.Fatalf("ParseSteps(%q) = %v: not an input error naming steps", raw, err)
			}
			return
		}
		parts := make([]string, len(ts))
		for i, s := range ts {
			if s.Pause && s.Weight != 0 {
				t.Fatalf("ParseSteps(%q): a pause with weight %d", raw, s.Weight)
			}
			parts[i] = strconv.Itoa(s.Weight)
			switch {
			case s.Pause:
				parts[i] = "pause"
			case s.Flag == 100:
				parts[i] = "flag"
			case s.Flag > 0:
				parts[i] = "flag:" + strconv.Itoa(s.Flag)
			}
		}
		again, err := strategies.ParseSteps(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, ts) {
			t.Fatalf("ParseSteps(%q) = %v, written out and read again: %v, %v", raw, ts, again, err)
		}
		planWithin(t, strategies.Spec{Strategy: "canary", Steps: ts, Interval: time.Second, FailureThreshold: 1})
	})
}

// FuzzParseHolds: a hold list that parses holds no negative duration and
// reads back the same when written out again.
func FuzzParseHolds(f *testing.F) {
	f.Add("30s,2m")
	f.Fuzz(func(t *testing.T, raw string) {
		ds, err := strategies.ParseHolds(raw)
		if err != nil {
			if ie, ok := errorsAsInput(err); !ok || ie.Input != "hold" {
				t.Fatalf("ParseHolds(%q) = %v: not an input error naming hold", raw, err)
			}
			return
		}
		parts := make([]string, len(ds))
		for i, d := range ds {
			if d < 0 {
				t.Fatalf("ParseHolds(%q) holds %s", raw, d)
			}
			parts[i] = d.String()
		}
		again, err := strategies.ParseHolds(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, ds) {
			t.Fatalf("ParseHolds(%q) = %v, written out and read again: %v, %v", raw, ds, again, err)
		}
		for _, s := range []string{"linear", "bluegreen"} {
			planWithin(t, strategies.Spec{Strategy: s, Holds: ds[:1], Increment: 7, Interval: 3 * time.Second, FailureThreshold: 100})
		}
	})
}

// planWithin plans s and checks that the plan's times are never negative.
func planWithin(t *testing.T, s strategies.Spec) {
	t.Helper()
	p, err := strategies.New(s)
	if err != nil {
		if !input.Is(err) {
			t.Fatalf("New(%+v) = %v: not an input error", s, err)
		}
		return
	}
	if p.ToPromotion() < 0 || p.WorstRollback() < 0 {
		t.Fatalf("New(%+v): ToPromotion %s, WorstRollback %s", s, p.ToPromotion(), p.WorstRollback())
	}
	for _, st := range p.Steps {
		if h := p.HoldTime(st); h < st.Hold {
			t.Fatalf("New(%+v): HoldTime(%s) = %s", s, st, h)
		}
	}
}

// errorsAsInput returns the first *input.Error in err when every problem
// err joins is one.
func errorsAsInput(err error) (*input.Error, bool) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var first *input.Error
		for _, e := range j.Unwrap() {
			ie, ok := errorsAsInput(e)
			if !ok {
				return nil, false
			}
			if first == nil {
				first = ie
			}
		}
		return first, first != nil
	}
	ie, ok := err.(*input.Error)
	return ie, ok
}
