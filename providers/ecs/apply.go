package ecs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/ramp-deploy/ramp/providers"
)

// Apply makes t as providers.ApplyStepwise does: the record states the
// transition, the traffic changes, the record states the outcome, each
// record write made by writeState (three calls). A shift, the step a
// rollout makes most, writes no outcome of its own: the next write of
// the record (the next transition, a pause, a lease renewal) is it, and
// every reader meanwhile takes a shift intent whose weights the listener
// shows as made (statusOf), so a shift is four calls, not seven. The
// compare-and-set of the intent is made against the last read of the
// service if it is younger than reuseFor (the engine's check right before
// a shift), or a new one; that of the outcome against the intent as
// written. writeState finds a read gone stale by another writer. A
// transition whose revision does not hold its role (Transition.Check) is
// refused before anything is written, and one the platform already shows
// (Transition.Done) writes the records only.
//
// A shift with routing (strategy ab) states the priority of ramp's A/B
// rule with its intent (state.AB), then makes the rule and the
// stickiness; promote, rollback, revert and a shift without routing
// delete them and clear the state with their outcome (ab.go).
//
// The intent of a promotion also names the replaced revision as previous
// (or retired, with no rollback window), and that of a revert the
// reverted one as retired, so a process stopped between the primary swap
// and the delete leaves roles any reader tells apart.
func (p *Provider) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	action := t.String() + " on"
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, p.fail(action, err)
	}
	if p.native() {
		if !t.Routing.Empty() {
			return providers.Rollout{}, p.fail(action, fmt.Errorf("%w: mode native cannot route by request: ECS moves the weights of its deployment itself; strategy ab needs mode tasksets", providers.ErrInvalid))
		}
		return p.applyNative(ctx, t)
	}
	if _, err := abConditions(t.Routing); err != nil {
		return providers.Rollout{}, p.fail(action, err)
	}
	if t.Action == providers.ActionRecord {
		v, err := p.fresh(ctx, action, false)
		if err != nil {
			return providers.Rollout{}, err
		}
		_, stored, err := p.store(ctx, action, v, t.Record, v.st)
		return stored, err
	}
	v, err := p.fresh(ctx, action, true)
	if err != nil {
		return providers.Rollout{}, err
	}
	r, err := p.rolesOf(v)
	if err != nil {
		return providers.Rollout{}, p.fail(action, err)
	}
	done := t.Done(p.statusOf(v, r))
	if !done {
		if err := t.Check(p.statusOf(v, r)); err != nil {
			return providers.Rollout{}, p.fail(action, err)
		}
	}
	stated := t.Record
	stated.Intent = &providers.Intent{Action: t.Action, Revision: t.Revision, Weight: t.Weight, KeepPrevious: t.KeepPrevious,
		Routing: t.Routing, At: p.now().UTC()}
	next := p.intended(v.st, r, t, done)
	var plan abPlan
	if t.Action == providers.ActionShift && !t.Routing.Empty() && !done {
		if plan, err = p.planAB(ctx, v.st.AB, t.Routing); err != nil {
			return providers.Rollout{}, p.fail(action, err)
		}
		next.AB = plan.ab
	}
	v, stored, err := p.store(ctx, action, v, stated, next)
	if err != nil {
		return providers.Rollout{}, fmt.Errorf("state the intent to %s: %w", t, err)
	}
	if plan.ab != nil { // the rule at its priority as planAB read it (a copy: v may be kept)
		w := *v
		w.ab, w.abPrio = plan.rule, plan.ab.Priority
		v = &w
	}
	if !done {
		err = p.traffic(ctx, action, v, r, t, plan.conds)
		p.forget()
		if err != nil {
			return stored, fmt.Errorf("%s (stated in the record, not made): %w", t, err)
		}
	}
	if t.Action == providers.ActionShift && (!t.Routing.Empty() || v.st.AB == nil) {
		// The outcome of a shift is folded into the next write: readers
		// take a shift intent the weights show made as made (statusOf).
		stored.Intent = nil
		return stored, nil
	}
	out := t.Record
	out.Intent, out.Version = nil, stored.Version
	s := v.st
	s.AB = nil // the A/B test ended with this transition (traffic)
	if _, stored, err = p.store(ctx, action, v, out, s); err != nil {
		return providers.Rollout{}, fmt.Errorf("record the outcome of %s: %w", t, err)
	}
	return stored, nil
}

// intended is the state t leaves besides its record: who is previous and
// who is retired once its traffic change is made.
func (p *Provider) intended(s state, r roles, t providers.Transition, done bool) state {
	s.Retired = slices.Clone(s.Retired)
	if done {
		return s
	}
	switch t.Action {
	case providers.ActionPromote:
		old := revisionOf(r.stable)
		if t.KeepPrevious > 0 {
			s.Previous, s.PreviousUntil = old, p.now().Add(t.KeepPrevious).UTC()
		} else {
			s.Previous, s.PreviousUntil = "", time.Time{}
			s.Retired = append(s.Retired, old)
		}
		if r.previous != nil { // the candidate took its target group: it is gone
			s.Retired = append(s.Retired, revisionOf(r.previous))
		}
	case providers.ActionRevert:
		s.Previous = ""
		s.Retired = append(s.Retired, t.Revision)
	}
	return s
}

