package ecs

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// Strategy rolling, in mode native, is ECS's own rolling update: the
// service stays on the ECS deployment controller, Stage registers the
// candidate's task definition, and the first replace starts a service
// deployment of it on the ROLLING strategy, max-surge and max-unavailable
// mapped to the service's maximumPercent and minimumHealthyPercent, its
// circuit breaker and alarms kept. ECS replaces the tasks at its own pace
// from there (it has no pause), so a replace of k tasks waits until at
// least k new ones run, and the status reports the instances as paced:
// more new tasks than the record says is ECS's progress, not drift. The
// gates run between the replaces while ECS goes on; a rollback stops the
// deployment with ECS's rollback (StopServiceDeployment ROLLBACK), or,
// when ECS completed it already, deploys the stable task definition
// again. A deployment ECS rolled back by itself (circuit breaker, alarm)
// fails the replace waiting on it: the rollout is rolled back, never
// promoted.

// strategyRolling names strategy rolling, as the record and the Config
// do.
const strategyRolling = providers.StrategyRolling

var _ providers.Replacer = (*Provider)(nil)

// rollingMode refuses strategy rolling outside mode native (New refuses
// the configuration first, when the strategy is known).
func (p *Provider) rollingMode(action string) error {
	if p.native() {
		return nil
	}
	return p.fail(action, fmt.Errorf("%w: strategy rolling on ECS is ECS's own rolling update: set mode native", providers.ErrInvalid))
}

// Instances is the service's desired count: the tasks a rolling update
// replaces.
func (p *Provider) Instances(ctx context.Context) (int, error) {
	const action = "count the tasks of"
	if err := p.rollingMode(action); err != nil {
		return 0, err
	}
	v, err := p.readNative(ctx, action)
	if err != nil {
		return 0, err
	}
	if v.svc.DesiredCount < 1 {
		return 0, p.fail(action, fmt.Errorf("%w: the service's desired count is 0: a rolling update has no task to replace", providers.ErrInvalid))
	}
	return int(v.svc.DesiredCount), nil
}

// Stage registers the service's task definition (or the task-definition
// file) with a's image and env as the candidate, starting nothing: the
// first replace starts ECS's rolling update of it. A service deployment
// still running is an ErrConflict.
func (p *Provider) Stage(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	const action = "stage a candidate of"
	if err := p.rollingMode(action); err != nil {
		return providers.Revision{}, err
	}
	v, err := p.readNative(ctx, action)
	if err != nil {
		return providers.Revision{}, err
	}
	if sd := v.sd; sd != nil && (inFlight(sd) || rollingBack(sd)) {
		return providers.Revision{}, p.fail(action, fmt.Errorf("%w: service deployment %s is %s; promote or roll it back first",
			providers.ErrConflict, aws.ToString(sd.ServiceDeploymentArn), sd.Status))
	}
	td, err := p.register(ctx, aws.ToString(v.svc.TaskDefinition), a)
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	rev := nativeRevision(td)
	p.mu.Lock()
	p.images[rev] = a.Image
	p.mu.Unlock()
	return providers.Revision{ID: rev, Image: a.Image}, nil
}

// isRolling reports whether v shows a rolling rollout: the record's
// strategy, or a service deployment on the ROLLING strategy.
func isRolling(v *view) bool {
	if v.st.Record.Strategy == strategyRolling {
		return true
	}
	sd := v.sd
	return sd != nil && sd.DeploymentConfiguration != nil && sd.DeploymentConfiguration.Strategy == types.DeploymentStrategyRolling
}

// rollingCounts are the running tasks of the deployment's new revision
// and of the ones it replaces.
func rollingCounts(sd *types.ServiceDeployment) (target, source int) {
	if sd.TargetServiceRevision != nil {
		target = int(sd.TargetServiceRevision.RunningTaskCount)
	}
	for _, s := range sd.SourceServiceRevisions {
		source += int(s.RunningTaskCount)
	}
	return target, source
}

