package strategies

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Spec is the rollout settings a planner reads. It is stored with the
// rollout record so a later process rebuilds the same plan.
type Spec struct {
	// Strategy names the planner: canary, linear, bluegreen, immediate,
	// rolling or ab.
	Strategy string `json:"strategy"`
	// Steps are the canary's weights in order; a Pause entry stops there.
	Steps []Target `json:"steps,omitempty"`
	// Holds is one hold time for every canary step, or one per step.
	Holds []time.Duration `json:"holds,omitempty"`
	// Increment is the linear strategy's weight added at each step.
	Increment int `json:"increment,omitempty"`
	// Instances is how many instances rolling replaces: the provider's
	// count (the local provider's replicas).
	Instances int `json:"instances,omitempty"`
	// MaxSurge and MaxUnavailable are rolling's batch bounds, each a count
	// of instances ("1") or a percentage of them ("25%"), as Kubernetes
	// reads them: how many may run beyond Instances, and how many may be
	// out of service, while a batch is replaced.
	MaxSurge       string `json:"max_surge,omitempty"`
	MaxUnavailable string `json:"max_unavailable,omitempty"`
	// Match, ABWeight, Duration and OnFinish are an A/B test's: the
	// match rules whose requests the candidate serves (as the match input
	// writes them), the share of the other clients it serves (sticky),
	// how long both are compared, and what happens then.
	Match    []string      `json:"match,omitempty"`
	ABWeight int           `json:"ab_weight,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	OnFinish string        `json:"on_finish,omitempty"`
	// Interval is the gate polling period and the default hold.
	Interval time.Duration `json:"interval"`
	// Bake is how long gates are watched after promotion, with the
	// previous version warm (blue-green keeps the old version that long).
	Bake time.Duration `json:"bake,omitempty"`
	// FailureThreshold is how many failed checks in a row roll back.
	FailureThreshold int `json:"failure_threshold"`
}

// Target is one entry of a canary's steps: a weight, a pause, or a flag
// turned on for Flag percent of users ("flag" or "flag:N").
type Target struct {
	Weight int  `json:"weight,omitempty"`
	Pause  bool `json:"pause,omitempty"`
	Flag   int  `json:"flag,omitempty"`
}

// ParseSteps reads the steps input, e.g. "5,25,pause,50,100".
func ParseSteps(raw string) ([]Target, error) {
	var out []Target
	var errs []error
	for f := range strings.SplitSeq(raw, ",") {
		f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%"))
		if strings.EqualFold(f, "pause") {
			out = append(out, Target{Pause: true})
			continue
		}
		if t, ok, err := parseFlagStep(raw, f); ok {
			if err != nil {
				errs = append(errs, err)
			} else {
				out = append(out, t)
			}
			continue
		}
		w, err := strconv.Atoi(f)
		if err != nil {
			errs = append(errs, input.Invalid("steps", raw, "%q is neither a weight nor \"pause\"", f))
			continue
		}
		out = append(out, Target{Weight: w})
	}
	return out, errors.Join(errs...)
}

// ParseHolds reads the hold input: one duration, or a comma-separated list.
// Every bad entry is listed.
func ParseHolds(raw string) ([]time.Duration, error) {
	var out []time.Duration
	var errs []error
	for f := range strings.SplitSeq(raw, ",") {
		f = strings.TrimSpace(f)
		d, err := time.ParseDuration(f)
		switch {
		case err != nil:
			errs = append(errs, input.Invalid("hold", raw, "%q is not a duration such as 30s or 5m", f))
		case d < 0:
			errs = append(errs, input.Invalid("hold", raw, "%q must not be negative", f))
		}
		out = append(out, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// MinInterval is the shortest gate polling period: shorter ones would
// hammer the platform's API and measure nothing.
const MinInterval = 100 * time.Millisecond

type planner func(Spec) ([]Step, error)

var planners = map[string]planner{
	"canary":    canary,
	"linear":    linear,
	"bluegreen": blueGreen,
	"immediate": immediate,
	Rolling:     rolling,
	AB:          ab,
}

// Names lists the strategies, sorted.
func Names() []string { return slices.Sorted(maps.Keys(planners)) }

// New plans a rollout. Every problem with the spec is reported at once, each
// naming the input and its value.
func New(s Spec) (Plan, error) {
	var errs []error
	if s.Interval < MinInterval {
		errs = append(errs, input.Invalid("interval", s.Interval.String(), "must be at least %s", MinInterval))
	}
	if s.FailureThreshold < 1 || s.FailureThreshold > 100 {
		errs = append(errs, input.Invalid("failure-threshold", strconv.Itoa(s.FailureThreshold), "must be within 1..100"))
	}
	if s.Bake < 0 {
		errs = append(errs, input.Invalid("bake", s.Bake.String(), "must not be negative"))
	}
	p, ok := planners[s.Strategy]
	if !ok {
		errs = append(errs, input.Invalid("strategy", s.Strategy, "unknown strategy; valid strategies are %q", Names()))
		return Plan{}, errors.Join(errs...)
	}
	steps, err := p(s)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Plan{}, err
	}
	if s.Bake > 0 {
		steps = append(steps, Step{Kind: KindBake, Weight: 100, Hold: s.Bake})
	}
	plan := Plan{Strategy: s.Strategy, Steps: steps, Interval: s.Interval, FailureThreshold: s.FailureThreshold}
	if err := plan.Validate(); err != nil {
		return Plan{}, fmt.Errorf("plan %s: %w", s.Strategy, err)
	}
	return plan, nil
}

// FirstDeploy is the plan for a service with no stable version yet: check
// the candidate on its own, then make it stable; there is no traffic to shift.
func FirstDeploy(p Plan) Plan {
	return Plan{
		Strategy:         p.Strategy,
		Steps:            []Step{{Kind: KindAnalyze}, {Kind: KindPromote, Weight: 100}},
		Interval:         p.Interval,
		FailureThreshold: p.FailureThreshold,
	}
}
