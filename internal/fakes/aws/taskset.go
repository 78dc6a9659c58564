package aws

import (
	"encoding/json"
	"slices"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// scaleIn is a task set's scale as the calls send it.
type scaleIn struct {
	Unit  string   `json:"unit"`
	Value *float64 `json:"value"`
}

func (w *World) createTaskSet(body json.RawMessage) (any, error) {
	var in struct {
		Cluster        string          `json:"cluster"`
		Service        string          `json:"service"`
		TaskDefinition string          `json:"taskDefinition"`
		ExternalID     string          `json:"externalId"`
		LoadBalancers  []lbRef         `json:"loadBalancers"`
		Network        json.RawMessage `json:"networkConfiguration"`
		LaunchType     string          `json:"launchType"`
		Scale          *scaleIn        `json:"scale"`
		Tags           []tag           `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, err := w.findExternal(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	td, err := w.findTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	scale := 100.0
	if in.Scale != nil && in.Scale.Value != nil {
		scale = *in.Scale.Value
	}
	if in.Scale != nil {
		if err := checkScale(in.Scale.Unit, scale); err != nil {
			return nil, err
		}
	}
	if len(in.LoadBalancers) > 1 {
		return nil, fail("InvalidParameterException", "A task set takes at most one load balancer.")
	}
	for _, ref := range in.LoadBalancers {
		if w.tgs[ref.TargetGroupArn] == nil {
			return nil, fail("InvalidParameterException", "Unable to find target group %s.", ref.TargetGroupArn)
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	now := w.now()
	id := "ecs-svc/" + w.id()
	ts := &taskSet{
		id: id, arn: w.arn("ecs", "task-set/"+svc.cluster+"/"+svc.name+"/"+id), externalID: in.ExternalID,
		taskDefinition: td.arn, status: statusActive, stability: stabilizing, scale: scale, loadBalancers: in.LoadBalancers,
		launchType: in.LaunchType, network: in.Network, createdAt: now, updatedAt: now,
	}
	if len(svc.taskSets) == 0 {
		ts.status, svc.taskDefinition = statusPrimary, td.arn
	}
	svc.taskSets = append(svc.taskSets, ts)
	if len(in.Tags) > 0 {
		w.tags[ts.arn] = in.Tags
	}
	w.sample()
	return obj{"taskSet": w.taskSetJSON(svc, ts, false)}, nil
}

func (w *World) updateTaskSet(body json.RawMessage) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Service string   `json:"service"`
		TaskSet string   `json:"taskSet"`
		Scale   *scaleIn `json:"scale"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Scale == nil || in.Scale.Value == nil {
		return nil, fail("InvalidParameterException", "Scale is required.")
	}
	if err := checkScale(in.Scale.Unit, *in.Scale.Value); err != nil {
		return nil, err
	}
	svc, err := w.findExternal(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	ts, err := findTaskSet(svc, in.TaskSet)
	if err != nil {
		return nil, err
	}
	if ts.scale != *in.Scale.Value {
		ts.scale, ts.stability, ts.polls, ts.updatedAt = *in.Scale.Value, stabilizing, 0, w.now()
	}
	w.sample()
	return obj{"taskSet": w.taskSetJSON(svc, ts, false)}, nil
}

// deleteTaskSet drains the set: its targets leave the target group at
// once, and the set is gone from the service after the next describe.
func (w *World) deleteTaskSet(body json.RawMessage) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Service string `json:"service"`
		TaskSet string `json:"taskSet"`
		Force   bool   `json:"force"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, err := w.findExternal(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	ts, err := findTaskSet(svc, in.TaskSet)
	if err != nil || ts.status == statusDraining {
		return nil, fail("TaskSetNotFoundException", "The specified task set %s does not exist.", in.TaskSet)
	}
	if ts.status == statusPrimary && !in.Force && len(svc.taskSets) > 1 {
		return nil, fail("InvalidParameterException", "Cannot delete the primary task set %s; make another one primary first.", ts.id)
	}
	ts.status, ts.updatedAt = statusDraining, w.now()
	out := obj{"taskSet": w.taskSetJSON(svc, ts, false)}
	svc.taskSets = slices.DeleteFunc(svc.taskSets, func(x *taskSet) bool { return x == ts })
	delete(w.tags, ts.arn)
	w.sample()
	return out, nil
}

func (w *World) describeTaskSets(body json.RawMessage) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Service  string   `json:"service"`
		TaskSets []string `json:"taskSets"`
		Include  []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, err := w.findExternal(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	sets, failures := []obj{}, []obj{}
	withTags := slices.Contains(in.Include, "TAGS")
	for _, ts := range svc.taskSets {
		if len(in.TaskSets) == 0 || slices.Contains(in.TaskSets, ts.id) || slices.Contains(in.TaskSets, ts.arn) {
			w.poll(ts)
			sets = append(sets, w.taskSetJSON(svc, ts, withTags))
		}
	}
	for _, ref := range in.TaskSets {
		if _, err := findTaskSet(svc, ref); err != nil {
			failures = append(failures, obj{"arn": ref, "reason": "MISSING"})
		}
	}
	w.sample()
	return obj{"taskSets": sets, "failures": failures}, nil
}

func (w *World) updateServicePrimaryTaskSet(body json.RawMessage) (any, error) {
	var in struct {
		Cluster        string `json:"cluster"`
		Service        string `json:"service"`
		PrimaryTaskSet string `json:"primaryTaskSet"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, err := w.findExternal(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	ts, err := findTaskSet(svc, in.PrimaryTaskSet)
	if err != nil {
		return nil, err
	}
	for _, other := range svc.taskSets {
		if other.status == statusPrimary {
			other.status = statusActive
		}
	}
	ts.status, ts.updatedAt, svc.taskDefinition = statusPrimary, w.now(), ts.taskDefinition
	return obj{"taskSet": w.taskSetJSON(svc, ts, false)}, nil
}
