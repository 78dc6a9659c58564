package cli

import (
	"fmt"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// stepText says where a rollout record stands in its plan, the steps
// numbered from 1 of their total as the deploy log numbers them ("step
// 3/4: pause the rollout"), or "" for a promoted rollout, which has no
// step left. The record keeps the index of the step a resume runs: while
// a step runs, that step; but once a pause or a promote step ended the
// run, the step after it, which the log has not shown.
func stepText(r providers.Rollout) string {
	if r.Phase == providers.PhasePromoted {
		return ""
	}
	steps := recordedPlan(r)
	n := r.Step + 1
	if r.Phase != providers.PhaseProgressing && r.Step > 0 && r.Step <= len(steps) {
		if k := steps[r.Step-1].Kind; k == strategies.KindPause || k == strategies.KindPromote {
			n = r.Step
		}
	}
	if len(steps) == 0 {
		return fmt.Sprintf("at step %d", n)
	}
	return fmt.Sprintf("at step %d/%d", min(n, len(steps)), len(steps))
}

// recordedPlan is the plan the record's settings make, or nil if it holds
// none that makes one.
func recordedPlan(r providers.Rollout) []strategies.Step {
	if len(r.Spec) == 0 {
		return nil
	}
	spec, err := config.DecodeRollout(r.Spec)
	if err != nil {
		return nil
	}
	plan, err := strategies.New(spec.Strategy)
	if err != nil {
		return nil
	}
	return plan.Steps
}

// withComma is s followed by ", ", or "" for an empty s.
func withComma(s string) string {
	if s == "" {
		return ""
	}
	return s + ", "
}
