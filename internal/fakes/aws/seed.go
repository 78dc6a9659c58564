package aws

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Seed describes a service to create behind a load balancer: what a
// user's infrastructure code would have set up before ramp's first run.
type Seed struct {
	// Cluster and Service name them; Controller is the service's
	// deployment controller (ControllerExternal when empty).
	Cluster    string `json:"cluster"`
	Service    string `json:"service"`
	Controller string `json:"controller,omitempty"`
	// DesiredCount is the service's task count (2 when zero).
	DesiredCount int `json:"desiredCount,omitempty"`
	// Family, Container, Port and Image make the first task definition
	// (family:1), which the primary task set runs at 100%.
	Family    string `json:"family"`
	Container string `json:"container"`
	Port      int    `json:"port"`
	Image     string `json:"image"`
	// LoadBalancer names the load balancer; Network makes it a Network
	// Load Balancer (TCP listener) instead of an Application one.
	LoadBalancer string `json:"loadBalancer"`
	Network      bool   `json:"network,omitempty"`
	// TargetGroups names the target groups (the first serves the primary
	// task set); the listener on port 80 forwards to the first.
	TargetGroups []string `json:"targetGroups"`
	// CircuitBreaker turns on the deployment circuit breaker, with its
	// rollback, of a service on the ECS controller.
	CircuitBreaker bool `json:"circuitBreaker,omitempty"`
	// RulePath, when set, adds a listener rule (priority 10) for that path
	// pattern that forwards to the first target group too.
	RulePath string `json:"rulePath,omitempty"`
}

// Seeded is what Seed made, by ARN.
type Seeded struct {
	Cluster, Service, TaskDefinition, PrimaryTaskSet string
	LoadBalancer, Listener, Rule                     string
	TargetGroups                                     []string
}

