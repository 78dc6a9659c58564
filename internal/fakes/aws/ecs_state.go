package aws

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// The deployment controllers and task set states ECS reports.
const (
	ControllerECS      = "ECS"
	ControllerExternal = "EXTERNAL"

	statusPrimary  = "PRIMARY"
	statusActive   = "ACTIVE"
	statusDraining = "DRAINING"
	steadyState    = "STEADY_STATE"
	stabilizing    = "STABILIZING"
)

type cluster struct {
	name, arn string
	services  map[string]*service // by name
}

type service struct {
	name, arn, clusterArn string
	cluster               string // its name
	controller            string
	desired               int
	taskDefinition        string // the primary task set's, for EXTERNAL
	launchType            string
	network               json.RawMessage
	taskSets              []*taskSet // on the ECS controller: the revisions' tasks, not shown
	createdAt             time.Time
	// lbs, deployCfg and current are a service's on the ECS controller:
	// its load balancers, deployment configuration and last deployment.
	lbs       []svcLB
	deployCfg depConfig
	current   *svcDeployment
}

type taskSet struct {
	id, arn, externalID, taskDefinition string
	status, stability                   string
	scale                               float64
	polls                               int // describes since the last change
	healthPolls                         int // DescribeTargetHealth calls on its target group since it started
	loadBalancers                       []lbRef
	launchType                          string
	network                             json.RawMessage
	createdAt, updatedAt, stableAt      time.Time
}

// lbRef is one of a task set's load balancers: where its tasks register.
type lbRef struct {
	TargetGroupArn string `json:"targetGroupArn,omitempty"`
	ContainerName  string `json:"containerName,omitempty"`
	ContainerPort  int    `json:"containerPort,omitempty"`
}

// taskDef is a registered task definition, kept as the JSON members ECS
// answers with (containerDefinitions and the rest as they were sent).
type taskDef struct {
	arn     string
	members map[string]json.RawMessage
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// count is the tasks the set runs at its scale of the service's desired
// count (rounded up, as ECS computes computedDesiredCount).
func (ts *taskSet) count(svc *service) int {
	return int(math.Ceil(float64(svc.desired)*ts.scale/100 - 1e-9))
}

// image is the image of the task set's first container.
func (w *World) image(ts *taskSet) string {
	td := w.taskDefs[ts.taskDefinition]
	if td == nil {
		return ""
	}
	var cs []struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	if json.Unmarshal(td.members["containerDefinitions"], &cs) != nil || len(cs) == 0 {
		return ""
	}
	for _, ref := range ts.loadBalancers {
		for _, c := range cs {
			if c.Name == ref.ContainerName {
				return c.Image
			}
		}
	}
	return cs[0].Image
}

// poll advances the set's stabilisation by one describe: it reaches
// STEADY_STATE once stabilizePolls describes passed and its tasks pass
// their health checks.
func (w *World) poll(ts *taskSet) {
	if ts.status == statusDraining || ts.stability == steadyState {
		return
	}
	ts.polls++
	if ts.polls >= w.stabilizePolls && w.behave(w.image(ts)).Healthy {
		ts.stability, ts.stableAt = steadyState, w.now()
	}
}

// findCluster resolves a cluster name or ARN; empty is "default".
func (w *World) findCluster(ref string) (*cluster, error) {
	if ref == "" {
		ref = "default"
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		_, name, _ = strings.Cut(ref, ":cluster/")
	}
	c := w.clusters[name]
	if c == nil {
		return nil, fail("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

// findService resolves a service name or ARN in the cluster.
func (w *World) findService(clusterRef, ref string) (*cluster, *service, error) {
	c, err := w.findCluster(clusterRef)
	if err != nil {
		return nil, nil, err
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		name = ref[strings.LastIndex(ref, "/")+1:]
	}
	svc := c.services[name]
	if svc == nil {
		return nil, nil, fail("ServiceNotFoundException", "Service not found.")
	}
	return c, svc, nil
}

// findExternal is findService for the task-set calls, which only a
// service on the EXTERNAL deployment controller takes.
func (w *World) findExternal(clusterRef, ref string) (*service, error) {
	_, svc, err := w.findService(clusterRef, ref)
	if err != nil {
		return nil, err
	}
	if svc.controller != ControllerExternal {
		return nil, fail("InvalidParameterException", "Amazon ECS only supports task set management on services configured to use external deployment controllers.")
	}
	return svc, nil
}

// findTaskSet resolves a task set ID or ARN of the service.
func findTaskSet(svc *service, ref string) (*taskSet, error) {
	for _, ts := range svc.taskSets {
		if ts.id == ref || ts.arn == ref {
			return ts, nil
		}
	}
	return nil, fail("TaskSetNotFoundException", "The specified task set %s does not exist.", ref)
}

// findTaskDef resolves family, family:revision or an ARN to the ARN of a
// registered task definition.
func (w *World) findTaskDef(ref string) (*taskDef, error) {
	if !strings.HasPrefix(ref, "arn:") {
		fam, rev, ok := strings.Cut(ref, ":")
		if !ok {
			rev = fmt.Sprint(w.families[fam])
		}
		ref = w.arn("ecs", "task-definition/"+fam+":"+rev)
	}
	td := w.taskDefs[ref]
	if td == nil {
		return nil, fail("ClientException", "Unable to describe task definition.")
	}
	return td, nil
}

// checkScale is ECS's rule for a task set's scale.
func checkScale(unit string, value float64) error {
	if unit != "" && unit != "PERCENT" {
		return fail("InvalidParameterException", "Scale unit must be PERCENT.")
	}
	if value < 0 || value > 100 || math.IsNaN(value) {
		return fail("InvalidParameterException", "Scale value must be between 0 and 100.")
	}
	return nil
}

// checkTags is ECS's rule for the tags of a resource after a TagResource:
// at most 50, keys of 1..128 characters not starting with aws:, values of
// at most 256.
func checkTags(merged []tag) error {
	if len(merged) > 50 {
		return fail("InvalidParameterException", "The number of tags (%d) exceeds the limit of 50 tags per resource.", len(merged))
	}
	for _, t := range merged {
		switch {
		case t.Key == "" || len([]rune(t.Key)) > 128:
			return fail("InvalidParameterException", "Tag key %q must be 1 to 128 characters.", t.Key)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return fail("InvalidParameterException", "Tag keys with the aws: prefix are reserved.")
		case len([]rune(t.Value)) > 256:
			return fail("InvalidParameterException", "Tag value of key %q is %d characters, over the limit of 256.", t.Key, len([]rune(t.Value)))
		}
	}
	return nil
}

// mergeTags is cur with add set (a key given again takes the new value).
func mergeTags(cur, add []tag) []tag {
	out := append([]tag(nil), cur...)
	for _, a := range add {
		found := false
		for i := range out {
			if out[i].Key == a.Key {
				out[i].Value, found = a.Value, true
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

// resourceExists reports whether the ARN names a cluster, service, task
// set or task definition the fake holds.
func (w *World) resourceExists(arn string) bool {
	if w.taskDefs[arn] != nil {
		return true
	}
	for _, c := range w.clusters {
		if c.arn == arn {
			return true
		}
		for _, s := range c.services {
			if s.arn == arn {
				return true
			}
			for _, ts := range s.taskSets {
				if ts.arn == arn {
					return true
				}
			}
		}
	}
	return false
}
