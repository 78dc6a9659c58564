package ecs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/ramp-deploy/ramp/providers"
)

// An A/B test on mode tasksets (strategy ab) is a listener rule of ramp's
// in front of the weighted rule (or the listener's default action): its
// conditions are the match rules (ALB http-header or query-string
// conditions, plus the conditions of listener-rule, so it catches only
// requests the weighted rule would have taken), and it forwards them all to
// the candidate's target group. Sticky is the target group stickiness of
// the weighted forward action, for stickyFor. The rule's priority is stated
// in the record (state.AB) with the intent, before the rule is made, so a
// process stopped in between leaves a rule every reader finds and the next
// transition deletes or remakes.

// stickyFor is how long a client keeps the version ALB first gave it in a
// sticky A/B test: ALB's longest, since the test ends with promote or
// rollback, which turn stickiness off.
const stickyFor = 604800

// abRule is the A/B routing ramp applies on the listener.
type abRule struct {
	// Priority is the priority of ramp's rule; 0 when the routing has no
	// match rules (sticky only).
	Priority int `json:"priority,omitempty"`
	// Routing is the routing the rule and the stickiness make.
	Routing providers.Routing `json:"routing"`
}

// RoutesBy lists the match kinds ALB routes by in mode tasksets: header
// and query (a cookie is not an ALB condition), with sticky sessions by
// target group stickiness. Mode native routes by none: ECS moves the
// weights of its deployment itself, with no rule of ramp's.
func (p *Provider) RoutesBy(context.Context) ([]string, bool) {
	if p.native() {
		return nil, false
	}
	return []string{providers.MatchHeader, providers.MatchQuery}, true
}

// abConditions are the ALB conditions of rt's match rules: one rule whose
// conditions ALB ANDs cannot say "any of them" across fields, so all match
// rules must read the same header (its values ORed) or all be query
// parameters (their pairs ORed). Every bad rule is named, all at once.
func abConditions(rt *providers.Routing) ([]elbtypes.RuleCondition, error) {
	if rt.Empty() || len(rt.Match) == 0 {
		return nil, nil
	}
	first := rt.Match[0]
	var bad []string
	var values []string
	var pairs []elbtypes.QueryStringKeyValuePair
	for _, m := range rt.Match {
		switch {
		case m.Kind != providers.MatchHeader && m.Kind != providers.MatchQuery:
			bad = append(bad, fmt.Sprintf("%s: ALB routes by header or query only (a cookie is not an ALB condition)", m))
		case m.Kind != first.Kind || (m.Kind == providers.MatchHeader && !strings.EqualFold(m.Name, first.Name)):
			bad = append(bad, fmt.Sprintf("%s: an ALB rule matches one header, or query parameters, not both or two headers; give rules of one kind (and one header name) like %s", m, first))
		case strings.ContainsAny(m.Name+m.Value, "*?"):
			bad = append(bad, fmt.Sprintf("%s: * and ? are ALB wildcards; match an exact value", m))
		case m.Kind == providers.MatchHeader:
			values = append(values, m.Value)
		default:
			pairs = append(pairs, elbtypes.QueryStringKeyValuePair{Key: aws.String(m.Name), Value: aws.String(m.Value)})
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: match %s", providers.ErrInvalid, strings.Join(bad, "; "))
	}
	if first.Kind == providers.MatchHeader {
		return []elbtypes.RuleCondition{{Field: aws.String("http-header"),
			HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String(first.Name), Values: values}}}, nil
	}
	return []elbtypes.RuleCondition{{Field: aws.String("query-string"), QueryStringConfig: &elbtypes.QueryStringConditionConfig{Values: pairs}}}, nil
}

// listenerRules reads every rule of the listener.
func (p *Provider) listenerRules(ctx context.Context) ([]elbtypes.Rule, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return nil, err
	}
	var out []elbtypes.Rule
	in := &elbv2.DescribeRulesInput{ListenerArn: aws.String(p.cfg.Listener)}
	for {
		page, err := c.elb.DescribeRules(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Rules...)
		if aws.ToString(page.NextMarker) == "" {
			return out, nil
		}
		in.Marker = page.NextMarker
	}
}

// ruleAt is the rule at the priority, or nil.
func ruleAt(rules []elbtypes.Rule, prio int) *elbtypes.Rule {
	for i := range rules {
		if aws.ToString(rules[i].Priority) == strconv.Itoa(prio) {
			return &rules[i]
		}
	}
	return nil
}

