package aws_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

// weighted is a forward action to both target groups.
func weighted(s fake.Seeded, blue, green int32) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, Order: aws.Int32(1), ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(s.TargetGroups[0]), Weight: aws.Int32(blue)},
			{TargetGroupArn: aws.String(s.TargetGroups[1]), Weight: aws.Int32(green)}},
		TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(false)}}}}
}

// TestModifyRuleKeepsTheRest sets weights on a rule and on the listener's
// default action through the real ELBv2 client, and reads back the rule
// with its conditions as they were.
func TestModifyRuleKeepsTheRest(t *testing.T) {
	t.Parallel()
	w, s, c := world(t)
	ctx := t.Context()
	if _, err := c.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(s.Rule), Actions: weighted(s, 90, 10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.elb.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(s.Listener), DefaultActions: weighted(s, 999, 0)}); err != nil {
		t.Fatal(err)
	}
	rules, err := c.elb.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{s.Rule}})
	if err != nil {
		t.Fatal(err)
	}
	r := rules.Rules[0]
	if len(r.Conditions) != 1 || aws.ToString(r.Conditions[0].Field) != "path-pattern" || r.Conditions[0].PathPatternConfig.Values[0] != "/api/*" {
		t.Errorf("conditions after ModifyRule: %+v", r.Conditions)
	}
	tgs := r.Actions[0].ForwardConfig.TargetGroups
	if len(tgs) != 2 || aws.ToInt32(tgs[0].Weight) != 90 || aws.ToInt32(tgs[1].Weight) != 10 {
		t.Errorf("weights read back: %+v", tgs)
	}
	if diff := cmp.Diff(map[string]int{s.TargetGroups[0]: 999, s.TargetGroups[1]: 0}, w.Weights(s.Listener)); diff != "" {
		t.Errorf("listener weights (-want +got):\n%s", diff)
	}
	ls, err := c.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(s.LoadBalancer)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Listeners) != 1 || ls.Listeners[0].Protocol != elbtypes.ProtocolEnumHttp || len(ls.Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups) != 2 {
		t.Errorf("DescribeListeners: %+v", ls.Listeners)
	}
	all, err := c.elb.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(s.Listener)})
	if err != nil {
		t.Fatal(err)
	}
	defaults := 0
	for _, r := range all.Rules {
		if aws.ToBool(r.IsDefault) {
			defaults++
		}
	}
	if len(all.Rules) != 2 || defaults != 1 {
		t.Errorf("DescribeRules of the listener: %d rules, %d default", len(all.Rules), defaults)
	}
}

// TestELBRejects checks the error codes of refused ELBv2 calls.
func TestELBRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		network bool
		call    func(c clients, s fake.Seeded) error
		code    string
	}{
		{"weight over 999", false, func(c clients, s fake.Seeded) error {
			_, err := c.elb.ModifyRule(t.Context(), &elbv2.ModifyRuleInput{RuleArn: aws.String(s.Rule), Actions: weighted(s, 1000, 0)})
			return err
		}, "ValidationError"},
		{"negative weight", false, func(c clients, s fake.Seeded) error {
			_, err := c.elb.ModifyListener(t.Context(), &elbv2.ModifyListenerInput{ListenerArn: aws.String(s.Listener), DefaultActions: weighted(s, -1, 5)})
			return err
		}, "ValidationError"},
		{"unknown target group", false, func(c clients, s fake.Seeded) error {
			s.TargetGroups[1] += "0"
			_, err := c.elb.ModifyRule(t.Context(), &elbv2.ModifyRuleInput{RuleArn: aws.String(s.Rule), Actions: weighted(s, 1, 1)})
			return err
		}, "TargetGroupNotFound"},
		{"unknown listener", false, func(c clients, s fake.Seeded) error {
			_, err := c.elb.DescribeRules(t.Context(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(s.Listener + "0")})
			return err
		}, "ListenerNotFound"},
		{"unknown rule", false, func(c clients, s fake.Seeded) error {
			_, err := c.elb.ModifyRule(t.Context(), &elbv2.ModifyRuleInput{RuleArn: aws.String(s.Rule + "0"), Actions: weighted(s, 1, 1)})
			return err
		}, "RuleNotFound"},
		{"the default rule through ModifyRule", false, func(c clients, s fake.Seeded) error {
			rules, err := c.elb.DescribeRules(t.Context(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(s.Listener)})
			if err != nil {
				return err
			}
			for _, r := range rules.Rules {
				if aws.ToBool(r.IsDefault) {
					_, err = c.elb.ModifyRule(t.Context(), &elbv2.ModifyRuleInput{RuleArn: r.RuleArn, Actions: weighted(s, 1, 1)})
				}
			}
			return err
		}, "OperationNotPermitted"},
		{"weights on a network load balancer", true, func(c clients, s fake.Seeded) error {
			_, err := c.elb.ModifyListener(t.Context(), &elbv2.ModifyListenerInput{ListenerArn: aws.String(s.Listener), DefaultActions: weighted(s, 90, 10)})
			return err
		}, "ValidationError"},
		{"unknown target group health", false, func(c clients, s fake.Seeded) error {
			_, err := c.elb.DescribeTargetHealth(t.Context(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(s.TargetGroups[0] + "0")})
			return err
		}, "TargetGroupNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, s, c := world(t, func(s *fake.Seed) { s.Network = tc.network })
			err := tc.call(c, s)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
		})
	}
}
