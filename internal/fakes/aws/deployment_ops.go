package aws

import (
	"encoding/json"
	"slices"
)

// svcLB is one load balancer of a service on the ECS controller, with the
// advanced configuration its blue/green strategies need.
type svcLB struct {
	TargetGroupArn string    `json:"targetGroupArn,omitempty"`
	ContainerName  string    `json:"containerName,omitempty"`
	ContainerPort  int       `json:"containerPort,omitempty"`
	Advanced       *advanced `json:"advancedConfiguration,omitempty"`
}

// advanced is a service load balancer's advanced configuration.
type advanced struct {
	AlternateTargetGroupArn string `json:"alternateTargetGroupArn,omitempty"`
	ProductionListenerRule  string `json:"productionListenerRule,omitempty"`
	RoleArn                 string `json:"roleArn,omitempty"`
}

// prodRule is the production listener rule of the service's load
// balancer, if it has one.
func (svc *service) prodRule() string {
	if len(svc.lbs) == 0 || svc.lbs[0].Advanced == nil {
		return ""
	}
	return svc.lbs[0].Advanced.ProductionListenerRule
}

// updateService sets the service's deployment configuration, if sent,
// and starts a service deployment of the task definition, if sent: on the
// ROLLING strategy the tasks are replaced at once; on BLUE_GREEN, CANARY
// and LINEAR the deployment runs through its stages (advance). A
// deployment still running is stopped first. A service on the EXTERNAL
// controller takes no task definition.
func (w *World) updateService(body json.RawMessage) (any, error) {
	var in struct {
		Cluster        string          `json:"cluster"`
		Service        string          `json:"service"`
		TaskDefinition string          `json:"taskDefinition"`
		Config         json.RawMessage `json:"deploymentConfiguration"`
		Force          bool            `json:"forceNewDeployment"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	_, svc, err := w.findService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if svc.controller == ControllerExternal && (in.TaskDefinition != "" || len(in.Config) > 0) {
		return nil, fail("InvalidParameterException", "Unable to update the task definition or deployment configuration of a service on the EXTERNAL deployment controller; use task sets.")
	}
	cfg := svc.deployCfg
	if len(in.Config) > 0 {
		cfg = depConfig{}
		if err := decode(in.Config, &cfg); err != nil {
			return nil, err
		}
		cfg.raw = in.Config
		if err := cfg.check(svc.prodRule() != "" && svc.lbs[0].Advanced.AlternateTargetGroupArn != ""); err != nil {
			return nil, err
		}
	}
	td := svc.taskDefinition
	if in.TaskDefinition != "" {
		t, err := w.findTaskDef(in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		td = t.arn
	}
	svc.deployCfg = cfg
	if td != svc.taskDefinition || in.Force {
		w.startDeployment(svc, td)
	}
	w.sample()
	return obj{"service": w.serviceJSON(svc, false)}, nil
}

// startDeployment starts a service deployment of td.
func (w *World) startDeployment(svc *service, td string) {
	if d := svc.current; d != nil && !d.final() {
		w.rollBack(d, "superseded by a new service deployment")
		w.removeSet(svc, d.target)
		d.status, d.reason, d.finished = sdStopped, "superseded by a new service deployment", w.now()
	}
	var source *taskSet
	for _, ts := range svc.taskSets {
		if ts.status == statusPrimary {
			source = ts
		}
	}
	now := w.now()
	id := "ecs-svc/" + w.id()
	target := &taskSet{id: id, arn: w.arn("ecs", "task-set/"+svc.cluster+"/"+svc.name+"/"+id), taskDefinition: td,
		status: statusActive, stability: stabilizing, scale: 100, launchType: svc.launchType, network: svc.network,
		createdAt: now, updatedAt: now}
	rolling := svc.deployCfg.Strategy == "" || svc.deployCfg.Strategy == "ROLLING"
	if rolling && source != nil {
		target.loadBalancers = slices.Clone(source.loadBalancers) // both revisions behind the service's target group
		target.scale, target.stability = 0, stabilizing
	}
	if source != nil && len(source.loadBalancers) > 0 && svc.prodRule() != "" && !rolling {
		ref := source.loadBalancers[0]
		ref.TargetGroupArn = svc.lbs[0].TargetGroupArn
		if ref.TargetGroupArn == targetGroupOfSet(source) {
			ref.TargetGroupArn = svc.lbs[0].Advanced.AlternateTargetGroupArn
		}
		target.loadBalancers = []lbRef{ref}
	}
	d := &svcDeployment{arn: w.arn("ecs", "service-deployment/"+svc.cluster+"/"+svc.name+"/"+w.hexID()), svc: svc, cfg: svc.deployCfg,
		status: sdPending, source: source, target: target, created: now, updated: now}
	d.steps, d.stepBake = svc.deployCfg.steps()
	svc.taskSets = append(svc.taskSets, target)
	svc.current, svc.taskDefinition = d, td
	w.deployments[d.arn] = d
	if rolling && source != nil && svc.desired > 0 {
		d.roll = newRolling(svc.deployCfg, svc.desired)
		return
	}
	if rolling || source == nil {
		w.removeSet(svc, source)
		target.status, target.stability, target.stableAt = statusPrimary, steadyState, now
		d.status, d.finished = sdSuccessful, now
	}
}

func (w *World) describeServiceDeployments(body json.RawMessage) (any, error) {
	var in struct {
		Arns []string `json:"serviceDeploymentArns"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Arns) == 0 || len(in.Arns) > 20 {
		return nil, fail("InvalidParameterException", "serviceDeploymentArns must hold 1 to 20 ARNs.")
	}
	out, failures := []obj{}, []obj{}
	for _, arn := range in.Arns {
		d := w.deployments[arn]
		if d == nil {
			failures = append(failures, obj{"arn": arn, "reason": "MISSING"})
			continue
		}
		w.advance(d)
		out = append(out, w.deploymentJSON(d))
	}
	return obj{"serviceDeployments": out, "failures": failures}, nil
}