// abPlan is what a shift with routing makes: the A/B state it states, the
// conditions of ramp's rule, and the rule at its priority now (nil for
// none).
type abPlan struct {
	ab    *abRule
	conds []elbtypes.RuleCondition
	rule  *elbtypes.Rule
}

// planAB is the A/B state a shift with routing rt states with its intent:
// the priority ramp's rule has (the recorded one, or a free one just in
// front of listener-rule, or the last before the default action) and the
// conditions it gets (the match rules', then listener-rule's), at most
// five values in all as ALB allows.
func (p *Provider) planAB(ctx context.Context, cur *abRule, rt *providers.Routing) (abPlan, error) {
	conds, err := abConditions(rt)
	if err != nil {
		return abPlan{}, err
	}
	if len(conds) == 0 { // sticky only: the recorded rule, if any, goes
		ab := &abRule{Routing: *rt}
		if cur != nil {
			ab.Priority = cur.Priority
		}
		return abPlan{ab: ab}, nil
	}
	rules, err := p.listenerRules(ctx)
	if err != nil {
		return abPlan{}, err
	}
	limit, where := 50001, "the listener"
	if p.cfg.ListenerRule != "" {
		i := slices.IndexFunc(rules, func(r elbtypes.Rule) bool { return aws.ToString(r.RuleArn) == p.cfg.ListenerRule })
		if i < 0 {
			return abPlan{}, fmt.Errorf("%w: no listener rule %s on listener %s", providers.ErrNotFound, p.cfg.ListenerRule, p.cfg.Listener)
		}
		limit, _ = strconv.Atoi(aws.ToString(rules[i].Priority))
		where = "listener rule " + p.cfg.ListenerRule
		for _, c := range rules[i].Conditions {
			conds = append(conds, condition(c))
		}
	}
	if n := conditionValues(conds); n > 5 {
		return abPlan{}, fmt.Errorf("%w: the A/B rule would have %d condition values (match rules and those of %s); ALB allows 5", providers.ErrInvalid, n, where)
	}
	prio := 0
	if cur != nil && cur.Priority > 0 && cur.Priority < limit {
		prio = cur.Priority
	}
	for n := limit - 1; prio == 0 && n >= 1; n-- {
		if ruleAt(rules, n) == nil {
			prio = n
		}
	}
	if prio == 0 {
		return abPlan{}, fmt.Errorf("%w: no priority in front of %s is free for the A/B rule", providers.ErrInvalid, where)
	}
	return abPlan{ab: &abRule{Priority: prio, Routing: *rt}, conds: conds, rule: ruleAt(rules, prio)}, nil
}

// condition is c as a rule takes it: its field and its config, without
// the legacy Values ALB also answers with.
func condition(c elbtypes.RuleCondition) elbtypes.RuleCondition {
	out := elbtypes.RuleCondition{Field: c.Field, HostHeaderConfig: c.HostHeaderConfig, HttpHeaderConfig: c.HttpHeaderConfig,
		HttpRequestMethodConfig: c.HttpRequestMethodConfig, PathPatternConfig: c.PathPatternConfig,
		QueryStringConfig: c.QueryStringConfig, SourceIpConfig: c.SourceIpConfig}
	if out.HostHeaderConfig == nil && out.HttpHeaderConfig == nil && out.HttpRequestMethodConfig == nil &&
		out.PathPatternConfig == nil && out.QueryStringConfig == nil && out.SourceIpConfig == nil {
		out.Values = c.Values
	}
	return out
}

// conditionValues counts the values of the conditions, as ALB's limit does.
func conditionValues(conds []elbtypes.RuleCondition) int {
	n := 0
	for _, c := range conds {
		switch {
		case c.HttpHeaderConfig != nil:
			n += len(c.HttpHeaderConfig.Values)
		case c.QueryStringConfig != nil:
			n += len(c.QueryStringConfig.Values)
		case c.PathPatternConfig != nil:
			n += len(c.PathPatternConfig.Values)
		case c.HostHeaderConfig != nil:
			n += len(c.HostHeaderConfig.Values)
		case c.HttpRequestMethodConfig != nil:
			n += len(c.HttpRequestMethodConfig.Values)
		case c.SourceIpConfig != nil:
			n += len(c.SourceIpConfig.Values)
		default:
			n += len(c.Values)
		}
	}
	return n
}
