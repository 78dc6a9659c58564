package ecs

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
)

// Mode native: the service stays on ECS's own deployment controller. A
// deploy sets the service's deploymentConfiguration to the CANARY, LINEAR
// or BLUE_GREEN strategy the steps map to (native_config.go), with a PAUSE
// lifecycle hook before each production traffic shift, and starts a
// service deployment of the new task definition; ECS scales the new
// revision up behind the alternate target group and stops at the hook.
// Each shift of ramp answers the awaiting hook CONTINUE and waits until
// ECS reports the step's weight; a rollback answers ROLLBACK (or stops the
// deployment with a rollback when no hook awaits). ECS keeps a paused
// deployment paused, past the end of the process, until the hook's own
// timeout, when it takes the timeout action (ROLLBACK).

// readNative reads the service with its tags and its current service
// deployment: two calls.
func (p *Provider) readNative(ctx context.Context, action string) (*view, error) {
	v, err := p.read(ctx, action, false)
	if err != nil {
		return nil, err
	}
	if dc := v.svc.DeploymentController; dc != nil && dc.Type != types.DeploymentControllerTypeEcs {
		return nil, p.fail(action, fmt.Errorf("%w: the service uses the %s deployment controller; mode native needs one on the ECS controller (use mode tasksets for EXTERNAL)",
			providers.ErrInvalid, dc.Type))
	}
	arn := aws.ToString(v.svc.CurrentServiceDeployment)
	if arn == "" {
		return v, nil
	}
	sd, err := p.describeDeployment(ctx, arn)
	if err != nil {
		return nil, p.fail(action, err)
	}
	v.sd = sd
	return v, nil
}

// describeDeployment reads one service deployment.
func (p *Provider) describeDeployment(ctx context.Context, arn string) (*types.ServiceDeployment, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return nil, err
	}
	out, err := c.deps.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, err
	}
	if len(out.ServiceDeployments) != 1 {
		return nil, fmt.Errorf("%w: no service deployment %s", providers.ErrNotFound, arn)
	}
	return &out.ServiceDeployments[0], nil
}

// inFlight reports whether the deployment still runs forward.
func inFlight(sd *types.ServiceDeployment) bool {
	return sd != nil && (sd.Status == types.ServiceDeploymentStatusPending || sd.Status == types.ServiceDeploymentStatusInProgress)
}

// rollingBack reports whether ECS is rolling the deployment back or
// stopping it.
func rollingBack(sd *types.ServiceDeployment) bool {
	switch sd.Status {
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentStatusStopRequested:
		return true
	}
	return false
}

// rolledBack reports whether ECS rolled the deployment back or stopped it.
func rolledBack(sd *types.ServiceDeployment) bool {
	switch sd.Status {
	case types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed, types.ServiceDeploymentStatusStopped:
		return true
	}
	return false
}

// targetWeight is the production weight ECS reports for the revision
// being deployed.
func targetWeight(sd *types.ServiceDeployment) float64 {
	if sd == nil || sd.TargetServiceRevision == nil {
		return 0
	}
	return aws.ToFloat64(sd.TargetServiceRevision.RequestedProductionTrafficWeight)
}

// awaitingHook is the lifecycle hook awaiting action, nil when none is.
func awaitingHook(sd *types.ServiceDeployment) *types.DeploymentLifecycleHookDetail {
	if sd == nil {
		return nil
	}
	for i := range sd.LifecycleHookDetails {
		if h := &sd.LifecycleHookDetails[i]; h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
			return h
		}
	}
	return nil
}

// nativeRevision is the revision a task definition stands for: its
// family:revision.
func nativeRevision(td string) string {
	if _, rest, ok := strings.Cut(td, ":task-definition/"); ok {
		return rest
	}
	return td
}

// deploymentTDs are the task definitions of the service's PRIMARY
// deployment (the newest) and of the ACTIVE one it replaces, if any.
func deploymentTDs(svc types.Service) (primary, active string) {
	primary = aws.ToString(svc.TaskDefinition)
	for _, d := range svc.Deployments {
		switch aws.ToString(d.Status) {
		case "PRIMARY":
			primary = aws.ToString(d.TaskDefinition)
		case "ACTIVE":
			active = aws.ToString(d.TaskDefinition)
		}
	}
	return primary, active
}

