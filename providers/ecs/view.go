package ecs

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/ramp-deploy/ramp/providers"
)

// view is one read of the service (task sets and tags) and, when routed
// is set, of the actions holding the forward action that splits its
// traffic.
type view struct {
	at      time.Time
	routeAt time.Time // when actions were read
	svc     types.Service
	st      state
	routed  bool
	actions []elbtypes.Action // the rule's, or the listener's default actions
	// ab is the listener's rule at abPrio, the priority of ramp's A/B rule
	// the record states (read with the route when it states one), nil
	// for none.
	ab     *elbtypes.Rule
	abPrio int
	// sd is the service's current service deployment (mode native), nil
	// when it has none.
	sd *types.ServiceDeployment
}

// read gets the service with its tags and, when withRoute is set, the
// actions of the rule or listener: read again, or the ones the last read
// got when it is younger than reuseFor (the tags are always read again).
// It keeps the view for the metric source and the next read.
func (p *Provider) read(ctx context.Context, action string, withRoute bool) (*view, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return nil, p.fail(action, err)
	}
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(p.cluster), Services: []string{p.cfg.Service},
		Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		return nil, p.fail(action, err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
		return nil, p.fail(action, fmt.Errorf("%w: the cluster has no active service %q", providers.ErrNotFound, p.cfg.Service))
	}
	v := &view{at: p.now(), svc: out.Services[0]}
	if v.st, err = decodeState(v.svc.Tags); err != nil {
		return nil, p.fail(action, err)
	}
	switch last := p.lastView(); {
	case !withRoute:
	case last != nil && last.routed && p.now().Sub(last.routeAt) < reuseFor && last.abPrio == abPriority(v.st):
		v.actions, v.routed, v.routeAt, v.ab, v.abPrio = last.actions, true, last.routeAt, last.ab, last.abPrio
	default:
		if v.actions, err = p.readRoute(ctx, c); err != nil {
			return nil, p.fail(action, err)
		}
		if v.abPrio = abPriority(v.st); v.abPrio > 0 {
			rules, err := p.listenerRules(ctx)
			if err != nil {
				return nil, p.fail(action, err)
			}
			v.ab = ruleAt(rules, v.abPrio)
		}
		v.routed, v.routeAt = true, v.at
	}
	p.keep(v)
	return v, nil
}

// abPriority is the priority of ramp's A/B rule s states, 0 for none.
func abPriority(s state) int {
	if s.AB == nil {
		return 0
	}
	return s.AB.Priority
}

// readRoute reads the actions ramp weighs: the rule's, or the listener's
// default actions, refusing a listener of a Network Load Balancer.
func (p *Provider) readRoute(ctx context.Context, c *clients) ([]elbtypes.Action, error) {
	if p.cfg.ListenerRule != "" {
		out, err := c.elb.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{p.cfg.ListenerRule}})
		if err != nil {
			return nil, err
		}
		if len(out.Rules) != 1 {
			return nil, fmt.Errorf("%w: no listener rule %s", providers.ErrNotFound, p.cfg.ListenerRule)
		}
		return out.Rules[0].Actions, nil
	}
	out, err := c.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{p.cfg.Listener}})
	if err != nil {
		return nil, err
	}
	if len(out.Listeners) != 1 {
		return nil, fmt.Errorf("%w: no listener %s", providers.ErrNotFound, p.cfg.Listener)
	}
	switch l := out.Listeners[0]; l.Protocol {
	case elbtypes.ProtocolEnumTcp, elbtypes.ProtocolEnumUdp, elbtypes.ProtocolEnumTls, elbtypes.ProtocolEnumTcpUdp:
		return nil, fmt.Errorf("%w: listener %s is a Network Load Balancer's (%s): it has no weighted forwarding; mode tasksets needs an Application Load Balancer", providers.ErrInvalid, p.cfg.Listener, l.Protocol)
	}
	return out.Listeners[0].DefaultActions, nil
}

// fresh is the last read when it is younger than reuseFor and holds the
// route if asked, or a new read: a write guarded by it fails as stale
// when the tags changed meanwhile (see writeState).
func (p *Provider) fresh(ctx context.Context, action string, withRoute bool) (*view, error) {
	if v := p.lastView(); v != nil && p.now().Sub(v.at) < reuseFor && (v.routed || !withRoute) {
		return v, nil
	}
	return p.read(ctx, action, withRoute)
}

// lastView is the last read, or nil.
func (p *Provider) lastView() *view {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *Provider) keep(v *view) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = v
}

// forget drops the kept view: the platform changed.
func (p *Provider) forget() { p.keep(nil) }

// roles are the task sets taking part and where the traffic goes.
type roles struct {
	stable, candidate, previous *types.TaskSet
	strays                      []types.TaskSet // other task sets at no role
	// retired are task sets on their way out: a previous set past its
	// rollback window, a set a promotion or a revert replaced.
	retired []types.TaskSet
	// stableTG and candTG are the target groups of the stable set and of
	// the candidate's (the other one).
	stableTG, candTG string
	// fwd is the index in the actions of the forward action; ws and wc the
	// weights it gives the two target groups.
	fwd    int
	ws, wc int32
}

