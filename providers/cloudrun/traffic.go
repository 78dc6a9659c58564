package cloudrun

import (
	"path"
	"slices"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
)

// The traffic tags that mark the revisions taking part in a rollout. A
// tagged revision gets its own URL (https://TAG---SERVICE-....run.app).
const (
	tagCandidate = "candidate"
	tagStable    = "stable"
	tagPrevious  = "previous"
)

const (
	typeRevision = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
	typeLatest   = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
)

// roles names the revisions taking part, by their short names.
type roles struct {
	stable, candidate, previous string
	// others counts revisions besides stable and candidate that serve traffic.
	others int
}

// rolesOf finds the roles from the service's tags. Without a stable tag the
// stable revision is the one serving the most traffic, or else the latest
// ready one, but never a retired first candidate (annotationRetired).
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
	retired := annotation(svc, annotationRetired) // a first deploy's, rolled back: never stable
	shares := map[string]int32{}
	for _, t := range servingTargets(svc) {
		if rev := revisionOf(svc, t); rev != "" && rev != r.candidate && rev != retired && t.GetPercent() > 0 {
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
		if ready := shortName(svc.GetLatestReadyRevision()); ready != r.candidate && ready != retired {
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
