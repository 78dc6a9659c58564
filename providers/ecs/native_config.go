package ecs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// The modes of the provider.
const (
	modeTaskSets = "tasksets"
	modeNative   = "native"
	// defaultHookTimeout is ECS's own default for a lifecycle hook: a
	// paused deploy left alone this long is rolled back by ECS.
	defaultHookTimeout = 24 * time.Hour
	// linearMinStep is the smallest step ECS's LINEAR strategy takes.
	linearMinStep = 3
)

// native reports whether the provider runs mode native.
func (p *Provider) native() bool { return p.cfg.Mode == modeNative }

// nativeStrategy is the ECS strategy a list of weights (ending at 100)
// maps to, with its percentage: BLUE_GREEN for none but 100, CANARY for
// one step then 100, LINEAR for equal increments (the last one capped at
// 100). Any other list is an input error naming the mode that takes it.
func nativeStrategy(weights []int) (types.DeploymentStrategy, float64, error) {
	list := make([]string, len(weights))
	for i, w := range weights {
		list[i] = strconv.Itoa(w)
	}
	raw := strings.Join(list, ",")
	switch {
	case len(weights) == 0 || slices.Equal(weights, []int{100}):
		return types.DeploymentStrategyBlueGreen, 100, nil
	case weights[len(weights)-1] != 100:
		return "", 0, input.Invalid("steps", raw, "must end at 100")
	case len(weights) == 2:
		return types.DeploymentStrategyCanary, float64(weights[0]), nil
	}
	k := weights[0]
	for i, w := range weights[:len(weights)-1] {
		if w != k*(i+1) {
			return "", 0, input.Invalid("steps", raw, "cannot be expressed by ECS in mode native: ECS shifts by CANARY (one step, then 100, e.g. 10,100) "+
				"or LINEAR (equal increments, e.g. 25,50,75,100); use mode tasksets, which takes any list")
		}
	}
	if last := weights[len(weights)-2]; last+k < 100 {
		return "", 0, input.Invalid("steps", raw, "stops short: LINEAR %d%% steps go on to %d%% after %d%%; add the missing steps or use mode tasksets", k, last+k, last)
	}
	if k < linearMinStep {
		return "", 0, input.Invalid("steps", raw, "has %d%% steps: ECS's LINEAR steps are at least %d%%; use mode tasksets for smaller ones", k, linearMinStep)
	}
	return types.DeploymentStrategyLinear, float64(k), nil
}

// checkMode checks mode and the options that belong to one mode only.
func checkMode(cfg providers.Config) error {
	var errs []error
	switch cfg.Mode {
	case "", modeTaskSets:
		if cfg.Strategy == strategyRolling {
			errs = append(errs, input.Invalid("strategy", cfg.Strategy, "on ECS is ECS's own rolling update, on the ECS deployment controller: set mode native "+
				"(mode tasksets weighs task sets on the EXTERNAL controller: use canary or linear there)"))
		}
		if cfg.HookTimeout != 0 {
			errs = append(errs, input.Invalid("hook-timeout", cfg.HookTimeout.String(), "applies to mode native only"))
		}
	case modeNative:
		if cfg.Strategy != strategyRolling {
			if _, _, err := nativeStrategy(cfg.Weights); err != nil {
				errs = append(errs, err)
			}
		}
		if cfg.TaskDefinition != "" && cfg.Strategy != strategyRolling {
			errs = append(errs, input.Invalid("task-definition", cfg.TaskDefinition, "applies to mode tasksets and strategy rolling only (mode native's canary and linear register the service's task definition with the new image)"))
		}
		if cfg.CandidateScale != 0 {
			errs = append(errs, input.Invalid("candidate-scale", strconv.Itoa(cfg.CandidateScale), "applies to mode tasksets only (ECS scales the new revision to the service's desired count)"))
		}
		if cfg.HookTimeout < 0 || cfg.HookTimeout > 0 && cfg.HookTimeout < time.Minute {
			errs = append(errs, input.Invalid("hook-timeout", cfg.HookTimeout.String(), "must be at least 1m: ECS counts it in minutes"))
		}
	default:
		errs = append(errs, input.Invalid("mode", cfg.Mode, "must be tasksets or native"))
	}
	if err := checkTaskDefinitionFile(cfg.TaskDefinition); err != nil {
		errs = append(errs, err)
	}
	if cfg.CandidateScale < 0 || cfg.CandidateScale > 100 {
		errs = append(errs, input.Invalid("candidate-scale", strconv.Itoa(cfg.CandidateScale), "must be a percentage of the service's desired count, 1 to 100"))
	}
	return errors.Join(errs...)
}