// store writes rec, compare-and-set against the record in v, with the
// rest of s, and returns the view as it now stands and the record stored.
func (p *Provider) store(ctx context.Context, action string, v *view, rec providers.Rollout, s state) (*view, providers.Rollout, error) {
	next, err := providers.NextRecord(v.st.Record, rec)
	if err != nil {
		return v, providers.Rollout{}, p.fail(action, err)
	}
	s.Record = next
	keep := []string{next.Stable, next.Candidate, s.Previous}
	var live []string
	for i := range v.svc.TaskSets {
		if aws.ToString(v.svc.TaskSets[i].Status) != "DRAINING" {
			live = append(live, revisionOf(&v.svc.TaskSets[i]))
		}
	}
	keep = append(keep, live...)
	s.Retired = slices.DeleteFunc(slices.Clone(s.Retired), func(rev string) bool { return !slices.Contains(live, rev) })
	s = s.withImages(p.knownImages(), keep...)
	tags, err := p.writeState(ctx, aws.ToString(v.svc.ServiceArn), v.svc.Tags, s)
	if err != nil {
		p.forget() // the write may have landed
		return v, providers.Rollout{}, p.fail(action, err)
	}
	w := *v
	w.st, w.svc.Tags = s, tags
	p.mu.Lock()
	if p.last == v {
		p.last = &w
	}
	p.mu.Unlock()
	return &w, next, nil
}

// traffic makes t's traffic change on the service r describes, then
// deletes the task sets retired before. A shift also makes its A/B rule
// with conds (none deletes ramp's rule); any other transition deletes it.
func (p *Provider) traffic(ctx context.Context, action string, v *view, r roles, t providers.Transition, conds []elbtypes.RuleCondition) error {
	var err error
	sticky := stickiness(t, v.st.AB)
	if t.Action != providers.ActionShift {
		err = p.dropAB(ctx, v, r)
	}
	switch {
	case err != nil:
	case t.Action == providers.ActionShift:
		if err = p.setWeights(ctx, v, r, int32(100-t.Weight), int32(t.Weight), sticky); err == nil && v.st.AB != nil {
			err = p.syncAB(ctx, v, r, conds)
		}
	case t.Action == providers.ActionPromote:
		err = p.promote(ctx, v, r, t, sticky)
	case t.Action == providers.ActionRollback:
		if err = p.setWeights(ctx, v, r, 100, 0, sticky); err == nil {
			err = p.deleteSet(ctx, r.candidate)
		}
	case t.Action == providers.ActionRevert:
		if err = p.setWeights(ctx, v, r, 0, 100, sticky); err == nil {
			err = p.makePrimary(ctx, r.previous)
		}
		if err == nil {
			err = p.deleteSet(ctx, r.stable)
		}
	}
	for i := 0; err == nil && i < len(r.retired); i++ {
		err = p.deleteSet(ctx, &r.retired[i])
	}
	if err != nil {
		return p.fail(action, err)
	}
	return nil
}

// promote gives the candidate all the traffic at full scale, makes it the
// primary task set, and deletes the replaced one unless it is kept warm
// (and any previous set, whose target group the candidate took).
func (p *Provider) promote(ctx context.Context, v *view, r roles, t providers.Transition, sticky *bool) error {
	if r.candidate.Scale != nil && r.candidate.Scale.Value < 100 {
		c, err := p.clientsFor(ctx)
		if err != nil {
			return err
		}
		if _, err := c.ecs.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String(p.cluster), Service: aws.String(p.cfg.Service),
			TaskSet: r.candidate.Id, Scale: &types.Scale{Unit: types.ScaleUnitPercent, Value: 100}}); err != nil {
			return err
		}
	}
	if err := p.setWeights(ctx, v, r, 0, 100, sticky); err != nil {
		return err
	}
	if err := p.makePrimary(ctx, r.candidate); err != nil {
		return err
	}
	if r.previous != nil {
		if err := p.deleteSet(ctx, r.previous); err != nil {
			return err
		}
	}
	if t.KeepPrevious > 0 {
		return nil
	}
	return p.deleteSet(ctx, r.stable)
}

func (p *Provider) makePrimary(ctx context.Context, ts *types.TaskSet) error {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	_, err = c.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String(p.cluster),
		Service: aws.String(p.cfg.Service), PrimaryTaskSet: ts.TaskSetArn})
	return err
}

// deleteSet deletes the task set; one already gone is no error.
func (p *Provider) deleteSet(ctx context.Context, ts *types.TaskSet) error {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return err
	}
	_, err = c.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String(p.cluster), Service: aws.String(p.cfg.Service),
		TaskSet: ts.TaskSetArn, Force: aws.Bool(true)})
	if isCode(err, "TaskSetNotFoundException") {
		return nil
	}
	return err
}
