package cloudrun

import (
	"context"
	"fmt"
	"path"
	"slices"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/ramp-deploy/ramp/providers"
)

// The traffic tags that mark the revisions taking part in a rollout. A
// tagged revision gets its own URL (https://TAG---SERVICE-....run.app).
const (
	tagCandidate = "candidate"
	tagStable    = "stable"
	tagPrevious  = "previous"
)

// Actions kept in the ramp.dev/last-action annotation, so that a retried
// Promote or Rollback whose first try went through does nothing.
const (
	actionPromote  = "promote"
	actionRollback = "rollback"
)

const (
	typeRevision = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
	typeLatest   = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
)

// SetWeight routes weight percent to the candidate and the rest to the
// stable revision in one write guarded by the etag, keeping every other tag.
func (p *Provider) SetWeight(ctx context.Context, weight int) error {
	action := fmt.Sprintf("set the candidate weight to %d%% on", weight)
	if weight < 0 || weight > 100 {
		return p.fail(action, fmt.Errorf("%w: weight %d is outside 0..100", providers.ErrInvalid, weight))
	}
	_, err := p.apply(ctx, action, []string{"traffic"}, func(svc *runpb.Service) error {
		r := rolesOf(svc)
		if r.candidate == "" || r.stable == "" {
			return fmt.Errorf("%w: no revision is tagged %q beside a stable one", providers.ErrNoCandidate, tagCandidate)
		}
		previous := r.warmPrevious(svc, p.now())
		svc.Traffic = split{stable: r.stable, candidate: r.candidate, previous: previous, weight: int32(weight)}.targets(svc.Traffic)
		return nil
	})
	return err
}

// Promote sends all the traffic to the candidate, moves the stable tag to
// it and, when keepPrevious is positive, tags the revision it replaces
// "previous" until keepPrevious has passed.
func (p *Provider) Promote(ctx context.Context, keepPrevious time.Duration) error {
	_, err := p.apply(ctx, "promote the candidate of", []string{"traffic", "annotations"}, func(svc *runpb.Service) error {
		r := rolesOf(svc)
		if r.candidate == "" {
			if annotation(svc, annotationLastAction) == actionPromote {
				return nil // an earlier try went through
			}
			return fmt.Errorf("%w: no revision is tagged %q", providers.ErrNoCandidate, tagCandidate)
		}
		previous, until := "", ""
		if keepPrevious > 0 && r.stable != "" {
			previous = r.stable
			until = p.now().Add(keepPrevious).UTC().Format(time.RFC3339)
		}
		svc.Traffic = split{stable: r.candidate, previous: previous}.targets(svc.Traffic)
		setAnnotation(svc, annotationPreviousUntil, until)
		setAnnotation(svc, annotationLastAction, actionPromote)
		return nil
	})
	return err
}

// Rollback sends all the traffic to the stable revision and drops the
// candidate tag; the candidate revision stays for inspection. With no
// candidate but a previous revision still kept, the traffic goes back to it
// and it becomes stable again.
func (p *Provider) Rollback(ctx context.Context) error {
	_, err := p.apply(ctx, "roll back", []string{"traffic", "annotations"}, func(svc *runpb.Service) error {
		r := rolesOf(svc)
		now := p.now()
		switch {
		case r.candidate != "" && r.stable != "":
			svc.Traffic = split{stable: r.stable, previous: r.warmPrevious(svc, now)}.targets(svc.Traffic)
		case r.candidate != "":
			return fmt.Errorf("%w: candidate %q has no stable revision to go back to", providers.ErrInvalid, r.candidate)
		case annotation(svc, annotationLastAction) == actionRollback:
			return nil // an earlier try went through
		case r.warmPrevious(svc, now) != "":
			svc.Traffic = split{stable: r.previous}.targets(svc.Traffic)
			setAnnotation(svc, annotationPreviousUntil, "")
		default:
			return fmt.Errorf("%w: no candidate, and no previous revision is kept", providers.ErrNoCandidate)
		}
		setAnnotation(svc, annotationLastAction, actionRollback)
		return nil
	})
	return err
}

// roles names the revisions taking part, by their short names.
type roles struct {
	stable, candidate, previous string
	// others counts revisions besides stable and candidate that serve traffic.
	others int
}

