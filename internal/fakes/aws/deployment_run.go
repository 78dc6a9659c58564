package aws

import (
	"math"
	"strconv"
	"time"
)

// advance moves the deployment by one lifecycle stage at most, as a
// describe finds it: scale-up until the green tasks are healthy, a PAUSE
// hook before each production traffic shift (awaiting action until
// ContinueServiceDeployment, or its timeout and timeout action), each shift
// made on the production listener rule's weights, then the bake, the
// clean-up and SUCCESSFUL; a rollback puts the weights back and removes
// the green tasks.
func (w *World) advance(d *svcDeployment) {
	if d.final() {
		return
	}
	now := w.now()
	if h := d.hook; h != nil && h.status == hookAwaiting {
		if now.Before(h.expires) {
			return
		}
		h.status = hookTimedOut
		w.endHook(d, h.action, "the lifecycle hook timed out")
		return
	}
	d.updated = now
	switch {
	case d.roll != nil && (d.status == sdPending || d.status == sdInProgress):
		w.stepRolling(d)
	case d.status == sdRollbackRunning:
		if d.roll != nil {
			d.source.scale = 100
		}
		w.removeSet(d.svc, d.target)
		d.svc.taskDefinition = d.source.taskDefinition
		d.status, d.finished = sdRollbackDone, now
	case d.status == sdPending:
		d.status, d.stage = sdInProgress, stageScaleUp
	case d.stage == stageScaleUp:
		w.poll(d.target)
		if d.target.stability == steadyState {
			d.stage = stagePostScaleUp
		}
	case d.stage == stagePostScaleUp:
		w.enterPreShift(d)
	case d.stage == stagePreShift:
		w.shiftNext(d)
	case d.stage == stageShift && d.weight < 100:
		if !now.Before(d.shiftedAt.Add(time.Duration(d.stepBake) * time.Minute)) {
			w.enterPreShift(d)
		}
	case d.stage == stageShift:
		d.stage = stagePostShift
	case d.stage == stagePostShift:
		d.stage = stageBake
	case d.stage == stageBake:
		bake := 0
		if d.cfg.Bake != nil {
			bake = *d.cfg.Bake
		}
		if !now.Before(d.shiftedAt.Add(time.Duration(bake) * time.Minute)) {
			d.stage = stageCleanUp
		}
	case d.stage == stageCleanUp:
		w.removeSet(d.svc, d.source)
		d.target.status = statusPrimary
		d.svc.taskDefinition = d.target.taskDefinition
		d.status, d.finished = sdSuccessful, now
	}
	w.sample()
}

// enterPreShift enters the stage before a production traffic shift,
// starting its PAUSE hook if one is configured.
func (w *World) enterPreShift(d *svcDeployment) {
	d.stage = stagePreShift
	if minutes, action, ok := d.cfg.pauseAt(stagePreShift); ok {
		d.hook = &hookRun{id: "hook-" + w.id(), status: hookAwaiting, action: action, expires: w.now().Add(time.Duration(minutes) * time.Minute)}
	}
}

// shiftNext makes the next production traffic shift.
func (w *World) shiftNext(d *svcDeployment) {
	d.stage, d.weight, d.shiftedAt = stageShift, d.steps[d.next], w.now()
	d.next++
	w.route(d, d.weight)
}

// endHook ends the awaiting hook with action: the next stage, or a
// rollback.
func (w *World) endHook(d *svcDeployment, action, why string) {
	h := d.hook
	if h.status == hookAwaiting {
		h.status = hookSucceeded
	}
	d.hooks, d.hook = append(d.hooks, *h), nil
	if action == actionRollback {
		w.rollBack(d, why)
		return
	}
	w.shiftNext(d)
	w.sample()
}

// rollBack sends the production traffic back to the source revision; the
// next describe removes the target's tasks.
func (w *World) rollBack(d *svcDeployment, why string) {
	if d.hook != nil {
		d.hooks, d.hook = append(d.hooks, *d.hook), nil
	}
	d.status, d.rollback, d.rolledBackAt, d.weight = sdRollbackRunning, why, w.now(), 0
	if d.roll == nil { // a rolling deployment's revisions share the target group
		w.route(d, 0)
	}
	w.sample()
}

