package ecs

import (
	"context"
	"fmt"
	"math"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
)

// deployNative registers the service's task definition with a's image and
// env, starts a service deployment of it under ramp's deployment
// configuration, and waits until ECS has the new revision up and paused
// at the first hook, with no production traffic. A deployment still
// running is an ErrConflict; one that does not reach the hook within the
// ready timeout is stopped with a rollback, and the deploy is ErrNotReady.
func (p *Provider) deployNative(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	const action = "deploy a candidate to"
	v, err := p.readNative(ctx, action)
	if err != nil {
		return providers.Revision{}, err
	}
	if err := checkNativeService(v.svc); err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	if sd := v.sd; sd != nil && (inFlight(sd) || rollingBack(sd)) {
		return providers.Revision{}, p.fail(action, fmt.Errorf("%w: service deployment %s is %s at %g%%; promote or roll it back first",
			providers.ErrConflict, aws.ToString(sd.ServiceDeploymentArn), sd.Status, targetWeight(sd)))
	}
	td, err := p.register(ctx, aws.ToString(v.svc.TaskDefinition), a)
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	c, err := p.clientsFor(ctx)
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	out, err := c.deps.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(p.cluster), Service: aws.String(p.cfg.Service),
		TaskDefinition: aws.String(td), DeploymentConfiguration: p.deploymentConfig(v.svc.DeploymentConfiguration)})
	p.forget()
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	rev := nativeRevision(td)
	p.mu.Lock()
	p.images[rev] = a.Image
	p.mu.Unlock()
	arn := aws.ToString(out.Service.CurrentServiceDeployment)
	_, err = p.awaitNative(ctx, arn, func(sd *types.ServiceDeployment) (bool, error) {
		if !inFlight(sd) {
			return false, fmt.Errorf("%w: ECS ended service deployment %s before its first traffic shift: %s, %s", providers.ErrNotReady, arn, sd.Status, rollbackReason(sd))
		}
		return awaitingHook(sd) != nil, nil
	})
	if err != nil {
		return providers.Revision{}, p.fail("wait for candidate "+rev+" of", p.stopIfRunning(ctx, arn, err))
	}
	return providers.Revision{ID: rev, Image: a.Image, Ready: true}, nil
}

// stopIfRunning stops the deployment with a rollback after a wait that
// timed out, and says so in err.
func (p *Provider) stopIfRunning(ctx context.Context, arn string, err error) error {
	sd, derr := p.describeDeployment(ctx, arn)
	if derr != nil || !inFlight(sd) {
		return err
	}
	c, cerr := p.clientsFor(ctx)
	if cerr == nil {
		_, cerr = c.deps.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback})
	}
	if cerr != nil {
		return fmt.Errorf("%w; stopping service deployment %s failed too: %w", err, arn, cerr)
	}
	return fmt.Errorf("%w; ramp stopped service deployment %s with a rollback (it was %s at stage %s), no traffic was moved", err, arn, sd.Status, sd.LifecycleStage)
}

// awaitNative reads the deployment every poll until step says it is done
// or fails, or until the ready timeout, which is an ErrNotReady saying
// where the deployment stood.
func (p *Provider) awaitNative(ctx context.Context, arn string, step func(*types.ServiceDeployment) (bool, error)) (*types.ServiceDeployment, error) {
	timeout := p.cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = defaultReadyTimeout
	}
	deadline := p.now().Add(timeout)
	for {
		sd, err := p.describeDeployment(ctx, arn)
		if err != nil {
			return nil, err
		}
		done, err := step(sd)
		switch {
		case err != nil:
			return sd, err
		case done:
			return sd, nil
		case !p.now().Add(p.poll).Before(deadline):
			running := int32(0)
			if t := sd.TargetServiceRevision; t != nil {
				running = t.RunningTaskCount
			}
			return sd, fmt.Errorf("%w: service deployment %s did not get there within %s (ready-timeout): %s at stage %s, %d%% of the traffic, %d new tasks running",
				providers.ErrNotReady, arn, timeout, sd.Status, sd.LifecycleStage, int(math.Round(targetWeight(sd))), running)
		}
		if err := sleep(ctx, p.poll); err != nil {
			return sd, err
		}
	}
}

