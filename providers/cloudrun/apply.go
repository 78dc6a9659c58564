package cloudrun

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	stored, moves, op, restored, err := p.applyWrite(ctx, action, t, true)
	if c := status.Code(err); restored && (c == codes.AlreadyExists || c == codes.InvalidArgument) {
		// The template saved for the revision taking the traffic back was
		// refused (Cloud Run found it configured otherwise): move the
		// traffic anyway, and leave the template as it is.
		stored, moves, op, _, err = p.applyWrite(ctx, action, t, false)
	}
	if isMissing(err) && t.Action == providers.ActionRecord {
		if kept, ok, err := p.recordMissing(action, t.Record); ok {
			return kept, err
		}
		stored, moves, op, _, err = p.applyWrite(ctx, action, t, true) // created meanwhile
	}
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

// applyWrite writes t (see edit), restoring the saved template on a
// rollback or a revert when restore is set. It returns the record to be
// stored, whether the traffic moves, the operation, and whether the
// write put a saved template back.
func (p *Provider) applyWrite(ctx context.Context, action string, t providers.Transition, restore bool) (
	stored providers.Rollout, moves bool, op updateOp, restored bool, err error,
) {
	op, err = p.write(ctx, action, []string{"template", "traffic", "annotations"}, func(svc *runpb.Service) error {
		var err error
		restored = false
		stored, moves, err = p.edit(svc, t, restore, &restored)
		return err
	})
	return stored, moves, op, restored, err
}

// edit applies t to svc, the service as the etag of the coming write
// guards it. It returns the record to store and whether the traffic moves:
// false for a record alone and for a change the service already shows.
func (p *Provider) edit(svc *runpb.Service, t providers.Transition, restore bool, restored *bool) (providers.Rollout, bool, error) {
	if err := p.keptLanded(&t.Record); err != nil {
		return providers.Rollout{}, false, err
	}
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
		if back := takesBack(st, t); restore && back != "" {
			*restored = restoreTemplate(svc, back)
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
		if r.stable == "" { // a first deploy: nothing to go back to
			retire(svc, r.candidate)
			return nil
		}
		svc.Traffic = split{stable: r.stable, previous: previous}.targets(svc.Traffic)
	case providers.ActionPromote:
		previous, until := "", ""
		if t.KeepPrevious > 0 && r.stable != "" {
			previous, until = r.stable, now.Add(t.KeepPrevious).UTC().Format(time.RFC3339)
		} else {
			setAnnotation(svc, annotationTemplate, "") // no revert: the saved template is of no use
		}
		svc.Traffic = split{stable: r.candidate, previous: previous}.targets(svc.Traffic)
		setAnnotation(svc, annotationPreviousUntil, until)
		setAnnotation(svc, annotationRetired, "")
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

// takesBack is the revision that takes all the traffic back when t, a
// rollback or a revert, is made on the service st shows: the stable
// revision, or the previous one. Its saved template goes back too.
func takesBack(st providers.Status, t providers.Transition) string {
	var r *providers.Revision
	switch t.Action {
	case providers.ActionRollback:
		r = st.Stable
	case providers.ActionRevert:
		r = st.Previous
	}
	if r == nil {
		return ""
	}
	return r.ID
}

// noStable refuses to move the traffic of candidate, the only revision
// the service has: nothing could take the traffic it gives up.
func noStable(candidate string) error {
	return fmt.Errorf("%w: candidate %q has no stable revision beside it", providers.ErrInvalid, candidate)
}