// started reports whether the record's candidate was ever handed to ECS:
// a replace was recorded, or one was stated before the current service
// deployment began.
func started(rec providers.Rollout, sd *types.ServiceDeployment) bool {
	if rec.Instances > 0 {
		return true
	}
	i := rec.Intent
	return i != nil && sd != nil && (i.Action == providers.ActionReplace || i.Action == providers.ActionRollback || i.Action == providers.ActionPromote) &&
		!aws.ToTime(sd.CreatedAt).Before(i.At.Add(-clockSkew))
}

// endedByECS says how ECS ended the deployment of the record's candidate
// (rolled back or stopped it), or is empty when it did not.
func endedByECS(rec providers.Rollout, sd *types.ServiceDeployment) string {
	if sd == nil || !rolledBack(sd) || !started(rec, sd) {
		return ""
	}
	return fmt.Sprintf("ECS ended service deployment %s of candidate %s: %s, %s", aws.ToString(sd.ServiceDeploymentArn), rec.Candidate, sd.Status, rollbackReason(sd))
}

// clockSkew is how far ECS's clock may run behind this machine's when a
// service deployment's creation is compared with the intent that started
// it.
const clockSkew = 2 * time.Second

// rollingStatus is the status of a service on a rolling update: while a
// deployment runs (or rolls back), its new revision is the candidate at
// the share of the running tasks it has (ramp's redeploy of the stable
// revision in a rollback keeps the roles as they were); a candidate
// staged but not yet handed to ECS has no task; one ECS completed before
// ramp promoted it runs every task.
func (p *Provider) rollingStatus(v *view) providers.Status {
	rec := v.st.Record
	st := providers.Status{Rollout: rec}
	primary, active := deploymentTDs(v.svc)
	pRev, aRev := nativeRevision(primary), nativeRevision(active)
	images := v.st.withImages(p.knownImages(), pRev, aRev, rec.Candidate, rec.Stable).Images
	rev := func(id string, ready bool) *providers.Revision {
		if id == "" {
			return nil
		}
		return &providers.Revision{ID: id, Image: images[id], Ready: ready}
	}
	desired := int(v.svc.DesiredCount)
	// A rollout in flight, or one whose last transition is stated and not
	// yet recorded as made, still has its candidate.
	live := (rec.Phase.InFlight() || rec.Intent != nil) && rec.Candidate != ""
	st.Stable, st.Instances = rev(pRev, true), &providers.Instances{Stable: desired, Paced: true}
	switch sd := v.sd; {
	case sd != nil && (inFlight(sd) || rollingBack(sd)):
		cand, stable := pRev, aRev
		cN, sN := rollingCounts(sd)
		if live && pRev == rec.Stable && aRev == rec.Candidate { // ramp's rollback, deploying the stable revision again
			cand, stable, cN, sN = aRev, pRev, sN, cN
		}
		st.Candidate, st.Stable = rev(cand, cN > 0), rev(stable, true)
		st.Instances = &providers.Instances{Stable: sN, Candidate: cN, Paced: true}
		st.Weight = strategies.InstanceWeight(cN, cN+sN)
		if rollingBack(sd) {
			st.Warnings = append(st.Warnings, fmt.Sprintf("ECS is rolling service deployment %s back (%s): %s",
				aws.ToString(sd.ServiceDeploymentArn), sd.Status, rollbackReason(sd)))
		}
	case live && rec.Candidate == pRev && rec.Stable != pRev:
		// ECS completed the update before ramp promoted it.
		st.Candidate, st.Stable, st.Weight = rev(pRev, true), rev(rec.Stable, false), 100
		st.Instances = &providers.Instances{Candidate: desired, Paced: true}
	case live && rec.Candidate != pRev:
		// Registered with no task: staged, not yet handed to ECS, or
		// rolled back by it (for the rollback to record).
		st.Candidate = rev(rec.Candidate, false)
		if ended := endedByECS(rec, sd); ended != "" {
			st.Warnings = append(st.Warnings, ended)
		}
	}
	return st
}

