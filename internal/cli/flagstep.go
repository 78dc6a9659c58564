package cli

import (
	"strings"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers/flag"
	"github.com/ramp-deploy/ramp/strategies"
)

// flagSwitch is the switch of a canary's flag step: the flag the flag-*
// inputs name, when they name one for a provider other than flag (whose
// flag is the rollout itself); nil otherwise, which the engine refuses
// for a plan with a flag step.
func (a *app) flagSwitch() engine.FlagSwitch {
	if a.cfg.Provider == "flag" || a.cfg.Target.Flag.Name == "" {
		return nil
	}
	sw, err := flag.NewSwitch(a.cfg.Target.Flag)
	if err != nil {
		return nil // checkFlagStep names the bad inputs before anything starts
	}
	return sw
}

// checkFlagStep names every bad flag input of a plan with a flag step,
// and refuses one under the flag provider, whose whole rollout is a flag.
func (a *app) checkFlagStep(p strategies.Plan) error {
	if _, _, ok := p.FlagStep(); !ok {
		return nil
	}
	if a.cfg.Provider == "flag" {
		return input.Invalid("steps", formatSteps(p), "has a flag step, which turns a flag on beside a service's rollout; with provider flag the rollout moves the flag itself: drop the flag step")
	}
	return flag.Validate(a.cfg.Target.Flag)
}

// formatSteps writes the plan's steps for a message.
func formatSteps(p strategies.Plan) string {
	parts := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, "; ")
}
