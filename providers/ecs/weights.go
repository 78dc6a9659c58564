package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// setWeights makes the forward action send ws to the stable's target group
// and wc to the candidate's, keeping every other action and the rest of
// the forward action (its order, its stickiness) as they are; it calls
// nothing when the action already does. The weights are percentages, well
// inside ELB's 0..999. A non-nil sticky turns the target group stickiness
// on (for stickyFor) or off (see stickiness).
func (p *Provider) setWeights(ctx context.Context, v *view, r roles, ws, wc int32, sticky *bool) error {
	fwd := v.actions[r.fwd]
	want := []elbtypes.TargetGroupTuple{
		{TargetGroupArn: aws.String(r.stableTG), Weight: aws.Int32(ws)},
		{TargetGroupArn: aws.String(r.candTG), Weight: aws.Int32(wc)},
	}
	slices.SortFunc(want, func(a, b elbtypes.TargetGroupTuple) int {
		return strings.Compare(aws.ToString(a.TargetGroupArn), aws.ToString(b.TargetGroupArn))
	})
	if fwd.ForwardConfig != nil && slices.EqualFunc(fwd.ForwardConfig.TargetGroups, want, func(a, b elbtypes.TargetGroupTuple) bool {
		return aws.ToString(a.TargetGroupArn) == aws.ToString(b.TargetGroupArn) && aws.ToInt32(a.Weight) == aws.ToInt32(b.Weight)
	}) && (sticky == nil || *sticky == stickyOn(fwd)) {
		return nil
	}
	fc := elbtypes.ForwardActionConfig{TargetGroups: want}
	switch {
	case sticky != nil && *sticky:
		fc.TargetGroupStickinessConfig = &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(stickyFor)}
	case sticky != nil:
		fc.TargetGroupStickinessConfig = &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(false)}
	case fwd.ForwardConfig != nil:
		fc.TargetGroupStickinessConfig = fwd.ForwardConfig.TargetGroupStickinessConfig
	}
	fwd.ForwardConfig, fwd.TargetGroupArn = &fc, nil
	actions := slices.Clone(v.actions)
	actions[r.fwd] = fwd
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	if p.cfg.ListenerRule != "" {
		_, err = c.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(p.cfg.ListenerRule), Actions: actions})
	} else {
		_, err = c.elb.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(p.cfg.Listener), DefaultActions: actions})
	}
	return err
}

// isCode reports whether err is an AWS error with the code.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
