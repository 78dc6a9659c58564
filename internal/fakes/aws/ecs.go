package aws

import (
	"encoding/json"
	"slices"
	"time"
)

// obj is a JSON object as ECS answers it.
type obj = map[string]any

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// ecsOps are the ECS operations the fake serves, by name.
func (w *World) ecsOps() map[string]func(json.RawMessage) (any, error) {
	return map[string]func(json.RawMessage) (any, error){
		"DescribeServices":            w.describeServices,
		"DescribeTaskDefinition":      w.describeTaskDefinition,
		"RegisterTaskDefinition":      w.registerTaskDefinition,
		"CreateTaskSet":               w.createTaskSet,
		"UpdateTaskSet":               w.updateTaskSet,
		"DeleteTaskSet":               w.deleteTaskSet,
		"DescribeTaskSets":            w.describeTaskSets,
		"UpdateServicePrimaryTaskSet": w.updateServicePrimaryTaskSet,
		"TagResource":                 w.tagResource,
		"UntagResource":               w.untagResource,
		"ListTagsForResource":         w.listTagsForResource,
		"UpdateService":               w.updateService,
		"DescribeServiceDeployments":  w.describeServiceDeployments,
		"ContinueServiceDeployment":   w.continueServiceDeployment,
		"StopServiceDeployment":       w.stopServiceDeployment,
	}
}

// decode reads the request body into v; a malformed one is a
// SerializationException, as ECS answers.
func decode(body json.RawMessage, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fail("SerializationException", "%v", err)
	}
	return nil
}

func (w *World) serviceJSON(svc *service, withTags bool) obj {
	out := obj{
		"serviceArn": svc.arn, "serviceName": svc.name, "clusterArn": svc.clusterArn, "status": "ACTIVE",
		"desiredCount": svc.desired, "schedulingStrategy": "REPLICA", "createdAt": epoch(svc.createdAt),
		"deploymentController": obj{"type": svc.controller},
	}
	running := 0
	var sets []obj
	for _, ts := range svc.taskSets {
		w.poll(ts)
		sets = append(sets, w.taskSetJSON(svc, ts, false))
		if ts.stability == steadyState {
			running += ts.count(svc)
		}
	}
	out["runningCount"] = running
	if svc.controller == ControllerExternal {
		out["taskSets"] = sets
	} else {
		w.ecsControllerJSON(svc, out)
	}
	if svc.taskDefinition != "" {
		out["taskDefinition"] = svc.taskDefinition
	}
	if svc.launchType != "" {
		out["launchType"] = svc.launchType
	}
	if len(svc.network) > 0 {
		out["networkConfiguration"] = svc.network
	}
	if withTags {
		out["tags"] = w.tagsOf(svc.arn)
	}
	return out
}

func (w *World) taskSetJSON(svc *service, ts *taskSet, withTags bool) obj {
	n := ts.count(svc)
	running := 0
	if ts.stability == steadyState {
		running = n
	}
	out := obj{
		"id": ts.id, "taskSetArn": ts.arn, "serviceArn": svc.arn, "clusterArn": svc.clusterArn,
		"status": ts.status, "taskDefinition": ts.taskDefinition, "computedDesiredCount": n,
		"runningCount": running, "pendingCount": n - running, "createdAt": epoch(ts.createdAt), "updatedAt": epoch(ts.updatedAt),
		"scale": obj{"unit": "PERCENT", "value": ts.scale}, "stabilityStatus": ts.stability,
		"loadBalancers": ts.loadBalancers,
	}
	if ts.externalID != "" {
		out["externalId"] = ts.externalID
	}
	if !ts.stableAt.IsZero() {
		out["stabilityStatusAt"] = epoch(ts.stableAt)
	}
	if ts.launchType != "" {
		out["launchType"] = ts.launchType
	}
	if len(ts.network) > 0 {
		out["networkConfiguration"] = ts.network
	}
	if withTags {
		out["tags"] = w.tagsOf(ts.arn)
	}
	return out
}

// tagsOf is a copy of arn's tags: a response is encoded after the world's
// lock is released, while another call may change the stored slice.
func (w *World) tagsOf(arn string) []tag {
	return append([]tag{}, w.tags[arn]...)
}

func (w *World) describeServices(body json.RawMessage) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
		Include  []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, fail("InvalidParameterException", "Services must hold 1 to 10 names.")
	}
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, "TAGS")
	services, failures := []obj{}, []obj{}
	for _, ref := range in.Services {
		if _, svc, err := w.findService(c.arn, ref); err == nil {
			services = append(services, w.serviceJSON(svc, withTags))
		} else {
			failures = append(failures, obj{"arn": w.arn("ecs", "service/"+c.name+"/"+ref), "reason": "MISSING"})
		}
	}
	w.sample()
	return obj{"services": services, "failures": failures}, nil
}

func (w *World) describeTaskDefinition(body json.RawMessage) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	td, err := w.findTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := obj{"taskDefinition": td.members}
	if slices.Contains(in.Include, "TAGS") {
		out["tags"] = w.tagsOf(td.arn)
	}
	return out, nil
}

// registerTaskDefinition keeps every member sent, and adds the ones ECS
// sets: the ARN, the revision and the status.
func (w *World) registerTaskDefinition(body json.RawMessage) (any, error) {
	var members map[string]json.RawMessage
	if err := decode(body, &members); err != nil {
		return nil, err
	}
	var in struct {
		Family     string            `json:"family"`
		Containers []json.RawMessage `json:"containerDefinitions"`
		Tags       []tag             `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Family == "" || len(in.Containers) == 0 {
		return nil, fail("ClientException", "A task definition needs a family and at least one container definition.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	w.families[in.Family]++
	rev := w.families[in.Family]
	delete(members, "tags")
	td := &taskDef{arn: w.arn("ecs", "task-definition/"+in.Family+":"+itoa(rev)), members: members}
	set := func(k string, v any) { b, _ := json.Marshal(v); td.members[k] = b }
	set("taskDefinitionArn", td.arn)
	set("revision", rev)
	set("status", "ACTIVE")
	set("registeredAt", epoch(w.now()))
	w.taskDefs[td.arn] = td
	if len(in.Tags) > 0 {
		w.tags[td.arn] = in.Tags
	}
	return obj{"taskDefinition": td.members, "tags": w.tagsOf(td.arn)}, nil
}

func (w *World) tagResource(body json.RawMessage) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
		Tags        []tag  `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !w.resourceExists(in.ResourceArn) {
		return nil, fail("ResourceNotFoundException", "The specified resource could not be found.")
	}
	merged := mergeTags(w.tags[in.ResourceArn], in.Tags)
	if err := checkTags(merged); err != nil {
		return nil, err
	}
	w.tags[in.ResourceArn] = merged
	return obj{}, nil
}

func (w *World) untagResource(body json.RawMessage) (any, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !w.resourceExists(in.ResourceArn) {
		return nil, fail("ResourceNotFoundException", "The specified resource could not be found.")
	}
	w.tags[in.ResourceArn] = slices.DeleteFunc(w.tags[in.ResourceArn], func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
	return obj{}, nil
}

func (w *World) listTagsForResource(body json.RawMessage) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !w.resourceExists(in.ResourceArn) {
		return nil, fail("ResourceNotFoundException", "The specified resource could not be found.")
	}
	return obj{"tags": w.tagsOf(in.ResourceArn)}, nil
}
