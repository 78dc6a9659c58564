package aws

import (
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// maxConditionValues is ALB's limit of condition values in one rule.
const maxConditionValues = 5

// maxStickiness is ALB's longest target group stickiness: 7 days.
const maxStickiness = 604800

// createRule adds a rule to a listener, as ELBv2 does: a priority of
// 1..50000 no other rule of the listener holds (PriorityInUse), at least
// one condition and at most five condition values, and valid actions.
func (w *World) createRule(in node) (any, error) {
	l, err := w.findListener(str(in, "ListenerArn"))
	if err != nil {
		return nil, err
	}
	prio := str(in, "Priority")
	if n, err := strconv.Atoi(prio); err != nil || n < 1 || n > 50000 {
		return nil, fail("ValidationError", "Priority '%s' is outside 1..50000", prio)
	}
	for _, r := range w.rules {
		if r.listenerArn == l.arn && r.priority == prio {
			return nil, fail("PriorityInUse", "Priority '%s' is currently in use", prio)
		}
	}
	conds := list(in, "Conditions")
	if err := checkConditions(conds); err != nil {
		return nil, err
	}
	actions := list(in, "Actions")
	if err := w.checkActions(l, actions); err != nil {
		return nil, err
	}
	r := &rule{arn: strings.Replace(l.arn, ":listener/", ":listener-rule/", 1) + "/" + w.hexID(),
		listenerArn: l.arn, priority: prio, conditions: conds, actions: actions}
	w.rules[r.arn] = r
	w.sample()
	return node{"Rules": []any{ruleXML(r)}}, nil
}

// deleteRule removes a rule; a listener's default rule cannot be deleted.
func (w *World) deleteRule(in node) (any, error) {
	r := w.rules[str(in, "RuleArn")]
	if r == nil {
		return nil, fail("RuleNotFound", "One or more rules not found")
	}
	if r.isDefault {
		return nil, fail("OperationNotPermitted", "A listener's default rule cannot be deleted")
	}
	delete(w.rules, r.arn)
	w.sample()
	return node{}, nil
}

// checkConditions is ELBv2's rule for a rule's conditions: at least one,
// each with a known field and values, at most five values in all.
func checkConditions(conds []any) error {
	if len(conds) == 0 {
		return fail("ValidationError", "A rule must have at least one condition")
	}
	n := 0
	for _, c := range conds {
		cn, _ := c.(node)
		vals := conditionValues(cn)
		if len(vals) == 0 {
			return fail("ValidationError", "Condition '%s' has no values", str(cn, "Field"))
		}
		if str(cn, "Field") == "http-header" && str(nodeAt(cn, "HttpHeaderConfig"), "HttpHeaderName") == "" {
			return fail("ValidationError", "An http-header condition must name a header")
		}
		n += len(vals)
	}
	if n > maxConditionValues {
		return fail("TooManyConditionValues", "A rule can only have '%d' condition values; this one has %d", maxConditionValues, n)
	}
	return nil
}

// checkStickiness is ELBv2's rule for a forward action's stickiness: when
// enabled, a duration of 1..604800 seconds.
func checkStickiness(action node) error {
	sc := nodeAt(nodeAt(action, "ForwardConfig"), "TargetGroupStickinessConfig")
	if str(sc, "Enabled") != "true" {
		return nil
	}
	d, err := strconv.Atoi(str(sc, "DurationSeconds"))
	if err != nil || d < 1 || d > maxStickiness {
		return fail("ValidationError", "Target group stickiness duration '%s' is outside 1..%d seconds", str(sc, "DurationSeconds"), maxStickiness)
	}
	return nil
}

func nodeAt(n node, key string) node {
	c, _ := n[key].(node)
	return c
}

// condValue is one value a condition matches: a key (query-string only)
// and a value.
type condValue struct{ key, value string }

// conditionValues are the values of a condition, from its config or its
// legacy Values.
func conditionValues(c node) []condValue {
	var out []condValue
	switch str(c, "Field") {
	case "http-header":
		for _, v := range strs(nodeAt(c, "HttpHeaderConfig"), "Values") {
			out = append(out, condValue{value: v})
		}
	case "query-string":
		for _, v := range list(nodeAt(c, "QueryStringConfig"), "Values") {
			vn, _ := v.(node)
			out = append(out, condValue{key: str(vn, "Key"), value: str(vn, "Value")})
		}
	case "path-pattern":
		for _, v := range strs(nodeAt(c, "PathPatternConfig"), "Values") {
			out = append(out, condValue{value: v})
		}
	case "host-header":
		for _, v := range strs(nodeAt(c, "HostHeaderConfig"), "Values") {
			out = append(out, condValue{value: v})
		}
	}
	if len(out) == 0 {
		for _, v := range strs(c, "Values") {
			out = append(out, condValue{value: v})
		}
	}
	return out
}

// hasCohortCondition reports whether a rule matches by header or query
// string: the fake's synthetic load carries neither, so such a rule takes
// none of it (Route tells where one request goes).
func hasCohortCondition(r *rule) bool {
	for _, c := range r.conditions {
		if f := str(c.(node), "Field"); f == "http-header" || f == "query-string" {
			return true
		}
	}
	return false
}

// Route is the forward action's weights (by target group ARN) that the
// listener applies to req: that of the rule of lowest priority number
// whose conditions all match it (path-pattern, host-header, http-header,
// query-string, with ALB's * and ? wildcards and case-insensitive header
// values), or the default action's.
func (w *World) Route(listenerArn string, req *http.Request) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.listeners[listenerArn]
	if l == nil {
		return nil
	}
	var rules []*rule
	for _, r := range w.rules {
		if r.listenerArn == l.arn && !r.isDefault {
			rules = append(rules, r)
		}
	}
	slices.SortFunc(rules, func(a, b *rule) int {
		x, _ := strconv.Atoi(a.priority)
		y, _ := strconv.Atoi(b.priority)
		return x - y
	})
	chosen := w.rules[l.defaultRule]
	for _, r := range rules {
		if matchesAll(r.conditions, req) {
			chosen = r
			break
		}
	}
	out := map[string]int{}
	for _, a := range chosen.actions {
		for _, t := range targetTuples(a.(node)) {
			out[t.arn] = t.weight
		}
	}
	return out
}

