package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"path"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ramp-deploy/ramp/providers"
)

// A first deploy: the service does not exist, or none of its revisions is
// stable (it never had a ready one, or its first candidate was rolled
// back). Cloud Run routes every request to a service's URL to some
// revision, so the candidate of a first deploy is the only revision that
// routes anything; it still carries the "candidate" tag and the status
// reports it at 0%, as there is no stable revision for it to take traffic
// from. Promote tags it "stable". A rollback has nothing to send the
// traffic back to: the revision keeps serving untagged, named in
// annotationRetired so that no role reads it as stable, until the next
// deploy replaces it.
//
// The rollout record of a service that does not exist yet is kept by the
// provider until Deploy creates the service with it (CreateService fails
// when another deploy created the service first, which makes the create
// the record's compare-and-set).

// annotationRetired names the rolled-back candidate of a first deploy,
// which serves only because Cloud Run must route the service's requests
// to some revision.
const annotationRetired = "ramp.dev/retired"

// firstDeployEdit makes rev, running image with env, the only revision
// svc routes to, tagged "candidate"; other tags of the user stay at 0%.
func firstDeployEdit(svc *runpb.Service, rev, image string, env []*runpb.EnvVar) {
	svc.Template = candidateTemplate(svc.GetTemplate(), rev, image, env)
	svc.Traffic = split{candidate: rev, weight: 100}.targets(svc.GetTraffic())
	setImages(svc, withImage(imagesOf(svc), rev, image), rev)
	setAnnotation(svc, annotationRetired, "")
	setAnnotation(svc, annotationTemplate, "")
	setAnnotation(svc, annotationPreviousUntil, "")
	setAnnotation(svc, legacyAnnotationLastAction, "")
}

// retire takes the candidate tag off cand, the only revision of a service
// with no stable one, which keeps all the traffic (nothing else could take
// it), and marks it retired.
func retire(svc *runpb.Service, cand string) {
	svc.Traffic = append([]*runpb.TrafficTarget{{Type: typeRevision, Revision: cand, Percent: 100}}, split{}.targets(svc.GetTraffic())...)
	setAnnotation(svc, annotationRetired, cand)
	setAnnotation(svc, annotationTemplate, "")
}

// candidateWeight is the share of the traffic the candidate takes from the
// stable revision: the most of what the service routes to it and what it
// plans to. With no stable revision (a first deploy) it takes none.
func candidateWeight(svc *runpb.Service, r roles) int {
	if r.candidate == "" || r.stable == "" {
		return 0
	}
	return max(planned(svc, r.candidate), routed(svc, r.candidate))
}

// create starts rev, running image with env, as the first revision of a
// service that does not exist, with the record kept meanwhile (if any) in
// its annotations. When another deploy created the service first, the kept
// record never landed: the error is an ErrStale, and so is every write
// from that record until Status is read again.
func (p *Provider) create(ctx context.Context, action, rev string, a providers.Artifact, env []*runpb.EnvVar) (updateOp, error) {
	admin, err := p.adminClient(ctx)
	if err != nil {
		return nil, p.fail(action, err)
	}
	p.createMu.Lock()
	defer p.createMu.Unlock()
	svc := &runpb.Service{}
	firstDeployEdit(svc, rev, a.Image, env)
	if err := applySettings(svc, a, p.cfg); err != nil {
		return nil, p.fail(action, err)
	}
	if p.pending != nil {
		value, err := encodeRecord(*p.pending)
		if err != nil {
			return nil, p.fail(action, err)
		}
		setAnnotation(svc, annotationRollout, value)
	}
	op, err := admin.CreateService(ctx, path.Dir(path.Dir(p.name)), p.cfg.Service, svc)
	switch {
	case status.Code(err) == codes.AlreadyExists && p.pending != nil:
		p.lost, p.pending = p.pending.Version, nil
		return nil, p.fail(action, fmt.Errorf("%w: another deploy created the service first (%w)", providers.ErrStale, err))
	case status.Code(err) == codes.AlreadyExists:
		return nil, p.fail(action, fmt.Errorf("%w: the service was created meanwhile; deploy again (%w)", providers.ErrConflict, err))
	case err != nil:
		return nil, p.fail(action, err)
	}
	p.pending, p.created = nil, true
	return op, nil
}

// recordMissing keeps r, compare-and-set against the record kept so far,
// as the record of a service that does not exist yet; Deploy creates the
// service with it. It reports false when the service was created since,
// so r is to be written there.
func (p *Provider) recordMissing(action string, r providers.Rollout) (providers.Rollout, bool, error) {
	p.createMu.Lock()
	defer p.createMu.Unlock()
	if p.created {
		return providers.Rollout{}, false, nil
	}
	var kept providers.Rollout
	if p.pending != nil {
		kept = *p.pending
	}
	next, err := providers.NextRecord(kept, r)
	if err != nil {
		return providers.Rollout{}, true, p.fail(action, err)
	}
	p.pending = &next
	return next, true, nil
}

// keptLanded checks, on a service that exists, that no record this
// provider kept for it while it did not exist was lost: a record still
// kept means another deploy created the service first. Such a record, and
// every record written from it (r, nil for a deploy), is refused as
// ErrStale until Status reads the service again.
func (p *Provider) keptLanded(r *providers.Rollout) error {
	p.createMu.Lock()
	defer p.createMu.Unlock()
	if p.pending != nil {
		p.lost, p.pending = p.pending.Version, nil
	}
	if p.lost == 0 || (r != nil && r.Version > p.lost) {
		return nil
	}
	id := ""
	if r != nil {
		id = fmt.Sprintf(" (rollout %s written from version %d)", r.ID, r.Version)
	}
	return fmt.Errorf("%w: another deploy created the service first; the record this process kept while it did not exist never landed%s",
		providers.ErrStale, id)
}

// missingStatus is the status of a service that does not exist yet: the
// record kept for it, if any, and a warning saying a deploy creates it.
func (p *Provider) missingStatus() providers.Status {
	p.createMu.Lock()
	defer p.createMu.Unlock()
	p.lost = 0
	st := providers.Status{Warnings: []string{fmt.Sprintf("service %q does not exist in project %q, region %q: the first deploy creates it",
		p.cfg.Service, p.cfg.Project, p.cfg.Region)}}
	if p.pending != nil {
		st.Rollout = *p.pending
	}
	return st
}

// firstDeployWarnings explains a service with no stable revision.
func firstDeployWarnings(svc *runpb.Service, r roles) []string {
	switch retired := annotation(svc, annotationRetired); {
	case r.stable != "":
	case r.candidate != "":
		return []string{fmt.Sprintf("first deploy: candidate %s is the service's only revision, so Cloud Run sends it every request to the service URL; it becomes stable once promoted", r.candidate)}
	case retired != "" && routed(svc, retired) > 0:
		return []string{fmt.Sprintf("revision %s was rolled back, but Cloud Run still routes the service URL to it: a first deploy has nothing to go back to; deploy a fixed version (it replaces %s) or delete the service", retired, retired)}
	}
	return nil
}

// isMissing reports whether err says the service does not exist.
func isMissing(err error) bool {
	return errors.Is(err, providers.ErrNotFound)
}