// continueServiceDeployment answers an awaiting PAUSE hook: CONTINUE (the
// default) goes on to the next stage, ROLLBACK rolls the deployment back.
func (w *World) continueServiceDeployment(body json.RawMessage) (any, error) {
	var in struct {
		Arn    string `json:"serviceDeploymentArn"`
		HookID string `json:"hookId"`
		Action string `json:"action"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d := w.deployments[in.Arn]
	switch {
	case in.Arn == "" || in.HookID == "":
		return nil, fail("InvalidParameterException", "serviceDeploymentArn and hookId are required.")
	case d == nil:
		return nil, fail("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", in.Arn)
	case !slices.Contains([]string{"", actionContinue, actionRollback}, in.Action):
		return nil, fail("InvalidParameterException", "action must be CONTINUE or ROLLBACK.")
	case d.hook == nil || d.hook.id != in.HookID || d.hook.status != hookAwaiting:
		return nil, fail("InvalidParameterException", "The lifecycle hook %s of %s is not awaiting action.", in.HookID, in.Arn)
	}
	action := in.Action
	if action == "" {
		action = actionContinue
	}
	w.endHook(d, action, "rolled back by ContinueServiceDeployment ROLLBACK")
	return obj{"serviceDeploymentArn": d.arn}, nil
}

// stopServiceDeployment stops a deployment in progress with a rollback.
func (w *World) stopServiceDeployment(body json.RawMessage) (any, error) {
	var in struct {
		Arn      string `json:"serviceDeploymentArn"`
		StopType string `json:"stopType"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d := w.deployments[in.Arn]
	switch {
	case d == nil:
		return nil, fail("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", in.Arn)
	case in.StopType != "" && in.StopType != actionRollback && in.StopType != "ABORT":
		return nil, fail("InvalidParameterException", "stopType must be ROLLBACK or ABORT.")
	case d.final() || d.status == sdRollbackRunning:
		return nil, fail("ConflictException", "The service deployment %s is %s; only one in progress can be stopped.", d.arn, d.status)
	}
	w.rollBack(d, "stopped by StopServiceDeployment")
	return obj{"serviceDeploymentArn": d.arn}, nil
}

// ecsControllerJSON adds to out what a service on the ECS controller
// shows: its load balancers, deployment configuration, current service
// deployment (advanced by this describe) and deployments, PRIMARY the
// newest one's task definition and ACTIVE the one it replaces while it
// runs.
func (w *World) ecsControllerJSON(svc *service, out obj) {
	if len(svc.lbs) > 0 {
		out["loadBalancers"] = svc.lbs
	}
	if len(svc.deployCfg.raw) > 0 {
		out["deploymentConfiguration"] = svc.deployCfg.raw
	}
	d := svc.current
	if d == nil {
		out["deployments"] = []obj{{"id": "ecs-svc/" + svc.name, "status": statusPrimary, "taskDefinition": svc.taskDefinition,
			"desiredCount": svc.desired, "rolloutState": "COMPLETED"}}
		return
	}
	w.advance(d)
	out["currentServiceDeployment"] = d.arn
	out["taskDefinition"] = svc.taskDefinition
	deps := []obj{{"id": d.target.id, "status": statusPrimary, "taskDefinition": d.target.taskDefinition, "desiredCount": svc.desired,
		"rolloutState": map[bool]string{true: "COMPLETED", false: "IN_PROGRESS"}[d.status == sdSuccessful]}}
	if !d.final() && d.source != nil {
		deps = append(deps, obj{"id": d.source.id, "status": statusActive, "taskDefinition": d.source.taskDefinition, "desiredCount": svc.desired})
	}
	if d.roll != nil && !d.final() {
		w.rollingDeploymentsJSON(d, deps)
	}
	if d.status == sdRollbackDone || d.status == sdStopped {
		deps = []obj{{"id": d.source.id, "status": statusPrimary, "taskDefinition": d.source.taskDefinition, "desiredCount": svc.desired,
			"rolloutState": "COMPLETED"}}
	}
	out["deployments"] = deps
}