// stepTo answers CONTINUE at each awaiting hook until ECS reports want
// percent (100: until the deployment is SUCCESSFUL, its old revision
// removed: ramp sets no bake time of ECS's), and waits for it. A shift
// ECS's next step would not make (it makes its configured steps only), or
// a deployment ECS ended meanwhile, is an ErrConflict.
func (p *Provider) stepTo(ctx context.Context, arn string, want float64) error {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	_, err = p.awaitNative(ctx, arn, func(sd *types.ServiceDeployment) (bool, error) {
		w := targetWeight(sd)
		switch {
		case want < 100 && w >= want-0.05 || sd.Status == types.ServiceDeploymentStatusSuccessful:
			return true, nil
		case !inFlight(sd):
			return false, fmt.Errorf("%w: ECS ended service deployment %s at %g%%: %s, %s", providers.ErrConflict, arn, w, sd.Status, rollbackReason(sd))
		}
		h := awaitingHook(sd)
		if h == nil {
			return false, nil
		}
		if next := nextStep(sd.DeploymentConfiguration, w); want < 100 && math.Abs(next-want) > 0.05 {
			return false, fmt.Errorf("%w: ECS's next step from %g%% is %g%% (%s), not %g%%", providers.ErrConflict, w, next, describeStrategy(sd.DeploymentConfiguration), want)
		}
		_, err := c.deps.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn),
			HookId: h.HookId, Action: types.DeploymentLifecycleHookActionContinue})
		return false, err
	})
	return err
}

// rollbackNative answers ROLLBACK at the awaiting hook, or stops the
// deployment with a rollback when none awaits, and waits until ECS has
// rolled it back.
func (p *Provider) rollbackNative(ctx context.Context, sd *types.ServiceDeployment) error {
	if sd == nil || !inFlight(sd) && !rollingBack(sd) {
		return nil
	}
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	arn := sd.ServiceDeploymentArn
	if h := awaitingHook(sd); h != nil && inFlight(sd) {
		_, err = c.deps.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: arn, HookId: h.HookId,
			Action: types.DeploymentLifecycleHookActionRollback})
	} else if inFlight(sd) {
		_, err = c.deps.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: arn, StopType: types.StopServiceDeploymentStopTypeRollback})
	}
	if err != nil {
		return err
	}
	_, err = p.awaitNative(ctx, aws.ToString(arn), func(sd *types.ServiceDeployment) (bool, error) {
		if sd.Status == types.ServiceDeploymentStatusSuccessful {
			return false, fmt.Errorf("%w: ECS completed service deployment %s before its rollback", providers.ErrConflict, aws.ToString(arn))
		}
		return !inFlight(sd) && !rollingBack(sd), nil
	})
	return err
}

// applyNative is Apply in mode native: the intent stated in the record,
// the hook answered and the weight ECS reports awaited, the outcome
// recorded. A revert is refused: ECS keeps no previous revision warm past
// its deployment.
func (p *Provider) applyNative(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	action := t.String() + " on"
	v, err := p.readNative(ctx, action)
	if err != nil {
		return providers.Rollout{}, err
	}
	if t.Action == providers.ActionRecord {
		if err := refusePause(v, t.Record); err != nil {
			return providers.Rollout{}, p.fail(action, err)
		}
		_, stored, err := p.store(ctx, action, v, t.Record, v.st)
		return stored, err
	}
	if t.Action == providers.ActionRevert {
		return providers.Rollout{}, p.fail(action, fmt.Errorf("%w: mode native keeps no previous revision warm (ECS removes it once its deployment ends); deploy the previous image again", providers.ErrInvalid))
	}
	st := p.nativeStatus(v)
	done := t.Done(st)
	if !done {
		if err := t.Check(st); err != nil {
			return providers.Rollout{}, p.fail(action, err)
		}
	}
	stated := t.Record
	stated.Intent = &providers.Intent{Action: t.Action, Revision: t.Revision, Weight: t.Weight, KeepPrevious: t.KeepPrevious, At: p.now().UTC()}
	v, stored, err := p.store(ctx, action, v, stated, v.st)
	if err != nil {
		return providers.Rollout{}, fmt.Errorf("state the intent to %s: %w", t, err)
	}
	switch {
	case done:
	case isRolling(v) || t.Action == providers.ActionReplace:
		err = p.actRolling(ctx, v, t)
		p.forget()
		if err != nil {
			return stored, fmt.Errorf("%s (stated in the record, not made): %w", t, p.fail(action, err))
		}
	default:
		arn := aws.ToString(v.svc.CurrentServiceDeployment)
		switch t.Action {
		case providers.ActionShift:
			err = p.stepTo(ctx, arn, float64(t.Weight))
		case providers.ActionPromote:
			err = p.stepTo(ctx, arn, 100)
		case providers.ActionRollback:
			err = p.rollbackNative(ctx, v.sd)
		}
		p.forget()
		if err != nil {
			return stored, fmt.Errorf("%s (stated in the record, not made): %w", t, p.fail(action, err))
		}
	}
	out := t.Record
	out.Intent, out.Version = nil, stored.Version
	if _, stored, err = p.store(ctx, action, v, out, v.st); err != nil {
		return providers.Rollout{}, fmt.Errorf("record the outcome of %s: %w", t, err)
	}
	return stored, nil
}
