// Package strategies turns rollout settings into a plan: an ordered list of
// steps (shift the weight or replace a batch of instances, analyse while
// holding, pause, promote, bake). The
// planners are pure functions; the engine executes their plans.
package strategies

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Kind is the kind of a plan step. Every kind is listed in Kinds, checked by
// Step.Validate and handled by one exhaustive switch in the engine.
type Kind string

// The step kinds.
const (
	// KindShift sets the candidate's share of traffic to Weight.
	KindShift Kind = "shift"
	// KindReplace runs the candidate on Instances of the service's
	// instances and the stable version on the rest, which then serve Weight
	// percent and the rest of the traffic; at most Surge instances beyond
	// the full count run meanwhile (the old instances beyond that stop
	// first). Only a providers.Replacer makes it.
	KindReplace Kind = "replace"
	// KindAnalyze holds the current weight for Hold, polling the gates every
	// interval; it passes once Hold has passed and every gate's last check
	// succeeded.
	KindAnalyze Kind = "analyze"
	// KindPause stops the rollout at the current weight until a resume,
	// promote or rollback, from this process or any later one.
	KindPause Kind = "pause"
	// KindPromote makes the candidate stable with all the traffic.
	KindPromote Kind = "promote"
	// KindConclude ends an A/B test's comparison: OnFinish says whether
	// the rollout goes on to promote, rolls back, or pauses for a person.
	KindConclude Kind = "conclude"
	// KindBake watches the gates for Hold after promotion while the previous
	// version is kept warm; a failure switches straight back to it.
	KindBake Kind = "bake"
	// KindFlag turns a feature flag on for Flag percent of users, through
	// the flag backends (see KindFlag's planner in flagstep.go); the
	// candidate keeps Weight. A rollback turns it off again.
	KindFlag Kind = "flag"
)

// Kinds lists every step kind.
var Kinds = []Kind{KindShift, KindReplace, KindAnalyze, KindPause, KindConclude, KindPromote, KindBake, KindFlag}

// Step is one step of a plan.
type Step struct {
	// Kind says what the step does.
	Kind Kind `json:"kind"`
	// Weight is the candidate's share of traffic (percent) during the step.
	Weight int `json:"weight"`
	// Hold is how long an analyze or bake step lasts at least.
	Hold time.Duration `json:"hold,omitempty"`
	// Instances is how many instances run the candidate once a replace
	// step is made.
	Instances int `json:"instances,omitempty"`
	// Surge is how many instances beyond the full count a replace step may
	// run while it is made.
	Surge int `json:"surge,omitempty"`
	// Match and Sticky are a shift's request routing (strategy ab): the
	// match rules whose requests go to the candidate, and whether each
	// client keeps the variant it was first given.
	Match  []string `json:"match,omitempty"`
	Sticky bool     `json:"sticky,omitempty"`
	// OnFinish is a conclude step's decision: keep (also when empty),
	// promote-winner or rollback.
	OnFinish string `json:"on_finish,omitempty"`
	// Flag is the percentage of users a flag step turns the flag on for.
	Flag int `json:"flag,omitempty"`
}

// String describes the step for logs, e.g. "shift to 25%".
func (s Step) String() string {
	switch s.Kind {
	case KindShift:
		if rt := s.Routing(); !rt.Empty() {
			return fmt.Sprintf("shift to %d%% (%s)", s.Weight, rt)
		}
		return fmt.Sprintf("shift to %d%%", s.Weight)
	case KindReplace:
		return fmt.Sprintf("replace %d instances (%d%%)", s.Instances, s.Weight)
	case KindAnalyze:
		return fmt.Sprintf("analyse at %d%% for %s", s.Weight, input.Duration(s.Hold))
	case KindPause:
		return fmt.Sprintf("pause at %d%%", s.Weight)
	case KindConclude:
		return fmt.Sprintf("conclude the A/B test (on-finish %s)", s.OnFinish)
	case KindPromote:
		return "promote to 100%"
	case KindBake:
		return fmt.Sprintf("bake for %s", input.Duration(s.Hold))
	case KindFlag:
		return fmt.Sprintf("turn the flag on for %d%% of users (candidate at %d%%)", s.Flag, s.Weight)
	}
	return fmt.Sprintf("unknown step %q", string(s.Kind))
}

// Validate checks one step on its own.
func (s Step) Validate() error {
	if s.Weight < 0 || s.Weight > 100 {
		return fmt.Errorf("%s: weight %d outside 0..100", s.Kind, s.Weight)
	}
	if s.Hold < 0 {
		return fmt.Errorf("%s: negative hold %s", s.Kind, s.Hold)
	}
	switch s.Kind {
	case KindShift, KindAnalyze, KindPause:
		return nil
	case KindConclude:
		if s.OnFinish != "" && !slices.Contains(OnFinishValues, s.OnFinish) { // empty is keep
			return fmt.Errorf("conclude: on-finish %q, want one of %q", s.OnFinish, OnFinishValues)
		}
		return nil
	case KindReplace:
		if s.Instances < 1 || s.Surge < 0 {
			return fmt.Errorf("replace: %d instances with surge %d, want at least 1 and a surge of 0 or more", s.Instances, s.Surge)
		}
		return nil
	case KindPromote:
		if s.Weight != 100 {
			return fmt.Errorf("promote: weight %d, want 100", s.Weight)
		}
		return nil
	case KindBake:
		if s.Weight != 100 {
			return fmt.Errorf("bake: weight %d, want 100", s.Weight)
		}
		return nil
	case KindFlag:
		if s.Flag < 1 || s.Flag > 100 {
			return fmt.Errorf("flag: %d%% of users, want 1..100", s.Flag)
		}
		return nil
	}
	return fmt.Errorf("unknown step kind %q", s.Kind)
}

