package aws

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// The service deployment statuses, lifecycle stages and hook states ECS
// reports for a service on its own (ECS) deployment controller.
const (
	sdPending         = "PENDING"
	sdInProgress      = "IN_PROGRESS"
	sdSuccessful      = "SUCCESSFUL"
	sdStopped         = "STOPPED"
	sdRollbackRunning = "ROLLBACK_IN_PROGRESS"
	sdRollbackDone    = "ROLLBACK_SUCCESSFUL"

	stageScaleUp      = "SCALE_UP"
	stagePostScaleUp  = "POST_SCALE_UP"
	stagePreShift     = "PRE_PRODUCTION_TRAFFIC_SHIFT"
	stageShift        = "PRODUCTION_TRAFFIC_SHIFT"
	stagePostShift    = "POST_PRODUCTION_TRAFFIC_SHIFT"
	stageBake         = "BAKE_TIME"
	stageCleanUp      = "CLEAN_UP"
	hookAwaiting      = "AWAITING_ACTION"
	hookSucceeded     = "SUCCEEDED"
	hookTimedOut      = "TIMED_OUT"
	actionContinue    = "CONTINUE"
	actionRollback    = "ROLLBACK"
	targetTypePause   = "PAUSE"
	defaultHookMinute = 1440
)

// depConfig is the part of a service's deploymentConfiguration the fake
// acts on; raw keeps all of it as it was sent.
type depConfig struct {
	Strategy string `json:"strategy"`
	Bake     *int   `json:"bakeTimeInMinutes"`
	Canary   *struct {
		Percent *float64 `json:"canaryPercent"`
		Bake    *int     `json:"canaryBakeTimeInMinutes"`
	} `json:"canaryConfiguration"`
	Linear *struct {
		Percent *float64 `json:"stepPercent"`
		Bake    *int     `json:"stepBakeTimeInMinutes"`
	} `json:"linearConfiguration"`
	// MinPercent, MaxPercent and Breaker pace a ROLLING deployment.
	MinPercent *int `json:"minimumHealthyPercent"`
	MaxPercent *int `json:"maximumPercent"`
	Breaker    *struct {
		Enable   bool `json:"enable"`
		Rollback bool `json:"rollback"`
	} `json:"deploymentCircuitBreaker"`
	Hooks []struct {
		TargetArn  string   `json:"hookTargetArn"`
		RoleArn    string   `json:"roleArn"`
		TargetType string   `json:"targetType"`
		Stages     []string `json:"lifecycleStages"`
		Timeout    *struct {
			Minutes *int   `json:"timeoutInMinutes"`
			Action  string `json:"action"`
		} `json:"timeoutConfiguration"`
	} `json:"lifecycleHooks"`
	raw json.RawMessage
}

// steps are the production weights the strategy shifts through, and the
// bake after each step below 100, in minutes.
func (c depConfig) steps() ([]float64, int) {
	switch c.Strategy {
	case "CANARY":
		pct, bake := 5.0, 10
		if c.Canary != nil && c.Canary.Percent != nil {
			pct = *c.Canary.Percent
		}
		if c.Canary != nil && c.Canary.Bake != nil {
			bake = *c.Canary.Bake
		}
		if pct >= 100 {
			return []float64{100}, bake
		}
		return []float64{pct, 100}, bake
	case "LINEAR":
		pct, bake := 10.0, 6
		if c.Linear != nil && c.Linear.Percent != nil {
			pct = *c.Linear.Percent
		}
		if c.Linear != nil && c.Linear.Bake != nil {
			bake = *c.Linear.Bake
		}
		var out []float64
		for w := pct; w < 100-1e-9; w += pct {
			out = append(out, math.Round(w*10)/10)
		}
		return append(out, 100), bake
	}
	return []float64{100}, 0
}

