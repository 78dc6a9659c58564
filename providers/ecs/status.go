package ecs

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
)

// Preflight reads the service and the routing ramp weighs, which proves
// the credentials, the region, the cluster, the service, the listener (or
// rule) and the target groups, and refuses a service mode tasksets cannot
// drive. It changes nothing.
func (p *Provider) Preflight(ctx context.Context) error {
	if p.native() {
		v, err := p.readNative(ctx, "read")
		if err == nil && p.cfg.Strategy != strategyRolling { // a rolling update needs no alternate target group
			err = checkNativeService(v.svc)
		}
		return err
	}
	v, err := p.read(ctx, "read", true)
	if err != nil {
		return err
	}
	if _, err := p.rolesOf(v); err != nil {
		return p.fail("check", err)
	}
	return nil
}

// Status reads the service and its routing (two calls) and derives the
// revisions and the weight from what they show now.
func (p *Provider) Status(ctx context.Context) (providers.Status, error) {
	if p.native() {
		v, err := p.readNative(ctx, "read the status of")
		if err != nil {
			return providers.Status{}, err
		}
		return p.nativeStatus(v), nil
	}
	v, err := p.read(ctx, "read the status of", true)
	if err != nil {
		return providers.Status{}, err
	}
	r, err := p.rolesOf(v)
	if err != nil {
		return providers.Status{}, p.fail("read the status of", err)
	}
	return p.statusOf(v, r), nil
}

// statusOf is the status v and its roles show.
func (p *Provider) statusOf(v *view, r roles) providers.Status {
	st := providers.Status{Rollout: v.st.Record, Weight: r.weight()}
	images := v.st.withImages(p.knownImages(), revisionOf(r.stable), revisionOf(r.candidate), revisionOf(r.previous)).Images
	rev := func(ts *types.TaskSet) *providers.Revision {
		if ts == nil {
			return nil
		}
		return &providers.Revision{ID: revisionOf(ts), Image: images[revisionOf(ts)], Ready: ts.StabilityStatus == types.StabilityStatusSteadyState}
	}
	st.Stable, st.Candidate, st.Previous = rev(r.stable), rev(r.candidate), rev(r.previous)
	st.Routing, st.Warnings = appliedAB(v, r)
	if i := st.Rollout.Intent; i != nil && i.Action == providers.ActionShift && i.Transition(st.Rollout).Done(st) {
		st.Rollout.Intent = nil // made: its outcome is the next write (Apply)
	}
	for _, ts := range r.strays {
		st.Warnings = append(st.Warnings, fmt.Sprintf("task set %s (%s) is neither stable nor the candidate; the next deploy deletes it if it takes no traffic",
			aws.ToString(ts.Id), revisionOf(&ts)))
	}
	for _, ts := range r.retired {
		st.Warnings = append(st.Warnings, fmt.Sprintf("task set %s (%s) is retired (replaced, or past its rollback window); the next transition or deploy deletes it",
			aws.ToString(ts.Id), revisionOf(&ts)))
	}
	return st
}

func (p *Provider) knownImages() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.images))
	for k, v := range p.images {
		out[k] = v
	}
	return out
}