// Seed creates what s describes and returns the ARNs.
func (w *World) Seed(s Seed) (Seeded, error) {
	if s.Cluster == "" || s.Service == "" || s.Family == "" || s.Container == "" || s.Image == "" || s.LoadBalancer == "" || len(s.TargetGroups) == 0 {
		return Seeded{}, fmt.Errorf("seed %+v: cluster, service, family, container, image, loadBalancer and targetGroups are required", s)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.Controller == "" {
		s.Controller = ControllerExternal
	}
	if s.DesiredCount == 0 {
		s.DesiredCount = 2
	}
	if s.Port == 0 {
		s.Port = 8080
	}
	var out Seeded
	w.seedLoadBalancer(s, &out)
	c := w.clusters[s.Cluster]
	if c == nil {
		c = &cluster{name: s.Cluster, arn: w.arn("ecs", "cluster/"+s.Cluster), services: map[string]*service{}}
		w.clusters[s.Cluster] = c
	}
	containers, _ := json.Marshal([]obj{{"name": s.Container, "image": s.Image, "essential": true,
		"portMappings": []obj{{"containerPort": s.Port, "protocol": "tcp"}}}})
	reg, _ := json.Marshal(obj{"family": s.Family, "containerDefinitions": json.RawMessage(containers), "networkMode": "awsvpc",
		"requiresCompatibilities": []string{"FARGATE"}, "cpu": "256", "memory": "512"})
	if _, err := w.registerTaskDefinition(reg); err != nil {
		return Seeded{}, err
	}
	out.TaskDefinition = w.arn("ecs", "task-definition/"+s.Family+":"+strconv.Itoa(w.families[s.Family]))
	now := w.now()
	svc := &service{name: s.Service, arn: w.arn("ecs", "service/"+s.Cluster+"/"+s.Service), clusterArn: c.arn, cluster: c.name,
		controller: s.Controller, desired: s.DesiredCount, launchType: "FARGATE", createdAt: now,
		network: json.RawMessage(`{"awsvpcConfiguration":{"subnets":["subnet-0a1b2c3d"],"securityGroups":["sg-0a1b2c3d"],"assignPublicIp":"DISABLED"}}`)}
	c.services[s.Service] = svc
	out.Cluster, out.Service = c.arn, svc.arn
	id := "ecs-svc/" + w.id()
	ts := &taskSet{id: id, arn: w.arn("ecs", "task-set/"+c.name+"/"+svc.name+"/"+id), taskDefinition: out.TaskDefinition,
		status: statusPrimary, stability: steadyState, scale: 100, launchType: "FARGATE", network: svc.network,
		loadBalancers: []lbRef{{TargetGroupArn: out.TargetGroups[0], ContainerName: s.Container, ContainerPort: s.Port}},
		createdAt:     now, updatedAt: now, stableAt: now, healthPolls: w.healthyPolls}
	svc.taskSets = []*taskSet{ts}
	if s.Controller == ControllerExternal {
		out.PrimaryTaskSet = ts.arn
	} else {
		w.seedAdvanced(svc, s, out)
	}
	svc.taskDefinition = out.TaskDefinition
	w.sample()
	return out, nil
}

// seedAdvanced gives a service on the ECS controller its load balancer
// with the advanced configuration of ECS's blue/green strategies: the
// first target group, the second as the alternate, and the rule (or the
// listener's default rule) as the production listener rule.
func (w *World) seedAdvanced(svc *service, s Seed, out Seeded) {
	lb := svcLB{TargetGroupArn: out.TargetGroups[0], ContainerName: s.Container, ContainerPort: s.Port}
	if len(out.TargetGroups) > 1 {
		rule := out.Rule
		if rule == "" {
			rule = w.listeners[out.Listener].defaultRule
		}
		lb.Advanced = &advanced{AlternateTargetGroupArn: out.TargetGroups[1], ProductionListenerRule: rule,
			RoleArn: "arn:aws:iam::" + w.account + ":role/ecsInfrastructureRoleForLoadBalancers"}
	}
	svc.lbs = []svcLB{lb}
	raw := `{"strategy":"ROLLING","maximumPercent":200,"minimumHealthyPercent":100}`
	if s.CircuitBreaker {
		raw = `{"strategy":"ROLLING","maximumPercent":200,"minimumHealthyPercent":100,"deploymentCircuitBreaker":{"enable":true,"rollback":true}}`
	}
	if err := decode(json.RawMessage(raw), &svc.deployCfg); err != nil {
		panic(err) // the literals above
	}
	svc.deployCfg.raw = json.RawMessage(raw)
}

// seedLoadBalancer creates the load balancer, its target groups and its
// listener on port 80 (with the rule, if asked).
func (w *World) seedLoadBalancer(s Seed, out *Seeded) {
	kind, short, proto := "application", "app", "HTTP"
	if s.Network {
		kind, short, proto = "network", "net", "TCP"
	}
	lbID := w.hexID()
	lb := &loadBalancer{arn: w.arn("elasticloadbalancing", "loadbalancer/"+short+"/"+s.LoadBalancer+"/"+lbID), name: s.LoadBalancer, kind: kind}
	w.lbs[lb.arn] = lb
	for _, name := range s.TargetGroups {
		tg := &targetGroup{arn: w.arn("elasticloadbalancing", "targetgroup/"+name+"/"+w.hexID()), name: name, protocol: proto, port: s.Port}
		w.tgs[tg.arn] = tg
		out.TargetGroups = append(out.TargetGroups, tg.arn)
	}
	lid := w.hexID()
	l := &listener{arn: w.arn("elasticloadbalancing", "listener/"+short+"/"+s.LoadBalancer+"/"+lbID+"/"+lid), lbArn: lb.arn, protocol: proto, port: 80}
	w.listeners[l.arn] = l
	forward := func() []any {
		return []any{node{"Type": "forward", "TargetGroupArn": out.TargetGroups[0], "Order": "1"}}
	}
	def := &rule{arn: w.arn("elasticloadbalancing", "listener-rule/"+short+"/"+s.LoadBalancer+"/"+lbID+"/"+lid+"/"+w.hexID()),
		listenerArn: l.arn, priority: "default", isDefault: true, conditions: []any{}, actions: forward()}
	w.rules[def.arn], l.defaultRule = def, def.arn
	out.LoadBalancer, out.Listener = lb.arn, l.arn
	if s.RulePath != "" {
		r := &rule{arn: w.arn("elasticloadbalancing", "listener-rule/"+short+"/"+s.LoadBalancer+"/"+lbID+"/"+lid+"/"+w.hexID()),
			listenerArn: l.arn, priority: "10", actions: forward(),
			conditions: []any{node{"Field": "path-pattern", "PathPatternConfig": node{"Values": []any{s.RulePath}}}}}
		w.rules[r.arn], out.Rule = r, r.arn
	}
}

// Weights is the weight of each target group the rule's (a rule ARN) or
// the listener's default (a listener ARN) forward action sends to.
func (w *World) Weights(arn string) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := w.listeners[arn]; l != nil {
		arn = l.defaultRule
	}
	out := map[string]int{}
	if r := w.rules[arn]; r != nil {
		for _, a := range r.actions {
			for _, t := range targetTuples(a.(node)) {
				out[t.arn] = t.weight
			}
		}
	}
	return out
}

// TaskSet is a task set as tests look at it.
type TaskSet struct {
	ID, Status, Stability, TaskDefinition, Image, TargetGroup string
	Scale                                                     float64
}

// TaskSets lists the service's task sets.
func (w *World) TaskSets(clusterName, serviceName string) []TaskSet {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, svc, err := w.findService(clusterName, serviceName)
	if err != nil {
		return nil
	}
	var out []TaskSet
	for _, ts := range svc.taskSets {
		t := TaskSet{ID: ts.id, Status: ts.status, Stability: ts.stability, TaskDefinition: ts.taskDefinition, Image: w.image(ts), Scale: ts.scale}
		if len(ts.loadBalancers) > 0 {
			t.TargetGroup = ts.loadBalancers[0].TargetGroupArn
		}
		out = append(out, t)
	}
	return out
}

// Tags returns the resource's tags as a map.
func (w *World) Tags(arn string) map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for _, t := range w.tags[arn] {
		out[t.Key] = t.Value
	}
	return out
}

// SetWeights changes the rule's (or the listener's default) forward
// action to those weights, as another tool would, keeping its other
// members.
func (w *World) SetWeights(arn string, weights map[string]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := w.listeners[arn]; l != nil {
		arn = l.defaultRule
	}
	var tgs []any
	for _, tg := range slices.Sorted(maps.Keys(weights)) {
		tgs = append(tgs, node{"TargetGroupArn": tg, "Weight": strconv.Itoa(weights[tg])})
	}
	if r := w.rules[arn]; r != nil {
		r.actions = []any{node{"Type": "forward", "Order": "1", "ForwardConfig": node{"TargetGroups": tgs}}}
	}
	w.sample()
}
