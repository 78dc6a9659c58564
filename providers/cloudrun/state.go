package cloudrun

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/ramp-deploy/ramp/providers"
)

// The annotations ramp keeps on the service, so any later process finds the
// rollout; the roles themselves are the traffic tags (see traffic.go).
const (
	// annotationRollout holds the JSON of providers.Rollout.
	annotationRollout = "ramp.dev/rollout"
	// annotationPreviousUntil is when the previous revision stops being
	// kept for a fast rollback (RFC 3339).
	annotationPreviousUntil = "ramp.dev/previous-until"
	// legacyAnnotationLastAction was the last promote or rollback, kept
	// by earlier versions so a retry did nothing; Transition.Done on the
	// service's status tells that now, and Deploy and Apply remove it.
	legacyAnnotationLastAction = "ramp.dev/last-action"
	// annotationImages maps the tagged revisions to their images (JSON),
	// since the service's template only shows the newest one.
	annotationImages = "ramp.dev/images"
)

// statusOf derives the status from one read of the service.
func statusOf(svc *runpb.Service, now time.Time) (providers.Status, error) {
	rec, err := decodeRecord(svc)
	if err != nil {
		return providers.Status{}, err
	}
	r := rolesOf(svc)
	images := imagesOf(svc)
	st := providers.Status{URL: svc.GetUri(), Rollout: rec}
	if r.stable != "" {
		st.Stable = revisionStatus(svc, r.stable, tagStable, images)
	}
	if r.candidate != "" {
		st.Candidate = revisionStatus(svc, r.candidate, tagCandidate, images)
		if r.stable != "" { // a first deploy's candidate takes nothing from a stable revision
			st.Weight = routed(svc, r.candidate)
		}
	}
	st.Warnings = append(firstDeployWarnings(svc, r), reachWarnings(svc)...)
	if prev := r.warmPrevious(svc, now); prev != "" {
		st.Previous = revisionStatus(svc, prev, tagPrevious, images)
	}
	return st, nil
}

// revisionStatus describes rev from the service alone, without reading the
// revision: its tag URL, its image, and whether it can serve.
func revisionStatus(svc *runpb.Service, rev, tag string, images map[string]string) *providers.Revision {
	out := &providers.Revision{ID: rev, URL: tagURL(svc, tag, rev), Image: images[rev], Ready: ready(svc, rev)}
	if out.Image == "" && svc.GetTemplate().GetRevision() == rev {
		out.Image = ingress(svc.GetTemplate()).GetImage()
	}
	return out
}

// ready reports whether rev can serve: it is the latest ready revision, or
// an older one than the latest created (which ramp only tags once ready).
func ready(svc *runpb.Service, rev string) bool {
	return rev == shortName(svc.GetLatestReadyRevision()) || rev != shortName(svc.GetLatestCreatedRevision())
}

// encodeRecord is the annotation value for r.
func encodeRecord(r providers.Rollout) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode the rollout record: %w", err)
	}
	return string(b), nil
}

// decodeRecord reads the rollout record; a service without one has the
// zero record (PhaseNone).
func decodeRecord(svc *runpb.Service) (providers.Rollout, error) {
	var r providers.Rollout
	v := annotation(svc, annotationRollout)
	if v == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return providers.Rollout{}, fmt.Errorf("%w: annotation %s is not a rollout record: %w", providers.ErrInvalid, annotationRollout, err)
	}
	return r, nil
}

// annotation is the value of the service annotation key, or "".
func annotation(svc *runpb.Service, key string) string {
	return svc.GetAnnotations()[key]
}

// setAnnotation sets key to value on the service, or removes key when
// value is empty.
func setAnnotation(svc *runpb.Service, key, value string) {
	if value == "" {
		delete(svc.Annotations, key)
		return
	}
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[key] = value
}

// imagesOf reads the revision-to-image map; a malformed one is ignored,
// since images only decorate the status.
func imagesOf(svc *runpb.Service) map[string]string {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(annotation(svc, annotationImages)), &m); err != nil {
		return map[string]string{}
	}
	return m
}

// setImages stores images, keeping only the revisions listed in keep.
func setImages(svc *runpb.Service, images map[string]string, keep ...string) {
	kept := map[string]string{}
	for _, rev := range keep {
		if img, ok := images[rev]; ok && rev != "" {
			kept[rev] = img
		}
	}
	if len(kept) == 0 {
		setAnnotation(svc, annotationImages, "")
		return
	}
	b, err := json.Marshal(kept) // a map of strings always encodes
	if err != nil {
		return
	}
	setAnnotation(svc, annotationImages, string(b))
}

// withImage is images plus rev running image.
func withImage(images map[string]string, rev, image string) map[string]string {
	out := maps.Clone(images)
	if rev != "" && image != "" {
		out[rev] = image
	}
	return out
}

// reachWarnings says when the tag URLs ramp probes by default cannot be
// reached from outside Google Cloud: the service's default URL is
// disabled, or its ingress is internal.
func reachWarnings(svc *runpb.Service) []string {
	switch svc.GetIngress() {
	case runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY, runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER:
		return []string{fmt.Sprintf("ingress is %s: the tag URLs (candidate, stable) answer only from inside the VPC, not from GitHub-hosted runners; set probe-url, or probe from a runner inside the VPC",
			strings.ToLower(strings.TrimPrefix(svc.GetIngress().String(), "INGRESS_TRAFFIC_")))}
	}
	if svc.GetDefaultUriDisabled() {
		return []string{"the service's default run.app URL is disabled, so its tag URLs (candidate, stable) do not answer; set probe-url"}
	}
	return nil
}