// rolesOf finds the roles from the service's tags. Without a stable tag the
// stable revision is the one serving the most traffic.
func rolesOf(svc *runpb.Service) roles {
	var r roles
	for _, t := range svc.GetTraffic() {
		switch t.GetTag() {
		case tagCandidate:
			r.candidate = revisionOf(svc, t)
		case tagStable:
			r.stable = revisionOf(svc, t)
		case tagPrevious:
			r.previous = revisionOf(svc, t)
		}
	}
	shares := map[string]int32{}
	for _, t := range servingTargets(svc) {
		if rev := revisionOf(svc, t); rev != "" && rev != r.candidate && t.GetPercent() > 0 {
			shares[rev] += t.GetPercent()
		}
	}
	if r.stable == "" {
		for rev, pct := range shares {
			if pct > shares[r.stable] || (pct == shares[r.stable] && rev > r.stable) {
				r.stable = rev
			}
		}
	}
	if r.stable == "" {
		if ready := shortName(svc.GetLatestReadyRevision()); ready != r.candidate {
			r.stable = ready
		}
	}
	for rev := range shares {
		if rev != r.stable {
			r.others++
		}
	}
	return r
}

// warmPrevious is the previous revision while it is still kept.
func (r roles) warmPrevious(svc *runpb.Service, now time.Time) string {
	if r.previous == "" || r.previous == r.stable || r.previous == r.candidate {
		return ""
	}
	until, err := time.Parse(time.RFC3339, annotation(svc, annotationPreviousUntil))
	if err != nil || !now.Before(until) {
		return ""
	}
	return r.previous
}

// servingTargets is what the service routes now: its traffic statuses, or
// its traffic spec before it reports any.
func servingTargets(svc *runpb.Service) []*runpb.TrafficTarget {
	if len(svc.GetTrafficStatuses()) == 0 {
		return svc.GetTraffic()
	}
	out := make([]*runpb.TrafficTarget, 0, len(svc.GetTrafficStatuses()))
	for _, s := range svc.GetTrafficStatuses() {
		out = append(out, &runpb.TrafficTarget{Type: s.GetType(), Revision: s.GetRevision(), Percent: s.GetPercent(), Tag: s.GetTag()})
	}
	return out
}

// routed is the percentage of the traffic rev serves now.
func routed(svc *runpb.Service, rev string) int {
	var pct int32
	for _, t := range servingTargets(svc) {
		if revisionOf(svc, t) == rev {
			pct += t.GetPercent()
		}
	}
	return int(pct)
}

// planned is the percentage of the traffic the spec gives rev.
func planned(svc *runpb.Service, rev string) int {
	var pct int32
	for _, t := range svc.GetTraffic() {
		if revisionOf(svc, t) == rev {
			pct += t.GetPercent()
		}
	}
	return int(pct)
}

// tagURL is the URL the service reports for tag on rev, if any.
func tagURL(svc *runpb.Service, tag, rev string) string {
	for _, s := range svc.GetTrafficStatuses() {
		if s.GetTag() == tag && (s.GetRevision() == "" || s.GetRevision() == rev) {
			return s.GetUri()
		}
	}
	return ""
}

// revisionOf resolves a target to a short revision name; a "latest" target
// serves the latest ready revision.
func revisionOf(svc *runpb.Service, t *runpb.TrafficTarget) string {
	if t.GetRevision() != "" {
		return t.GetRevision()
	}
	if t.GetType() == typeLatest {
		return shortName(svc.GetLatestReadyRevision())
	}
	return ""
}

// shortName turns projects/.../revisions/NAME into NAME.
func shortName(full string) string {
	if full == "" {
		return ""
	}
	return path.Base(full)
}

// split is the traffic ramp wants: the stable revision takes what the
// candidate does not, the previous revision is kept at 0% behind its tag.
type split struct {
	stable, candidate, previous string
	weight                      int32
}

// targets returns the traffic list for s. Tags other than ramp's stay on
// their revisions at 0%, so users keep their own tag URLs; untagged targets
// are dropped, since their share now goes to the stable revision.
func (s split) targets(cur []*runpb.TrafficTarget) []*runpb.TrafficTarget {
	var out []*runpb.TrafficTarget
	if s.stable != "" {
		out = append(out, &runpb.TrafficTarget{Type: typeRevision, Revision: s.stable, Percent: 100 - s.weight, Tag: tagStable})
	}
	if s.candidate != "" {
		out = append(out, &runpb.TrafficTarget{Type: typeRevision, Revision: s.candidate, Percent: s.weight, Tag: tagCandidate})
	}
	if s.previous != "" && s.previous != s.stable && s.previous != s.candidate {
		out = append(out, &runpb.TrafficTarget{Type: typeRevision, Revision: s.previous, Tag: tagPrevious})
	}
	ours := []string{tagCandidate, tagStable, tagPrevious}
	for _, t := range cur {
		if t.GetTag() != "" && !slices.Contains(ours, t.GetTag()) {
			out = append(out, &runpb.TrafficTarget{Type: t.GetType(), Revision: t.GetRevision(), Tag: t.GetTag()})
		}
	}
	return out
}
