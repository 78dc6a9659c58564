package aws

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

type loadBalancer struct {
	arn, name, kind string // kind: application or network
}

type listener struct {
	arn, lbArn, protocol string
	port                 int
	defaultRule          string // the ARN of its default rule
}

type rule struct {
	arn, listenerArn, priority string
	isDefault                  bool
	conditions, actions        []any
}

type targetGroup struct {
	arn, name, protocol string
	port                int
}

// dimension is the ARN's suffix CloudWatch names a load balancer or a
// target group by: "app/web/50dc6c495c0c9188", "targetgroup/blue/73e2d6bc24d8a067".
func dimension(arn string) string {
	_, rest, _ := strings.Cut(arn, ":loadbalancer/")
	if rest != "" {
		return rest
	}
	_, rest, _ = strings.Cut(arn, ":targetgroup/")
	return "targetgroup/" + rest
}

// elbOps are the ELBv2 operations the fake serves, by name.
func (w *World) elbOps() map[string]func(node) (any, error) {
	return map[string]func(node) (any, error){
		"DescribeListeners":    w.describeListeners,
		"DescribeRules":        w.describeRules,
		"ModifyListener":       w.modifyListener,
		"ModifyRule":           w.modifyRule,
		"CreateRule":           w.createRule,
		"DeleteRule":           w.deleteRule,
		"DescribeTargetGroups": w.describeTargetGroups,
		"DescribeTargetHealth": w.describeTargetHealth,
	}
}

func (w *World) listenerXML(l *listener) node {
	return node{"ListenerArn": l.arn, "LoadBalancerArn": l.lbArn, "Port": l.port, "Protocol": l.protocol,
		"DefaultActions": w.rules[l.defaultRule].actions}
}

func ruleXML(r *rule) node {
	return node{"RuleArn": r.arn, "Priority": r.priority, "IsDefault": r.isDefault, "Conditions": r.conditions, "Actions": r.actions}
}

func (w *World) findListener(arn string) (*listener, error) {
	if l := w.listeners[arn]; l != nil {
		return l, nil
	}
	return nil, fail("ListenerNotFound", "One or more listeners not found")
}

func (w *World) describeListeners(in node) (any, error) {
	out := []any{}
	if arns := strs(in, "ListenerArns"); len(arns) > 0 {
		for _, arn := range arns {
			l, err := w.findListener(arn)
			if err != nil {
				return nil, err
			}
			out = append(out, w.listenerXML(l))
		}
		return node{"Listeners": out}, nil
	}
	lb := str(in, "LoadBalancerArn")
	if w.lbs[lb] == nil {
		return nil, fail("LoadBalancerNotFound", "One or more load balancers not found")
	}
	for _, arn := range slices.Sorted(mapKeys(w.listeners)) {
		if l := w.listeners[arn]; l.lbArn == lb {
			out = append(out, w.listenerXML(l))
		}
	}
	return node{"Listeners": out}, nil
}

func (w *World) describeRules(in node) (any, error) {
	out := []any{}
	if arns := strs(in, "RuleArns"); len(arns) > 0 {
		for _, arn := range arns {
			r := w.rules[arn]
			if r == nil {
				return nil, fail("RuleNotFound", "One or more rules not found")
			}
			out = append(out, ruleXML(r))
		}
		return node{"Rules": out}, nil
	}
	l, err := w.findListener(str(in, "ListenerArn"))
	if err != nil {
		return nil, err
	}
	for _, arn := range slices.Sorted(mapKeys(w.rules)) {
		if r := w.rules[arn]; r.listenerArn == l.arn {
			out = append(out, ruleXML(r))
		}
	}
	return node{"Rules": out}, nil
}

func (w *World) modifyListener(in node) (any, error) {
	l, err := w.findListener(str(in, "ListenerArn"))
	if err != nil {
		return nil, err
	}
	if actions, ok := in["DefaultActions"]; ok {
		if err := w.checkActions(l, list(in, "DefaultActions")); err != nil {
			return nil, err
		}
		w.rules[l.defaultRule].actions = actions.([]any)
	}
	w.sample()
	return node{"Listeners": []any{w.listenerXML(l)}}, nil
}

func (w *World) modifyRule(in node) (any, error) {
	r := w.rules[str(in, "RuleArn")]
	if r == nil {
		return nil, fail("RuleNotFound", "One or more rules not found")
	}
	if r.isDefault {
		return nil, fail("OperationNotPermitted", "The default rule of a listener cannot be modified with ModifyRule; use ModifyListener")
	}
	if actions, ok := in["Actions"]; ok {
		if err := w.checkActions(w.listeners[r.listenerArn], list(in, "Actions")); err != nil {
			return nil, err
		}
		r.actions = actions.([]any)
	}
	if conds, ok := in["Conditions"]; ok {
		if err := checkConditions(list(in, "Conditions")); err != nil {
			return nil, err
		}
		r.conditions = conds.([]any)
	}
	w.sample()
	return node{"Rules": []any{ruleXML(r)}}, nil
}