// pauseAt is the PAUSE hook at the stage, if the configuration has one:
// its timeout in minutes and timeout action.
func (c depConfig) pauseAt(stage string) (int, string, bool) {
	for _, h := range c.Hooks {
		if h.TargetType != targetTypePause || !slices.Contains(h.Stages, stage) {
			continue
		}
		minutes, action := defaultHookMinute, actionRollback
		if h.Timeout != nil && h.Timeout.Minutes != nil {
			minutes = *h.Timeout.Minutes
		}
		if h.Timeout != nil && h.Timeout.Action != "" {
			action = h.Timeout.Action
		}
		return minutes, action, true
	}
	return 0, "", false
}

// check is ECS's rule for a deployment configuration: a known strategy,
// the percentages and bake times in range, blue/green strategies only on
// a service whose load balancer names an alternate target group and a
// production listener rule, and PAUSE hooks only at the stages that take
// them.
func (c depConfig) check(advanced bool) error {
	inRange := func(p *int, name string) error {
		if p != nil && (*p < 0 || *p > 1440) {
			return fail("InvalidParameterException", "%s must be between 0 and 1440 minutes.", name)
		}
		return nil
	}
	switch c.Strategy {
	case "", "ROLLING":
		return nil
	case "BLUE_GREEN":
	case "CANARY":
		if c.Canary != nil && c.Canary.Percent != nil && (*c.Canary.Percent < 0.1 || *c.Canary.Percent > 100) {
			return fail("InvalidParameterException", "canaryPercent must be between 0.1 and 100.0.")
		}
		if c.Canary != nil {
			if err := inRange(c.Canary.Bake, "canaryBakeTimeInMinutes"); err != nil {
				return err
			}
		}
	case "LINEAR":
		if c.Linear != nil && c.Linear.Percent != nil && (*c.Linear.Percent < 3 || *c.Linear.Percent > 100) {
			return fail("InvalidParameterException", "stepPercent must be between 3.0 and 100.0.")
		}
		if c.Linear != nil {
			if err := inRange(c.Linear.Bake, "stepBakeTimeInMinutes"); err != nil {
				return err
			}
		}
	default:
		return fail("InvalidParameterException", "Unknown deployment strategy %q.", c.Strategy)
	}
	if !advanced {
		return fail("InvalidParameterException", "The %s deployment strategy requires a load balancer with an advancedConfiguration (alternateTargetGroupArn, productionListenerRule, roleArn).", c.Strategy)
	}
	if err := inRange(c.Bake, "bakeTimeInMinutes"); err != nil {
		return err
	}
	for _, h := range c.Hooks {
		if len(h.Stages) == 0 {
			return fail("InvalidParameterException", "A lifecycle hook needs lifecycleStages.")
		}
		switch h.TargetType {
		case targetTypePause:
			for _, s := range h.Stages {
				if s == "TEST_TRAFFIC_SHIFT" || s == stageShift {
					return fail("InvalidParameterException", "PAUSE hooks cannot be configured at the %s stage.", s)
				}
			}
		case "", "AWS_LAMBDA":
			if h.TargetArn == "" || h.RoleArn == "" {
				return fail("InvalidParameterException", "An AWS_LAMBDA lifecycle hook needs hookTargetArn and roleArn.")
			}
		default:
			return fail("InvalidParameterException", "Unknown lifecycle hook targetType %q.", h.TargetType)
		}
	}
	return nil
}

// svcDeployment is one service deployment of a service on the ECS
// controller, moving through its lifecycle stages one describe at a time.
type svcDeployment struct {
	arn            string
	svc            *service
	cfg            depConfig
	status, stage  string
	reason         string
	source, target *taskSet
	steps          []float64
	stepBake       int
	next           int     // the index in steps of the next shift
	weight         float64 // the target's production weight
	shiftedAt      time.Time
	hook           *hookRun
	roll           *rollingRun // a ROLLING deployment's progress
	hooks          []hookRun   // the finished ones
	rollback       string      // why it was rolled back
	rolledBackAt   time.Time
	created        time.Time
	updated        time.Time
	finished       time.Time
}

// hookRun is one run of a PAUSE hook.
type hookRun struct {
	id, status, action string
	expires            time.Time
}

// final reports whether the deployment ended.
func (d *svcDeployment) final() bool {
	switch d.status {
	case sdSuccessful, sdStopped, sdRollbackDone:
		return true
	}
	return false
}