// rollingConfig is cur (the service's deployment configuration) on the
// ROLLING strategy, with the percentages that let ECS run surge tasks
// beyond n and stop n minus the replace's batch: maximumPercent rounds
// down and minimumHealthyPercent up in ECS, so both are rounded to land
// on those counts. Its circuit breaker and alarms are kept; ramp's PAUSE
// hooks and the blue/green settings go.
func rollingConfig(cur *types.DeploymentConfiguration, n int, t providers.Transition) *types.DeploymentConfiguration {
	out := types.DeploymentConfiguration{}
	if cur != nil {
		out = *cur
	}
	out.Strategy, out.CanaryConfiguration, out.LinearConfiguration, out.BakeTimeInMinutes = types.DeploymentStrategyRolling, nil, nil, nil
	out.LifecycleHooks = slices.DeleteFunc(slices.Clone(out.LifecycleHooks), func(h types.DeploymentLifecycleHook) bool {
		return h.TargetType == types.DeploymentLifecycleHookTargetTypePause
	})
	surge := min(max(t.Surge, 0), n)
	unavailable := min(max(t.Instances-surge, 0), n)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	out.MaximumPercent = aws.Int32(int32(math.Ceil(float64((n+surge)*100) / float64(n))))
	out.MinimumHealthyPercent = aws.Int32(int32(math.Floor(float64((n-unavailable)*100) / float64(n))))
	return &out
}

// actRolling makes t's change on a rolling update: a replace starts ECS's
// deployment of the candidate (once) and waits until at least t.Instances
// new tasks run; a promotion waits until ECS completed it; a rollback
// stops it with ECS's rollback, or deploys the stable revision again
// when ECS completed it already.
func (p *Provider) actRolling(ctx context.Context, v *view, t providers.Transition) error {
	primary, _ := deploymentTDs(v.svc)
	sd := v.sd
	handed := sd != nil && nativeRevision(primary) == t.Revision &&
		(inFlight(sd) || rollingBack(sd) || sd.Status == types.ServiceDeploymentStatusSuccessful)
	switch t.Action {
	case providers.ActionReplace, providers.ActionPromote:
		arn := aws.ToString(v.svc.CurrentServiceDeployment)
		if ended := endedByECS(v.st.Record, sd); ended != "" && !handed {
			return fmt.Errorf("%w: %s", providers.ErrNotReady, ended)
		}
		if !handed {
			var err error
			cfg := rollingConfig(v.svc.DeploymentConfiguration, int(v.svc.DesiredCount), t)
			if arn, err = p.startRolling(ctx, v, t.Revision, cfg); err != nil {
				return err
			}
		}
		want := t.Instances
		if t.Action == providers.ActionPromote {
			want = math.MaxInt
		}
		return p.awaitRolling(ctx, arn, want)
	case providers.ActionRollback:
		return p.rollbackRolling(ctx, v, t)
	}
	return fmt.Errorf("%w: %s is not a change of a rolling update", providers.ErrInvalid, t)
}

// startRolling starts ECS's rolling deployment of revision under cfg.
func (p *Provider) startRolling(ctx context.Context, v *view, revision string, cfg *types.DeploymentConfiguration) (string, error) {
	if sd := v.sd; sd != nil && (inFlight(sd) || rollingBack(sd)) {
		return "", fmt.Errorf("%w: service deployment %s is %s", providers.ErrConflict, aws.ToString(sd.ServiceDeploymentArn), sd.Status)
	}
	c, err := p.clientsFor(ctx)
	if err != nil {
		return "", err
	}
	out, err := c.deps.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(p.cluster), Service: aws.String(p.cfg.Service),
		TaskDefinition: aws.String(revision), DeploymentConfiguration: cfg})
	p.forget()
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Service.CurrentServiceDeployment), nil
}

// awaitRolling waits until at least want new tasks of the deployment run
// (any number once ECS completed it); a deployment ECS rolled back or
// stopped (its circuit breaker, an alarm, someone else) is ErrNotReady
// with ECS's reason.
func (p *Provider) awaitRolling(ctx context.Context, arn string, want int) error {
	_, err := p.awaitNative(ctx, arn, func(sd *types.ServiceDeployment) (bool, error) {
		running, _ := rollingCounts(sd)
		p.sawServing(sd)
		switch {
		case sd.Status == types.ServiceDeploymentStatusSuccessful:
			return true, nil
		case !inFlight(sd):
			return false, fmt.Errorf("%w: ECS rolled service deployment %s back or stopped it (%s): %s", providers.ErrNotReady, arn, sd.Status, rollbackReason(sd))
		}
		return running >= want, nil
	})
	return err
}

