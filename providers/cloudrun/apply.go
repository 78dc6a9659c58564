package cloudrun

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/ramp-deploy/ramp/providers"
)

// Apply makes t in one UpdateService: the traffic change t names and the
// rollout record t.Record in the annotation ramp.dev/rollout, sent with the
// etag of the service on which the record's compare-and-set passed
// (providers.NextRecord). When another writer changed the service between
// that read and the write, the server refuses the etag and the service is
// read and edited again, so a record changed meanwhile is an ErrStale and
// nothing is written.
//
// A transition the service already shows (Transition.Done) writes only the
// record; one whose revision does not hold the role it needs
// (Transition.Check) is refused and writes nothing. A traffic change waits
// for its operation; a record alone does not, since an annotation routes
// nothing. When the write went through but its operation failed or the wait
// was cut short, Apply returns the record as stored with the error.
func (p *Provider) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	action := t.String() + " on"
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, p.fail(action, err)
	}
	var (
		stored providers.Rollout
		moves  bool
	)
	op, err := p.write(ctx, action, []string{"traffic", "annotations"}, func(svc *runpb.Service) error {
		var err error
		stored, moves, err = p.edit(svc, t)
		return err
	})
	switch {
	case err != nil:
		return providers.Rollout{}, err
	case op == nil: // the service holds it all already, the stored record included
	case !moves:
		p.accepted(ctx, op)
	default:
		if _, err := p.wait(ctx, op); err != nil {
			return stored, p.fail(action, err)
		}
	}
	return stored, nil
}

// edit applies t to svc, the service as the etag of the coming write
// guards it. It returns the record to store and whether the traffic moves:
// false for a record alone and for a change the service already shows.
func (p *Provider) edit(svc *runpb.Service, t providers.Transition) (providers.Rollout, bool, error) {
	now := p.now()
	st, err := statusOf(svc, now)
	if err != nil {
		return providers.Rollout{}, false, err
	}
	next, err := providers.NextRecord(st.Rollout, t.Record)
	if err != nil {
		return providers.Rollout{}, false, err
	}
	moves := t.Action != providers.ActionRecord && !t.Done(st)
	if moves {
		if err := t.Check(st); err != nil {
			return providers.Rollout{}, false, err
		}
		if err := moveTraffic(svc, t, now); err != nil {
			return providers.Rollout{}, false, err
		}
	}
	value, err := encodeRecord(next)
	if err != nil {
		return providers.Rollout{}, false, err
	}
	setAnnotation(svc, annotationRollout, value)
	setAnnotation(svc, legacyAnnotationLastAction, "")
	return next, moves, nil
}

// moveTraffic makes t's traffic change on svc, whose status passed t.Check: the
// split moves between the stable and the candidate revisions, every other
// tag stays where it is at 0%.
func moveTraffic(svc *runpb.Service, t providers.Transition, now time.Time) error {
	r := rolesOf(svc)
	previous := r.warmPrevious(svc, now)
	switch t.Action {
	case providers.ActionShift:
		if r.stable == "" {
			return noStable(r.candidate)
		}
		svc.Traffic = split{stable: r.stable, candidate: r.candidate, previous: previous, weight: int32(t.Weight)}.targets(svc.Traffic)
	case providers.ActionRollback:
		if r.stable == "" {
			return noStable(r.candidate)
		}
		svc.Traffic = split{stable: r.stable, previous: previous}.targets(svc.Traffic)
	case providers.ActionPromote:
		previous, until := "", ""
		if t.KeepPrevious > 0 && r.stable != "" {
			previous, until = r.stable, now.Add(t.KeepPrevious).UTC().Format(time.RFC3339)
		}
		svc.Traffic = split{stable: r.candidate, previous: previous}.targets(svc.Traffic)
		setAnnotation(svc, annotationPreviousUntil, until)
	case providers.ActionRevert:
		if r.candidate != "" {
			return fmt.Errorf("%w: candidate %q is in flight; roll it back before reverting %q", providers.ErrConflict, r.candidate, t.Revision)
		}
		svc.Traffic = split{stable: previous}.targets(svc.Traffic)
		setAnnotation(svc, annotationPreviousUntil, "")
	default:
		return fmt.Errorf("%w: %s moves no traffic", providers.ErrInvalid, t)
	}
	return nil
}

// noStable refuses to move the traffic of candidate, the only revision
// the service has: nothing could take the traffic it gives up.
func noStable(candidate string) error {
	return fmt.Errorf("%w: candidate %q has no stable revision beside it", providers.ErrInvalid, candidate)
}