// route sets the production listener rule's forward action to send pct
// percent to the target's target group and the rest to the source's.
func (w *World) route(d *svcDeployment, pct float64) {
	r := w.rules[d.svc.prodRule()]
	if r == nil {
		return
	}
	tw := int(math.Round(pct))
	tgs := []any{
		node{"TargetGroupArn": targetGroupOfSet(d.source), "Weight": strconv.Itoa(100 - tw)},
		node{"TargetGroupArn": targetGroupOfSet(d.target), "Weight": strconv.Itoa(tw)},
	}
	fwd := node{"Type": "forward", "Order": "1", "ForwardConfig": node{"TargetGroups": tgs}}
	for i, a := range r.actions {
		if an, _ := a.(node); str(an, "Type") == "forward" {
			if o := str(an, "Order"); o != "" {
				fwd["Order"] = o
			}
			r.actions[i] = fwd
			return
		}
	}
	r.actions = append(r.actions, fwd)
}

// removeSet takes the set's tasks out of the service.
func (w *World) removeSet(svc *service, ts *taskSet) {
	for i, x := range svc.taskSets {
		if x == ts {
			svc.taskSets = append(svc.taskSets[:i:i], svc.taskSets[i+1:]...)
			return
		}
	}
}

func targetGroupOfSet(ts *taskSet) string {
	if ts == nil || len(ts.loadBalancers) == 0 {
		return ""
	}
	return ts.loadBalancers[0].TargetGroupArn
}

// revisionJSON is a service revision summary of the set, with its
// production traffic weight.
func (w *World) revisionJSON(d *svcDeployment, ts *taskSet, weight float64) obj {
	n := ts.count(d.svc)
	running := 0
	if ts.stability == steadyState {
		running = n
	}
	if d.roll != nil {
		n = d.roll.n
		var pending int
		running, pending = d.rollingCounts(ts == d.target)
		return obj{"arn": w.arn("ecs", "service-revision/"+d.svc.cluster+"/"+d.svc.name+"/"+ts.id[len("ecs-svc/"):]),
			"requestedTaskCount": n, "runningTaskCount": running, "pendingTaskCount": pending}
	}
	return obj{"arn": w.arn("ecs", "service-revision/"+d.svc.cluster+"/"+d.svc.name+"/"+ts.id[len("ecs-svc/"):]),
		"requestedTaskCount": n, "runningTaskCount": running, "pendingTaskCount": n - running,
		"requestedProductionTrafficWeight": weight, "requestedTestTrafficWeight": 0}
}

// deploymentJSON is the service deployment as DescribeServiceDeployments
// answers it.
func (w *World) deploymentJSON(d *svcDeployment) obj {
	out := obj{"serviceDeploymentArn": d.arn, "serviceArn": d.svc.arn, "clusterArn": d.svc.clusterArn, "status": d.status,
		"createdAt": epoch(d.created), "startedAt": epoch(d.created), "updatedAt": epoch(d.updated),
		"deploymentConfiguration": d.cfg.raw,
		"sourceServiceRevisions":  []obj{w.revisionJSON(d, d.source, 100-d.weight)},
		"targetServiceRevision":   w.revisionJSON(d, d.target, d.weight)}
	if d.stage != "" && !d.final() {
		out["lifecycleStage"] = d.stage
	}
	if d.reason != "" {
		out["statusReason"] = d.reason
	}
	if d.roll != nil {
		out["deploymentCircuitBreaker"] = d.roll.breakerJSON()
	}
	if !d.finished.IsZero() {
		out["finishedAt"] = epoch(d.finished)
	}
	var hooks []obj
	for _, h := range append(append([]hookRun(nil), d.hooks...), func() []hookRun {
		if d.hook != nil {
			return []hookRun{*d.hook}
		}
		return nil
	}()...) {
		hooks = append(hooks, obj{"hookId": h.id, "status": h.status, "targetType": targetTypePause,
			"expiresAt": epoch(h.expires), "timeoutAction": h.action})
	}
	if len(hooks) > 0 {
		out["lifecycleHookDetails"] = hooks
	}
	if d.rollback != "" {
		out["rollback"] = obj{"reason": d.rollback, "startedAt": epoch(d.rolledBackAt),
			"serviceRevisionArn": w.revisionJSON(d, d.source, 100)["arn"]}
	}
	return out
}
