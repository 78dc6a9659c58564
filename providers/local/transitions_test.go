package local

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// The helpers below drive a provider one transition at a time, the way
// the engine does: read the status, then apply a transition written from
// the record version read, naming the revision the status shows.

// transition applies a with the record as it stands and names the
// revision role picks from the status ("none" when it has none).
func transition(ctx context.Context, p *Provider, t providers.Transition, role func(providers.Status) *providers.Revision) error {
	st, err := p.Status(ctx)
	if err != nil {
		return err
	}
	t.Revision = "none"
	if r := role(st); r != nil {
		t.Revision = r.ID
	}
	t.Record = st.Rollout
	_, err = p.Apply(ctx, t)
	return err
}

func candidateOf(st providers.Status) *providers.Revision { return st.Candidate }

// shift routes w percent to the candidate.
func shift(ctx context.Context, p *Provider, w int) error {
	return transition(ctx, p, providers.Transition{Action: providers.ActionShift, Weight: w}, candidateOf)
}

// promote makes the candidate stable, keeping the old one warm for keep.
func promote(ctx context.Context, p *Provider, keep time.Duration) error {
	return transition(ctx, p, providers.Transition{Action: providers.ActionPromote, KeepPrevious: keep}, candidateOf)
}

// rollback retires the candidate or, with none, reverts to the previous
// revision.
func rollback(ctx context.Context, p *Provider) error {
	st, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if st.Candidate == nil && st.Previous != nil {
		return transition(ctx, p, providers.Transition{Action: providers.ActionRevert},
			func(st providers.Status) *providers.Revision { return st.Stable })
	}
	return transition(ctx, p, providers.Transition{Action: providers.ActionRollback}, candidateOf)
}

// record stores rec with no traffic change.
func record(ctx context.Context, p *Provider, rec providers.Rollout) error {
	_, err := p.Apply(ctx, providers.Transition{Action: providers.ActionRecord, Record: rec})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}