// Stickiness is whether the forward action of the rule (a rule ARN) or of
// the listener's default (a listener ARN) keeps clients on a target
// group, and for how many seconds.
func (w *World) Stickiness(arn string) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := w.listeners[arn]; l != nil {
		arn = l.defaultRule
	}
	r := w.rules[arn]
	if r == nil {
		return false, 0
	}
	for _, a := range r.actions {
		sc := nodeAt(nodeAt(a.(node), "ForwardConfig"), "TargetGroupStickinessConfig")
		d, _ := strconv.Atoi(str(sc, "DurationSeconds"))
		return str(sc, "Enabled") == "true", d
	}
	return false, 0
}

func matchesAll(conds []any, req *http.Request) bool {
	for _, c := range conds {
		if !matchesOne(c.(node), req) {
			return false
		}
	}
	return true
}

func matchesOne(c node, req *http.Request) bool {
	vals := conditionValues(c)
	for _, v := range vals {
		switch str(c, "Field") {
		case "http-header":
			for _, got := range req.Header.Values(str(nodeAt(c, "HttpHeaderConfig"), "HttpHeaderName")) {
				if wildcard(strings.ToLower(v.value), strings.ToLower(got)) {
					return true
				}
			}
		case "query-string":
			for k, got := range req.URL.Query() {
				if v.key != "" && !wildcard(strings.ToLower(v.key), strings.ToLower(k)) {
					continue
				}
				for _, g := range got {
					if wildcard(strings.ToLower(v.value), strings.ToLower(g)) {
						return true
					}
				}
			}
		case "path-pattern":
			if wildcard(v.value, req.URL.Path) {
				return true
			}
		case "host-header":
			if wildcard(strings.ToLower(v.value), strings.ToLower(req.Host)) {
				return true
			}
		}
	}
	return false
}

// wildcard matches s against ALB's pattern: * any run of characters, ?
// any one.
func wildcard(pattern, s string) bool {
	// path.Match treats / specially and knows classes; escape those so
	// only * and ? are special, and let * cross slashes by matching the
	// slashes away first.
	esc := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "/", "\x00").Replace
	ok, err := path.Match(esc(pattern), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}