// hookTimeout is the paused hook's timeout, in whole minutes.
func (p *Provider) hookTimeout() int32 {
	d := p.cfg.HookTimeout
	if d <= 0 {
		d = defaultHookTimeout
	}
	return int32(math.Ceil(d.Minutes()))
}

// deploymentConfig is cur (the service's) with ramp's strategy, no bake
// time of ECS's own (ramp's holds are the bake), and a PAUSE hook before
// each production traffic shift in place of any other PAUSE hook there.
func (p *Provider) deploymentConfig(cur *types.DeploymentConfiguration) *types.DeploymentConfiguration {
	out := types.DeploymentConfiguration{}
	if cur != nil {
		out = *cur
	}
	strategy, pct, _ := nativeStrategy(p.cfg.Weights) // checked by New
	out.Strategy, out.BakeTimeInMinutes, out.CanaryConfiguration, out.LinearConfiguration = strategy, aws.Int32(0), nil, nil
	switch strategy {
	case types.DeploymentStrategyCanary:
		out.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(pct), CanaryBakeTimeInMinutes: aws.Int32(0)}
	case types.DeploymentStrategyLinear:
		out.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(pct), StepBakeTimeInMinutes: aws.Int32(0)}
	}
	pre := types.DeploymentLifecycleHookStagePreProductionTrafficShift
	out.LifecycleHooks = slices.DeleteFunc(slices.Clone(out.LifecycleHooks), func(h types.DeploymentLifecycleHook) bool {
		return h.TargetType == types.DeploymentLifecycleHookTargetTypePause && slices.Contains(h.LifecycleStages, pre)
	})
	out.LifecycleHooks = append(out.LifecycleHooks, types.DeploymentLifecycleHook{
		TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []types.DeploymentLifecycleHookStage{pre},
		TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(p.hookTimeout()),
			Action: types.DeploymentLifecycleHookActionRollback}})
	return &out
}

// nextStep is the weight ECS shifts to next from weight under c.
func nextStep(c *types.DeploymentConfiguration, weight float64) float64 {
	if c == nil {
		return 100
	}
	switch c.Strategy {
	case types.DeploymentStrategyCanary:
		if pct := canaryPercent(c); weight < pct {
			return pct
		}
	case types.DeploymentStrategyLinear:
		pct := 10.0
		if c.LinearConfiguration != nil && c.LinearConfiguration.StepPercent != nil {
			pct = *c.LinearConfiguration.StepPercent
		}
		return math.Min(100, (math.Floor(weight/pct+1e-9)+1)*pct)
	}
	return 100
}

func canaryPercent(c *types.DeploymentConfiguration) float64 {
	if c.CanaryConfiguration != nil && c.CanaryConfiguration.CanaryPercent != nil {
		return *c.CanaryConfiguration.CanaryPercent
	}
	return 5
}

// describeStrategy says what ECS was told, for people.
func describeStrategy(c *types.DeploymentConfiguration) string {
	if c == nil {
		return "no deployment configuration"
	}
	switch c.Strategy {
	case types.DeploymentStrategyCanary:
		return fmt.Sprintf("CANARY %g%%", canaryPercent(c))
	case types.DeploymentStrategyLinear:
		return fmt.Sprintf("LINEAR %g%% steps", nextStep(c, 0))
	}
	return string(c.Strategy)
}
