package cloudrun

import (
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// annotationTemplate holds the template of the revision a rollback goes
// back to (protojson, named after that revision), saved by Deploy before
// it writes the candidate's: a rollback or a revert puts it back, so the
// console's "edit and deploy", `gcloud run services update` and the next
// deploy start from the revision that serves, not from the one rolled back.
const annotationTemplate = "ramp.dev/template"

// saveTemplate keeps the template of stable in annotationTemplate before
// Deploy replaces svc's template: the one saved already when it is
// stable's, else svc's template when it provably configures stable (it
// names stable, or names no revision and stable is the latest created).
// Otherwise nothing is kept, and a rollback leaves the template as it is.
func saveTemplate(svc *runpb.Service, stable string) {
	if t := savedTemplate(svc); stable != "" && t.GetRevision() == stable {
		return
	}
	t := svc.GetTemplate()
	if stable == "" || t == nil || (t.GetRevision() != stable &&
		(t.GetRevision() != "" || shortName(svc.GetLatestCreatedRevision()) != stable)) {
		setAnnotation(svc, annotationTemplate, "")
		return
	}
	t = proto.Clone(t).(*runpb.RevisionTemplate)
	t.Revision = stable
	b, err := protojson.Marshal(t)
	if err != nil {
		setAnnotation(svc, annotationTemplate, "")
		return
	}
	setAnnotation(svc, annotationTemplate, string(b))
}

// savedTemplate is the template annotationTemplate holds, or nil.
func savedTemplate(svc *runpb.Service) *runpb.RevisionTemplate {
	v := annotation(svc, annotationTemplate)
	if v == "" {
		return nil
	}
	t := &runpb.RevisionTemplate{}
	if err := protojson.Unmarshal([]byte(v), t); err != nil {
		return nil
	}
	return t
}

// restoreTemplate makes the saved template svc's when it is rev's (the
// revision that takes all the traffic back), naming rev so that no new
// revision is created, and drops the annotation: the template is rev's
// now, or the saved one is of no use. It reports whether the template
// changed.
func restoreTemplate(svc *runpb.Service, rev string) bool {
	t := savedTemplate(svc)
	setAnnotation(svc, annotationTemplate, "")
	if t == nil || rev == "" || t.GetRevision() != rev || proto.Equal(t, svc.GetTemplate()) {
		return false
	}
	svc.Template = t
	return true
}
