package aws_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func header(name string, values ...string) elbtypes.RuleCondition {
	return elbtypes.RuleCondition{Field: aws.String("http-header"),
		HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String(name), Values: values}}
}

// TestCohortRule creates a header rule and a query rule in front of the
// default action through the real ELBv2 client, checks which target group
// requests reach, and that ELB's limits are kept: unique priorities, five
// condition values, stickiness of 1..604800 seconds.
func TestCohortRule(t *testing.T) {
	t.Parallel()
	w, s, c := world(t)
	ctx := t.Context()
	blue, green := s.TargetGroups[0], s.TargetGroups[1]
	toGreen := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(green)}}
	out, err := c.elb.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(s.Listener), Priority: aws.Int32(100),
		Conditions: []elbtypes.RuleCondition{header("X-Variant", "b")}, Actions: toGreen})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.elb.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(s.Listener), Priority: aws.Int32(101),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("query-string"), QueryStringConfig: &elbtypes.QueryStringConditionConfig{
			Values: []elbtypes.QueryStringKeyValuePair{{Key: aws.String("variant"), Value: aws.String("b")}}}}}, Actions: toGreen}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, header string
		want           map[string]int
	}{
		{"/", "b", map[string]int{green: 1}},
		{"/", "B", map[string]int{green: 1}}, // ALB compares header values case-insensitively
		{"/", "a", map[string]int{blue: 1}},
		{"/?variant=b", "", map[string]int{green: 1}},
		{"/?variant=a", "", map[string]int{blue: 1}},
		{"/api/x?variant=a", "", map[string]int{blue: 1}},
	} {
		req := httptest.NewRequest("GET", tc.target, nil)
		if tc.header != "" {
			req.Header.Set("X-Variant", tc.header)
		}
		if diff := cmp.Diff(tc.want, w.Route(s.Listener, req)); diff != "" {
			t.Errorf("%s with X-Variant %q (-want +got):\n%s", tc.target, tc.header, diff)
		}
	}
	for _, tc := range []struct {
		name string
		in   elbv2.CreateRuleInput
		code string
	}{
		{"a priority in use", elbv2.CreateRuleInput{Priority: aws.Int32(100), Conditions: []elbtypes.RuleCondition{header("X-A", "1")}, Actions: toGreen}, "PriorityInUse"},
		{"six values", elbv2.CreateRuleInput{Priority: aws.Int32(200), Conditions: []elbtypes.RuleCondition{header("X-A", "1", "2", "3", "4", "5", "6")}, Actions: toGreen}, "TooManyConditionValues"},
		{"a condition with no value", elbv2.CreateRuleInput{Priority: aws.Int32(200), Conditions: []elbtypes.RuleCondition{header("X-A")}, Actions: toGreen}, "ValidationError"},
		{"stickiness too long", elbv2.CreateRuleInput{Priority: aws.Int32(200), Conditions: []elbtypes.RuleCondition{header("X-A", "1")},
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
				TargetGroups:                []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(green), Weight: aws.Int32(1)}},
				TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(604801)}}}}}, "ValidationError"},
	} {
		tc.in.ListenerArn = aws.String(s.Listener)
		_, err := c.elb.CreateRule(ctx, &tc.in)
		if code := errorCode(err); code != tc.code {
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := c.elb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: out.Rules[0].RuleArn}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Variant", "b")
	if diff := cmp.Diff(map[string]int{blue: 1}, w.Route(s.Listener, req)); diff != "" {
		t.Errorf("after DeleteRule (-want +got):\n%s", diff)
	}
	if _, err := c.elb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: out.Rules[0].RuleArn}); errorCode(err) != "RuleNotFound" {
		t.Errorf("deleting it again: %v, want RuleNotFound", err)
	}
}

// errorCode is the AWS error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