// checkActions is ELBv2's rule for a forward action: known target groups,
// weights of 0..999, weighted forwarding on an Application Load Balancer
// only, and a stickiness of 1..604800 seconds when enabled.
func (w *World) checkActions(l *listener, actions []any) error {
	if len(actions) == 0 {
		return fail("ValidationError", "At least one action must be specified")
	}
	for _, a := range actions {
		an, _ := a.(node)
		if str(an, "Type") == "" {
			return fail("ValidationError", "An action must have a type")
		}
		if str(an, "Type") != "forward" {
			continue
		}
		if err := checkStickiness(an); err != nil {
			return err
		}
		tuples := targetTuples(an)
		if len(tuples) == 0 {
			return fail("ValidationError", "A forward action must name a target group")
		}
		if len(tuples) > 1 && w.lbs[l.lbArn].kind != "application" {
			return fail("ValidationError", "Weighted target groups are supported by Application Load Balancers only; %s is a %s load balancer", l.lbArn, w.lbs[l.lbArn].kind)
		}
		for _, t := range tuples {
			if w.tgs[t.arn] == nil {
				return fail("TargetGroupNotFound", "Target groups '%s' not found", t.arn)
			}
			if t.weight < 0 || t.weight > 999 {
				return fail("ValidationError", "Target group weight %d is outside 0..999", t.weight)
			}
		}
	}
	return nil
}

type tuple struct {
	arn    string
	weight int
}

// targetTuples are the target groups a forward action sends to, with
// their weights (1 for a lone TargetGroupArn or an unweighted tuple).
func targetTuples(action node) []tuple {
	fc, _ := action["ForwardConfig"].(node)
	var out []tuple
	for _, t := range list(fc, "TargetGroups") {
		tn, _ := t.(node)
		weight := 1
		if s := str(tn, "Weight"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				n = -1
			}
			weight = n
		}
		out = append(out, tuple{arn: str(tn, "TargetGroupArn"), weight: weight})
	}
	if len(out) == 0 && str(action, "TargetGroupArn") != "" {
		out = append(out, tuple{arn: str(action, "TargetGroupArn"), weight: 1})
	}
	return out
}

func (w *World) describeTargetGroups(in node) (any, error) {
	var arns []string
	switch {
	case len(strs(in, "TargetGroupArns")) > 0:
		arns = strs(in, "TargetGroupArns")
		for _, arn := range arns {
			if w.tgs[arn] == nil {
				return nil, fail("TargetGroupNotFound", "One or more target groups not found")
			}
		}
	default:
		arns = slices.Sorted(mapKeys(w.tgs))
	}
	out := []any{}
	for _, arn := range arns {
		tg := w.tgs[arn]
		out = append(out, node{"TargetGroupArn": tg.arn, "TargetGroupName": tg.name, "Protocol": tg.protocol,
			"Port": tg.port, "TargetType": "ip", "LoadBalancerArns": w.lbsOf(tg.arn)})
	}
	return node{"TargetGroups": out}, nil
}

// lbsOf lists the load balancers whose rules forward to the target group.
func (w *World) lbsOf(tgArn string) []any {
	seen := map[string]bool{}
	for _, r := range w.rules {
		for _, a := range r.actions {
			an, _ := a.(node)
			for _, t := range targetTuples(an) {
				if t.arn == tgArn {
					seen[w.listeners[r.listenerArn].lbArn] = true
				}
			}
		}
	}
	out := []any{}
	for _, arn := range slices.Sorted(mapKeys(seen)) {
		out = append(out, arn)
	}
	return out
}

// describeTargetHealth lists the targets of the task sets registered in
// the group: initial until the group was polled healthyPolls times since
// the set started, then healthy, or unhealthy for an image that never
// passes its health check.
func (w *World) describeTargetHealth(in node) (any, error) {
	arn := str(in, "TargetGroupArn")
	if w.tgs[arn] == nil {
		return nil, fail("TargetGroupNotFound", "Target groups '%s' not found", arn)
	}
	out := []any{}
	for _, m := range w.members(arn) {
		m.set.healthPolls++
		state, reason := "initial", "Elb.RegistrationInProgress"
		switch {
		case m.set.healthPolls >= w.healthyPolls && !w.behave(w.image(m.set)).Healthy:
			state, reason = "unhealthy", "Target.FailedHealthChecks"
		case w.healthy(m.set):
			state, reason = "healthy", ""
		}
		for i := range m.set.count(m.svc) {
			th := node{"State": state}
			if reason != "" {
				th["Reason"] = reason
			}
			out = append(out, node{"Target": node{"Id": fmt.Sprintf("10.0.%d.%d", m.n, i+10), "Port": w.tgs[arn].port},
				"HealthCheckPort": strconv.Itoa(w.tgs[arn].port), "TargetHealth": th})
		}
	}
	w.sample()
	return node{"TargetHealthDescriptions": out}, nil
}

// healthy reports whether the set's targets pass their health checks.
func (w *World) healthy(ts *taskSet) bool {
	return w.behave(w.image(ts)).Healthy && (ts.healthPolls >= w.healthyPolls || ts.stability == steadyState)
}

type member struct {
	svc *service
	set *taskSet
	n   int
}

// members are the task sets registered in the target group.
func (w *World) members(tgArn string) []member {
	var out []member
	n := 0
	for _, c := range sortedValues(w.clusters) {
		for _, svc := range sortedValues(c.services) {
			for _, ts := range svc.taskSets {
				n++
				for _, ref := range ts.loadBalancers {
					if ref.TargetGroupArn == tgArn && ts.status != statusDraining {
						out = append(out, member{svc: svc, set: ts, n: n})
					}
				}
			}
		}
	}
	return out
}