// nativeStatus is the status v shows: while a deployment runs forward
// below 100%, the candidate is its revision at the weight ECS reports and
// stable the one it replaces; otherwise the service's revision is stable.
func (p *Provider) nativeStatus(v *view) providers.Status {
	if isRolling(v) {
		return p.rollingStatus(v)
	}
	st := providers.Status{Rollout: v.st.Record}
	primary, active := deploymentTDs(v.svc)
	images := v.st.withImages(p.knownImages(), nativeRevision(primary), nativeRevision(active)).Images
	rev := func(td string, ready bool) *providers.Revision {
		if td == "" {
			return nil
		}
		return &providers.Revision{ID: nativeRevision(td), Image: images[nativeRevision(td)], Ready: ready}
	}
	sd := v.sd
	switch w := targetWeight(sd); {
	case inFlight(sd) && w < 100:
		st.Weight = int(math.Round(w))
		st.Stable, st.Candidate = rev(active, true), rev(primary, w > 0 || awaitingHook(sd) != nil)
	case sd != nil && rollingBack(sd):
		st.Stable = rev(active, true)
		st.Warnings = append(st.Warnings, fmt.Sprintf("ECS is rolling service deployment %s back (%s): %s",
			aws.ToString(sd.ServiceDeploymentArn), sd.Status, rollbackReason(sd)))
	case sd != nil && rolledBack(sd) && active != "":
		st.Stable = rev(active, true) // read while ECS finished the rollback
	default:
		st.Stable = rev(primary, true)
	}
	if h := awaitingHook(sd); h != nil && inFlight(sd) {
		st.Warnings = append(st.Warnings, fmt.Sprintf("ECS service deployment %s (%s) is paused at lifecycle hook %s before its production traffic shift from %d%%; "+
			"unless ramp continues it, ECS takes its timeout action %s at %s", aws.ToString(sd.ServiceDeploymentArn), describeStrategy(sd.DeploymentConfiguration),
			aws.ToString(h.HookId), st.Weight, h.TimeoutAction, aws.ToTime(h.ExpiresAt).UTC().Format("2006-01-02 15:04:05 MST")))
	}
	return st
}

// rollbackReason says why ECS rolled a deployment back, as it reports.
func rollbackReason(sd *types.ServiceDeployment) string {
	switch {
	case sd.Rollback != nil && aws.ToString(sd.Rollback.Reason) != "":
		return aws.ToString(sd.Rollback.Reason)
	case aws.ToString(sd.StatusReason) != "":
		return aws.ToString(sd.StatusReason)
	}
	return "no reason given"
}

// checkNativeService refuses a service mode native cannot drive, naming
// the reason: one without a load balancer whose advanced configuration
// names an alternate target group and a production listener rule.
func checkNativeService(svc types.Service) error {
	for _, lb := range svc.LoadBalancers {
		if a := lb.AdvancedConfiguration; a != nil && aws.ToString(a.AlternateTargetGroupArn) != "" && aws.ToString(a.ProductionListenerRule) != "" {
			return nil
		}
	}
	return fmt.Errorf("%w: the service's load balancer has no advancedConfiguration with an alternateTargetGroupArn and a productionListenerRule; "+
		"ECS's CANARY and LINEAR deployments need them (set them on the service, or use mode tasksets)", providers.ErrInvalid)
}

// nativeTargetGroups are the service's target group and its alternate.
func nativeTargetGroups(svc types.Service) []string {
	for _, lb := range svc.LoadBalancers {
		if a := lb.AdvancedConfiguration; a != nil {
			return []string{aws.ToString(lb.TargetGroupArn), aws.ToString(a.AlternateTargetGroupArn)}
		}
	}
	return nil
}

// nativeTargetGroupsOf maps the candidate and the stable revision (if
// given) to their target groups, from the service's two and the weights
// the production rule gives them (two calls): the candidate's takes less
// of the traffic. At an even split the one the candidate was last seen on
// is taken, or else the alternate target group.
func (p *Provider) nativeTargetGroupsOf(ctx context.Context, action, cand, stable string) ([]string, error) {
	v, err := p.read(ctx, action, true)
	if err != nil {
		return nil, err
	}
	tgs := nativeTargetGroups(v.svc)
	if len(tgs) != 2 {
		return nil, p.fail(action, checkNativeService(v.svc))
	}
	weights := map[string]int32{}
	for _, a := range v.actions {
		for _, t := range forwardTuples(a) {
			weights[aws.ToString(t.TargetGroupArn)] = aws.ToInt32(t.Weight)
		}
	}
	c, s := tgs[1], tgs[0]
	p.mu.Lock()
	switch w0, w1 := weights[tgs[0]], weights[tgs[1]]; {
	case w0 < w1:
		c, s = tgs[0], tgs[1]
	case w0 == w1 && p.candTGs[cand] == tgs[0]:
		c, s = tgs[0], tgs[1]
	}
	p.candTGs[cand] = c
	p.mu.Unlock()
	if stable == "" {
		return []string{c}, nil
	}
	return []string{c, s}, nil
}