// revisionOf is the revision a task set stands for: its external ID, or
// its ID when it has none (a set ramp did not create).
func revisionOf(ts *types.TaskSet) string {
	if ts == nil {
		return ""
	}
	if id := aws.ToString(ts.ExternalId); id != "" {
		return id
	}
	return aws.ToString(ts.Id)
}

// targetGroupOf is the target group the task set's tasks register in.
func targetGroupOf(ts *types.TaskSet) string {
	if ts == nil || len(ts.LoadBalancers) == 0 {
		return ""
	}
	return aws.ToString(ts.LoadBalancers[0].TargetGroupArn)
}

// rolesOf derives the roles from v (read with its route), refusing a
// service mode tasksets cannot drive, with the reason.
func (p *Provider) rolesOf(v *view) (roles, error) {
	r := roles{fwd: -1}
	if dc := v.svc.DeploymentController; dc == nil || dc.Type != types.DeploymentControllerTypeExternal {
		kind := types.DeploymentControllerTypeEcs
		if dc != nil {
			kind = dc.Type
		}
		return r, fmt.Errorf("%w: the service uses the %s deployment controller; mode tasksets needs a service created with deploymentController EXTERNAL", providers.ErrInvalid, kind)
	}
	now := p.now()
	for i := range v.svc.TaskSets {
		ts := &v.svc.TaskSets[i]
		switch {
		case aws.ToString(ts.Status) == "DRAINING":
		case aws.ToString(ts.Status) == "PRIMARY":
			r.stable = ts
		case slices.Contains(v.st.Retired, revisionOf(ts)):
			r.retired = append(r.retired, *ts)
		case v.st.Previous != "" && revisionOf(ts) == v.st.Previous:
			if now.Before(v.st.PreviousUntil) {
				r.previous = ts
			} else {
				r.retired = append(r.retired, *ts)
			}
		case r.candidate == nil || aws.ToTime(ts.CreatedAt).After(aws.ToTime(r.candidate.CreatedAt)):
			if r.candidate != nil {
				r.strays = append(r.strays, *r.candidate)
			}
			r.candidate = ts
		default:
			r.strays = append(r.strays, *ts)
		}
	}
	if r.stable == nil {
		return r, fmt.Errorf("%w: the service has no primary task set; ramp starts the candidate from the stable one's task definition, so create the first task set yourself", providers.ErrInvalid)
	}
	return r, p.route(v, &r)
}

// route finds the forward action and the two target groups.
func (p *Provider) route(v *view, r *roles) error {
	where := "the default action of listener " + p.cfg.Listener
	if p.cfg.ListenerRule != "" {
		where = "listener rule " + p.cfg.ListenerRule
	}
	var tuples []elbtypes.TargetGroupTuple
	for i, a := range v.actions {
		if a.Type == elbtypes.ActionTypeEnumForward {
			r.fwd, tuples = i, forwardTuples(a)
			break
		}
	}
	if r.fwd < 0 {
		return fmt.Errorf("%w: %s forwards to no target group; ramp weighs a forward action", providers.ErrInvalid, where)
	}
	tgs := p.cfg.TargetGroups
	if len(tgs) == 0 && len(tuples) == 2 {
		tgs = []string{aws.ToString(tuples[0].TargetGroupArn), aws.ToString(tuples[1].TargetGroupArn)}
	}
	r.stableTG = targetGroupOf(r.stable)
	switch {
	case len(tgs) < 2:
		return fmt.Errorf("%w: missing second target group: %s forwards to %s only; give target-groups (the stable's and one for the candidate)", providers.ErrInvalid, where, r.stableTG)
	case !slices.Contains(tgs, r.stableTG):
		return fmt.Errorf("%w: the primary task set %s is behind target group %s, not one of %q", providers.ErrInvalid, aws.ToString(r.stable.Id), r.stableTG, tgs)
	}
	r.candTG = tgs[0]
	if r.candTG == r.stableTG {
		r.candTG = tgs[1]
	}
	for _, t := range tuples {
		switch aws.ToString(t.TargetGroupArn) {
		case r.stableTG:
			r.ws = aws.ToInt32(t.Weight)
		case r.candTG:
			r.wc = aws.ToInt32(t.Weight)
		}
	}
	return nil
}

// forwardTuples are the target groups a forward action sends to; a lone
// TargetGroupArn weighs 1.
func forwardTuples(a elbtypes.Action) []elbtypes.TargetGroupTuple {
	if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
		out := slices.Clone(a.ForwardConfig.TargetGroups)
		for i := range out {
			if out[i].Weight == nil {
				out[i].Weight = aws.Int32(1)
			}
		}
		return out
	}
	if a.TargetGroupArn != nil {
		return []elbtypes.TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn, Weight: aws.Int32(1)}}
	}
	return nil
}

// weight is the candidate's percentage of the traffic.
func (r roles) weight() int {
	if r.candidate == nil || r.ws+r.wc == 0 {
		return 0
	}
	return int(math.Round(100 * float64(r.wc) / float64(r.ws+r.wc)))
}
