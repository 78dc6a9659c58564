package ecs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/ramp-deploy/ramp/providers"
)

// waitReady polls the task set and its target group's health until the
// set is in STEADY_STATE and as many targets as it wants tasks are
// healthy, or until the ready timeout, which is an ErrNotReady saying what
// was seen last.
func (p *Provider) waitReady(ctx context.Context, ts *types.TaskSet, tg string) error {
	timeout := p.cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = defaultReadyTimeout
	}
	deadline := p.now().Add(timeout)
	for {
		ready, why, err := p.checkReady(ctx, ts, tg)
		switch {
		case err != nil:
			return err
		case ready:
			return nil
		case !p.now().Add(p.poll).Before(deadline):
			return fmt.Errorf("%w: task set %s was not ready after %s (ready-timeout): %s; no traffic was moved",
				providers.ErrNotReady, aws.ToString(ts.Id), timeout, why)
		}
		if err := sleep(ctx, p.poll); err != nil {
			return err
		}
	}
}

// checkReady reads the set and its targets once.
func (p *Provider) checkReady(ctx context.Context, ts *types.TaskSet, tg string) (bool, string, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return false, "", err
	}
	out, err := c.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String(p.cluster), Service: aws.String(p.cfg.Service), TaskSets: []string{aws.ToString(ts.TaskSetArn)}})
	if err != nil {
		return false, "", err
	}
	if len(out.TaskSets) == 0 {
		return false, "", fmt.Errorf("%w: task set %s is gone", providers.ErrNotReady, aws.ToString(ts.Id))
	}
	set := out.TaskSets[0]
	health, err := c.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return false, "", err
	}
	healthy, states := 0, map[string]int{}
	for _, d := range health.TargetHealthDescriptions {
		th := d.TargetHealth
		if th == nil {
			continue
		}
		if th.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy++
			continue
		}
		key := string(th.State)
		if th.Reason != "" {
			key += " (" + string(th.Reason) + ")"
		}
		states[key]++
	}
	want := int(set.ComputedDesiredCount)
	why := fmt.Sprintf("%s with %d of %d tasks running; %d of its targets in %s healthy", set.StabilityStatus, set.RunningCount, want, healthy, tg)
	if len(states) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(states)) {
			parts = append(parts, fmt.Sprintf("%d %s", states[k], k))
		}
		why += ", " + strings.Join(parts, ", ")
	}
	return set.StabilityStatus == types.StabilityStatusSteadyState && healthy >= max(want, 1), why, nil
}