// Plan is the ordered steps of one rollout.
type Plan struct {
	// Strategy names the planner.
	Strategy string `json:"strategy"`
	// Steps run in order.
	Steps []Step `json:"steps"`
	// Interval is how often gates are polled during analyze and bake steps.
	Interval time.Duration `json:"interval"`
	// FailureThreshold is how many failed checks in a row roll back.
	FailureThreshold int `json:"failure_threshold"`
}

// Validate checks every step and the order of the plan, listing every problem.
func (p Plan) Validate() error {
	var errs []error
	promoted := false
	weight := 0
	for i, s := range p.Steps {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("step %d: %w", i+1, err))
			continue
		}
		if s.Kind == KindShift || s.Kind == KindReplace {
			if s.Weight <= weight && !(s.Weight == 0 && len(s.Match) > 0) { // match rules alone route a cohort at 0%
				errs = append(errs, fmt.Errorf("step %d: weight %d does not increase from %d", i+1, s.Weight, weight))
			}
			weight = s.Weight
		}
		if promoted && s.Kind != KindBake {
			errs = append(errs, fmt.Errorf("step %d: %s after promote", i+1, s.Kind))
		}
		if s.Kind == KindPromote {
			promoted = true
		}
	}
	if !promoted {
		errs = append(errs, errors.New("plan never promotes"))
	}
	return errors.Join(errs...)
}

// ToPromotion is the least time the plan takes to reach promotion: its
// holds before the promote step, each rounded up to whole intervals since
// gates are checked once an interval. It saturates at MaxDuration rather
// than overflow, whatever the plan holds.
func (p Plan) ToPromotion() time.Duration {
	var d time.Duration
	for _, s := range p.Steps {
		if s.Kind == KindPromote {
			break
		}
		d = addSat(d, p.HoldTime(s))
	}
	return d
}

// Waits says what, before the promotion, holds the plan for a person or a
// result, for `ramp plan`: "" when it reaches the promotion by itself (its
// gates passing).
func (p Plan) Waits() string {
	for _, s := range p.Steps {
		switch s.Kind {
		case KindPromote:
			return ""
		case KindPause:
			return fmt.Sprintf("it pauses at %d%% until ramp resume or ramp promote", s.Weight)
		case KindConclude:
			return concludeWaits(s.OnFinish)
		}
	}
	return ""
}

// concludeWaits is what an A/B test's conclusion leaves the promotion to.
func concludeWaits(onFinish string) string {
	switch onFinish {
	case OnFinishPromoteWinner:
		return "it promotes only if the candidate wins the A/B test (a winning stable is rolled back to; with no winner it pauses)"
	case OnFinishRollback:
		return "it does not promote: on-finish rollback rolls back when the test concludes"
	}
	return "the A/B test pauses when it concludes (on-finish keep), until ramp promote, ramp rollback or ramp resume"
}

// PromoteNote qualifies the promote step at index i for `ramp plan` when a
// conclusion comes before it: when it is reached; "" otherwise.
func (p Plan) PromoteNote(i int) string {
	if i <= 0 || i >= len(p.Steps) || p.Steps[i].Kind != KindPromote || p.Steps[i-1].Kind != KindConclude {
		return ""
	}
	switch p.Steps[i-1].OnFinish {
	case OnFinishPromoteWinner:
		return "if the candidate wins"
	case OnFinishRollback:
		return "not reached: on-finish rollback"
	}
	return "once a person promotes or resumes"
}

// HoldTime is how long the step holds at the least: its hold rounded up to
// whole intervals (analyze and bake steps), or nothing. It saturates at
// MaxDuration.
func (p Plan) HoldTime(s Step) time.Duration {
	if (s.Kind != KindAnalyze && s.Kind != KindBake) || s.Hold <= 0 || p.Interval <= 0 {
		return 0
	}
	n := s.Hold / p.Interval
	if s.Hold%p.Interval != 0 {
		n++
	}
	return mulSat(p.Interval, int64(n))
}

// WorstRollback is the longest a failing candidate keeps traffic once it
// starts failing: interval × failure threshold, saturating at MaxDuration.
func (p Plan) WorstRollback() time.Duration {
	return mulSat(max(p.Interval, 0), int64(max(p.FailureThreshold, 1)))
}

// MaxDuration is where the plan's arithmetic saturates: about 292 years.
const MaxDuration = time.Duration(math.MaxInt64)

// addSat returns a+b for non-negative a and b, or MaxDuration if that
// overflows.
func addSat(a, b time.Duration) time.Duration {
	if a > MaxDuration-b {
		return MaxDuration
	}
	return a + b
}

// mulSat returns d×n for non-negative d and n, or MaxDuration if that
// overflows.
func mulSat(d time.Duration, n int64) time.Duration {
	if n != 0 && int64(d) > math.MaxInt64/n {
		return MaxDuration
	}
	return d * time.Duration(n)
}