// rollbackRolling puts the stable revision back on every task: ECS's
// rollback of the deployment still running, or a rolling deployment of
// the stable task definition when ECS completed the candidate's.
func (p *Provider) rollbackRolling(ctx context.Context, v *view, t providers.Transition) error {
	sd := v.sd
	primary, _ := deploymentTDs(v.svc)
	switch {
	case sd != nil && (inFlight(sd) || rollingBack(sd)) && nativeRevision(primary) == t.Record.Stable:
		return p.awaitRolling(ctx, aws.ToString(sd.ServiceDeploymentArn), math.MaxInt) // ramp's redeploy of the stable revision
	case sd != nil && (inFlight(sd) || rollingBack(sd)):
		return p.rollbackNative(ctx, sd)
	case nativeRevision(primary) != t.Revision || t.Record.Stable == "":
		return nil // never handed to ECS, or rolled back by it
	}
	arn, err := p.startRolling(ctx, v, t.Record.Stable, v.svc.DeploymentConfiguration) // as the candidate's went
	if err != nil {
		return err
	}
	return p.awaitRolling(ctx, arn, math.MaxInt)
}

// rollingTargetGroup is the service's target group, which serves both
// revisions during a rolling update: CloudWatch cannot tell them apart,
// so the metric source reports its counts as the candidate's and none as
// the stable's; and when ECS started the candidate's deployment (zero
// when it did not yet). Two calls.
func (p *Provider) rollingTargetGroup(ctx context.Context, action string) ([]string, time.Time, error) {
	v, err := p.readNative(ctx, action)
	if err != nil {
		return nil, time.Time{}, err
	}
	for _, lb := range v.svc.LoadBalancers {
		if tg := aws.ToString(lb.TargetGroupArn); tg != "" {
			return []string{tg}, p.rollingSince(v), nil
		}
	}
	return nil, time.Time{}, p.fail(action, fmt.Errorf("%w: the service has no target group: CloudWatch has no load balancer metrics of it", providers.ErrInvalid))
}

// refusePause refuses to record a rolling rollout as paused: ECS's
// rolling update has no pause, so a paused record would tell of a split
// ECS keeps changing (and before the first batch, of a candidate with no
// task). Promote or roll it back.
func refusePause(v *view, next providers.Rollout) error {
	rec := v.st.Record
	if next.Phase != providers.PhasePaused || rec.Phase == providers.PhasePaused || next.Strategy != strategyRolling && !isRolling(v) {
		return nil
	}
	return fmt.Errorf("%w: ECS's rolling update of %s cannot be paused (ECS replaces the tasks at its own pace, with no pause); promote it or roll it back",
		providers.ErrInvalid, rec.Candidate)
}

// rollingSince is when this process first saw the candidate's new tasks
// running in ECS's deployment, for the metrics: the target group's
// minutes before it may be the stable revision's alone, and the first
// sighting is never earlier than the first new task's traffic. Zero while
// none runs.
func (p *Provider) rollingSince(v *view) time.Time {
	if v == nil || v.sd == nil || !started(v.st.Record, v.sd) {
		return time.Time{}
	}
	return p.sawServing(v.sd)
}

// sawServing notes when this process first saw new tasks of sd running,
// and returns it (zero while none runs).
func (p *Provider) sawServing(sd *types.ServiceDeployment) time.Time {
	arn := aws.ToString(sd.ServiceDeploymentArn)
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, ok := p.serving[arn]; ok {
		return at
	}
	if running, _ := rollingCounts(sd); running == 0 && sd.Status != types.ServiceDeploymentStatusSuccessful {
		return time.Time{}
	}
	p.serving[arn] = p.now()
	return p.serving[arn]
}
