package ecs

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/ramp-deploy/ramp/providers"
)

// stickiness is the target group stickiness a transition sets on the
// weighted forward action: on for a sticky shift, off for any other
// transition when the recorded A/B test turned it on, or nil to keep it
// as it is (a plain rollout never touches it).
func stickiness(t providers.Transition, a *abRule) *bool {
	switch {
	case t.Action == providers.ActionShift && t.Routing != nil && t.Routing.Sticky:
		return aws.Bool(true)
	case a != nil && a.Routing.Sticky:
		return aws.Bool(false)
	}
	return nil
}

// stickyOn reports whether the forward action keeps clients on a target
// group.
func stickyOn(a elbtypes.Action) bool {
	return a.ForwardConfig != nil && a.ForwardConfig.TargetGroupStickinessConfig != nil &&
		aws.ToBool(a.ForwardConfig.TargetGroupStickinessConfig.Enabled)
}

// forwardsTo is the target group a rule forwards everything to, or "".
func forwardsTo(rule *elbtypes.Rule) string {
	if rule == nil || len(rule.Actions) != 1 || rule.Actions[0].Type != elbtypes.ActionTypeEnumForward {
		return ""
	}
	var to []string
	for _, t := range forwardTuples(rule.Actions[0]) {
		if aws.ToInt32(t.Weight) > 0 {
			to = append(to, aws.ToString(t.TargetGroupArn))
		}
	}
	if len(to) != 1 {
		return ""
	}
	return to[0]
}

// ours reports whether the rule is ramp's A/B rule: it forwards everything
// to one of the two target groups (the candidate's, or, after a promotion
// stopped before the rule's delete, the new stable's).
func ours(rule *elbtypes.Rule, r roles) bool {
	to := forwardsTo(rule)
	return to != "" && (to == r.candTG || to == r.stableTG)
}

// syncAB makes ramp's rule send the matched requests to the candidate:
// created at the recorded priority, or its conditions and action put back
// when they differ; a rule with no match rules deletes it.
func (p *Provider) syncAB(ctx context.Context, v *view, r roles, conds []elbtypes.RuleCondition) error {
	a := v.st.AB
	if len(conds) == 0 {
		return p.dropAB(ctx, v, r)
	}
	if v.ab != nil && !ours(v.ab, r) {
		return fmt.Errorf("%w: listener rule %s holds priority %d, recorded as ramp's A/B rule, but forwards elsewhere; delete it or end the A/B test",
			providers.ErrConflict, aws.ToString(v.ab.RuleArn), a.Priority)
	}
	if v.ab != nil && forwardsTo(v.ab) == r.candTG && sameConditions(v.ab.Conditions, conds) {
		return nil
	}
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	actions := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, Order: aws.Int32(1), ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(r.candTG), Weight: aws.Int32(1)}}}}}
	if v.ab != nil {
		_, err = c.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: v.ab.RuleArn, Conditions: conds, Actions: actions})
		return err
	}
	_, err = c.elb.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(p.cfg.Listener), Priority: aws.Int32(int32(a.Priority)),
		Conditions: conds, Actions: actions})
	return err
}

// dropAB deletes ramp's rule, if the listener has it.
func (p *Provider) dropAB(ctx context.Context, v *view, r roles) error {
	if v.ab == nil || !ours(v.ab, r) {
		return nil
	}
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	_, err = c.elb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: v.ab.RuleArn})
	if isCode(err, "RuleNotFound") {
		return nil
	}
	return err
}

// sameConditions reports whether a rule's conditions are the wanted ones.
func sameConditions(got, want []elbtypes.RuleCondition) bool {
	if len(got) != len(want) {
		return false
	}
	g, w := make([]string, len(got)), make([]string, len(want))
	for i := range got {
		g[i], w[i] = condKey(condition(got[i])), condKey(want[i])
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// condKey describes a condition by its field and values.
func condKey(c elbtypes.RuleCondition) string {
	parts := []string{aws.ToString(c.Field)}
	switch {
	case c.HttpHeaderConfig != nil:
		parts = append(parts, strings.ToLower(aws.ToString(c.HttpHeaderConfig.HttpHeaderName)))
		parts = append(parts, c.HttpHeaderConfig.Values...)
	case c.QueryStringConfig != nil:
		for _, kv := range c.QueryStringConfig.Values {
			parts = append(parts, aws.ToString(kv.Key)+"="+aws.ToString(kv.Value))
		}
	case c.PathPatternConfig != nil:
		parts = append(parts, c.PathPatternConfig.Values...)
	case c.HostHeaderConfig != nil:
		parts = append(parts, c.HostHeaderConfig.Values...)
	case c.HttpRequestMethodConfig != nil:
		parts = append(parts, c.HttpRequestMethodConfig.Values...)
	case c.SourceIpConfig != nil:
		parts = append(parts, c.SourceIpConfig.Values...)
	default:
		parts = append(parts, c.Values...)
	}
	return strings.Join(parts, "\x00")
}

// hasMatch reports whether the conditions hold the match rule.
func hasMatch(conds []elbtypes.RuleCondition, m providers.Match) bool {
	for _, c := range conds {
		switch {
		case m.Kind == providers.MatchHeader && c.HttpHeaderConfig != nil:
			if strings.EqualFold(aws.ToString(c.HttpHeaderConfig.HttpHeaderName), m.Name) &&
				slices.ContainsFunc(c.HttpHeaderConfig.Values, func(v string) bool { return strings.EqualFold(v, m.Value) }) {
				return true
			}
		case m.Kind == providers.MatchQuery && c.QueryStringConfig != nil:
			for _, kv := range c.QueryStringConfig.Values {
				if aws.ToString(kv.Key) == m.Name && aws.ToString(kv.Value) == m.Value {
					return true
				}
			}
		}
	}
	return false
}

// appliedAB is the routing the platform shows of the recorded A/B test:
// the recorded match rules ramp's rule holds while it forwards to the
// candidate, and sticky while the forward action keeps clients; nil for
// none. It warns of a rule at the recorded priority that is not ramp's.
func appliedAB(v *view, r roles) (*providers.Routing, []string) {
	a := v.st.AB
	if a == nil {
		return nil, nil
	}
	var warnings []string
	rt := &providers.Routing{}
	switch {
	case a.Priority == 0 || v.ab == nil:
	case forwardsTo(v.ab) == r.candTG && r.candidate != nil:
		for _, m := range a.Routing.Match {
			if hasMatch(v.ab.Conditions, m) {
				rt.Match = append(rt.Match, m)
			}
		}
	case ours(v.ab, r):
		warnings = append(warnings, fmt.Sprintf("listener rule %s (priority %d) is ramp's A/B rule left from a transition that stopped; the next transition deletes it",
			aws.ToString(v.ab.RuleArn), a.Priority))
	default:
		warnings = append(warnings, fmt.Sprintf("listener rule %s holds priority %d, recorded as ramp's A/B rule, but forwards elsewhere; ramp leaves it alone",
			aws.ToString(v.ab.RuleArn), a.Priority))
	}
	if a.Routing.Sticky && r.fwd >= 0 && stickyOn(v.actions[r.fwd]) {
		rt.Sticky = true
	}
	if rt.Empty() {
		return nil, warnings
	}
	return rt, warnings
}
