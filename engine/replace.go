package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// replaces reports whether the plan replaces instances (strategy rolling)
// rather than shifting weights.
func replaces(p strategies.Plan) bool {
	return slices.ContainsFunc(p.Steps, func(s strategies.Step) bool { return s.Kind == strategies.KindReplace })
}

// replacer is the provider as a providers.Replacer, for a plan that
// replaces instances; a provider without the capability is an input error
// naming the strategies it supports.
func (e *Engine) replacer(p strategies.Plan) (providers.Replacer, error) {
	rp, ok := e.Provider.(providers.Replacer)
	if !ok {
		return nil, fmt.Errorf("strategy %s: the provider runs no fixed set of instances to replace in batches; "+
			"it supports canary, linear, bluegreen and immediate (canary or linear shift the traffic gradually): %w",
			p.Strategy, providers.ErrInvalid)
	}
	return rp, nil
}

// start starts the candidate: a plan that replaces instances stages it
// with none (its replace steps start them), any other deploys it ready.
func (e *Engine) start(ctx context.Context, p strategies.Plan, a providers.Artifact) (providers.Revision, error) {
	if !replaces(p) {
		return e.Provider.Deploy(ctx, a)
	}
	rp, err := e.replacer(p)
	if err != nil {
		return providers.Revision{}, err
	}
	return rp.Stage(ctx, a)
}

// replace runs the candidate on the step's instances, waiting for each new
// one's health, and records the step in one transition.
func (r *run) replace(ctx context.Context, i int, step strategies.Step) *stepEnd {
	from := r.weight
	t := providers.Transition{Action: providers.ActionReplace, Revision: r.candidate.ID,
		Weight: step.Weight, Instances: step.Instances, Surge: step.Surge}
	var err error
	end, werr := r.attempt(ctx, func() error {
		next := r.rec
		next.Step, next.Weight, next.Instances = i+1, step.Weight, step.Instances
		// Starting a batch may take longer than a lease lasts.
		return r.slowTransition(ctx, t, next)
	})
	if end != nil {
		return end
	}
	if err = werr; err != nil {
		return r.failedWrite(ctx, err, fmt.Sprintf("could not replace %d instances with %s", step.Instances, r.candidate.ID))
	}
	r.weight, r.instances = step.Weight, step.Instances
	r.e.emit(&Shifted{From: from, Weight: step.Weight, Instances: step.Instances})
	return nil
}

// reinstance puts the candidate back on the instances the record says when
// the platform reports another count (someone scaled the service, an
// instance died and came back as the stable version): the engine trusts
// what the platform reports, and corrects it, as reshift does for weights.
func (r *run) reinstance(ctx context.Context, reported providers.Instances) *stepEnd {
	r.e.warn(fmt.Sprintf("the platform reports %d instances of the candidate, not the %d this rollout set; replacing them again",
		reported.Candidate, r.instances))
	surge := max(r.instances-reported.Candidate, 0)
	t := providers.Transition{Action: providers.ActionReplace, Revision: r.candidate.ID, Weight: r.weight, Instances: r.instances, Surge: surge}
	err := r.slowTransition(ctx, t, r.rec)
	switch {
	case err == nil, errors.Is(err, providers.ErrStale):
		return nil
	case ctx.Err() != nil:
		return &stepEnd{outcome: OutcomeCancelled}
	}
	return &stepEnd{outcome: OutcomeRolledBack, reason: fmt.Sprintf(
		"the platform reports %d instances of the candidate instead of %d and they could not be replaced again: %v",
		reported.Candidate, r.instances, err)}
}
