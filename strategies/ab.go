package strategies

import (
	"errors"
	"slices"
	"strconv"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// AB names the A/B test strategy: the candidate serves a cohort (the
// requests match rules pick, a weight's share of the clients, or both) for
// Duration while both variants are compared, then OnFinish decides. Its
// shift needs a provider that routes by request (providers.RequestRouter).
const AB = "ab"

// The values of on-finish: what an A/B test does once its duration is over.
const (
	// OnFinishKeep leaves both variants serving, paused: nothing moves
	// without a person (ramp promote, ramp rollback or ramp resume).
	OnFinishKeep = "keep"
	// OnFinishPromoteWinner promotes a winning candidate, rolls back to a
	// winning stable, and with no winner pauses as keep does.
	OnFinishPromoteWinner = "promote-winner"
	// OnFinishRollback ends the test with the stable serving everything.
	OnFinishRollback = "rollback"
)

// OnFinishValues lists the values of on-finish.
var OnFinishValues = []string{OnFinishKeep, OnFinishPromoteWinner, OnFinishRollback}

// ab plans an A/B test: shift to ABWeight with the match rules (a weight
// strictly between 0 and 100 keeps each client on its variant: sticky),
// analyse for Duration, conclude as OnFinish says, then promote (reached
// by a winning candidate, or by a person resuming a kept test).
func ab(s Spec) ([]Step, error) {
	var errs []error
	rules, err := providers.ParseMatch(s.Match)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case s.ABWeight < 0 || s.ABWeight > 99:
		errs = append(errs, input.Invalid("ab-weight", strconv.Itoa(s.ABWeight), "must be within 0..99: the share of clients the candidate serves during the test"))
	case s.ABWeight == 0 && len(s.Match) == 0:
		errs = append(errs, input.Invalid("ab-weight", "0", "with no match rules would send the candidate nothing; give match rules, a weight, or both"))
	}
	if s.Duration < s.Interval {
		errs = append(errs, input.Invalid("duration", s.Duration.String(), "must be at least the interval (%s): the test needs a window to compare", s.Interval))
	}
	onFinish := s.OnFinish
	if onFinish == "" {
		onFinish = OnFinishKeep
	}
	if !slices.Contains(OnFinishValues, onFinish) {
		errs = append(errs, input.Invalid("on-finish", s.OnFinish, "must be one of %q", OnFinishValues))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	match := make([]string, len(rules))
	for i, m := range rules {
		match[i] = m.String()
	}
	w := s.ABWeight
	return []Step{
		{Kind: KindShift, Weight: w, Match: match, Sticky: w > 0},
		{Kind: KindAnalyze, Weight: w, Hold: s.Duration},
		{Kind: KindConclude, Weight: w, OnFinish: onFinish},
		{Kind: KindPromote, Weight: 100},
	}, nil
}

// Routing is the request routing of a shift step; nil for a step that
// routes by weight only. Its rules were checked when the plan was made.
func (s Step) Routing() *providers.Routing {
	if len(s.Match) == 0 && !s.Sticky {
		return nil
	}
	rules, _ := providers.ParseMatch(s.Match)
	return &providers.Routing{Match: rules, Sticky: s.Sticky}
}

// RoutingAt is the request routing the plan's last shift before step
// index sets: what the traffic is routed by while the step runs.
func (p Plan) RoutingAt(index int) *providers.Routing {
	for i := min(index, len(p.Steps)) - 1; i >= 0; i-- {
		if s := p.Steps[i]; s.Kind == KindShift {
			return s.Routing()
		}
	}
	return nil
}

// Routes reports whether the plan routes by request (strategy ab).
func (p Plan) Routes() bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Kind == KindShift && !s.Routing().Empty() })
}
