package strategies

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// canary shifts through explicit weights, analysing at each one.
func canary(s Spec) ([]Step, error) {
	raw := formatSteps(s.Steps)
	var errs []error
	if len(s.Steps) == 0 {
		return nil, input.Missing("steps")
	}
	var weights []int
	prev := 0
	for _, t := range s.Steps {
		if t.Pause || t.Flag > 0 {
			continue
		}
		switch {
		case t.Weight < 1 || t.Weight > 100:
			errs = append(errs, input.Invalid("steps", raw, "weight %d is outside 1..100", t.Weight))
		case t.Weight <= prev:
			errs = append(errs, input.Invalid("steps", raw, "weight %d does not increase from %d", t.Weight, prev))
		}
		prev = max(prev, t.Weight)
		weights = append(weights, t.Weight)
	}
	if len(weights) == 0 || weights[len(weights)-1] != 100 {
		errs = append(errs, input.Invalid("steps", raw, "must end at 100"))
	}
	holdFor, err := holds(s, len(weights)-1) // no hold at 100: that is the promotion
	if err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkFlagSteps(s.Steps, raw))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var steps []Step
	weight, i := 0, 0
	for _, t := range s.Steps {
		if t.Pause {
			steps = append(steps, Step{Kind: KindPause, Weight: weight})
			continue
		}
		if t.Flag > 0 {
			steps = append(steps, flagSteps(t, weight, s.Interval)...)
			continue
		}
		weight = t.Weight
		if weight < 100 {
			steps = append(steps, Step{Kind: KindShift, Weight: weight}, Step{Kind: KindAnalyze, Weight: weight, Hold: holdFor(i)})
		}
		i++
	}
	return append(steps, Step{Kind: KindPromote, Weight: 100}), nil
}

// holds returns the hold of weight step i: one for all, one per step, or
// the interval when none is given.
func holds(s Spec, n int) (func(int) time.Duration, error) {
	switch len(s.Holds) {
	case 0:
		return func(int) time.Duration { return s.Interval }, nil
	case 1:
		return func(int) time.Duration { return s.Holds[0] }, nil
	case n:
		return func(i int) time.Duration { return s.Holds[i] }, nil
	}
	return nil, input.Invalid("hold", formatHolds(s.Holds), "has %d durations for %d steps below 100; give one, or one per step", len(s.Holds), n)
}

// linear adds Increment percent at every step.
func linear(s Spec) ([]Step, error) {
	if s.Increment < 1 || s.Increment > 99 {
		return nil, input.Invalid("increment", strconv.Itoa(s.Increment), "must be within 1..99")
	}
	hold := s.Interval
	if len(s.Holds) == 1 {
		hold = s.Holds[0]
	} else if len(s.Holds) > 1 {
		return nil, input.Invalid("hold", formatHolds(s.Holds), "linear takes one hold for every step")
	}
	var steps []Step
	for w := s.Increment; w < 100; w += s.Increment {
		steps = append(steps, Step{Kind: KindShift, Weight: w}, Step{Kind: KindAnalyze, Weight: w, Hold: hold})
	}
	return append(steps, Step{Kind: KindPromote, Weight: 100}), nil
}

// blueGreen tests the candidate on its own address at 0%, then moves all
// the traffic at once; the old version stays warm through the bake.
func blueGreen(s Spec) ([]Step, error) {
	hold := s.Interval
	if len(s.Holds) == 1 {
		hold = s.Holds[0]
	} else if len(s.Holds) > 1 {
		return nil, input.Invalid("hold", formatHolds(s.Holds), "bluegreen takes one hold for the test at 0%%")
	}
	return []Step{{Kind: KindAnalyze, Weight: 0, Hold: hold}, {Kind: KindPromote, Weight: 100}}, nil
}

// immediate moves all the traffic once the candidate passes one check.
func immediate(Spec) ([]Step, error) {
	return []Step{{Kind: KindAnalyze, Weight: 0}, {Kind: KindPromote, Weight: 100}}, nil
}

func formatSteps(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		if t.Pause {
			parts[i] = "pause"
		} else if t.Flag > 0 {
			parts[i] = formatFlagStep(t)
		} else {
			parts[i] = strconv.Itoa(t.Weight)
		}
	}
	return strings.Join(parts, ",")
}

func formatHolds(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}
