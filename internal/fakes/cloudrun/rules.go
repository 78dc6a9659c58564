package cloudrun

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Messages the fake gives a revision's Ready condition, after the images:
// one containing "broken" fails to start, one containing "pending" never
// finishes starting (the revision stays reconciling).
const (
	BrokenMessage  = "The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout."
	PendingMessage = "Waiting for the container to become healthy."
)

// typeLatest is the traffic target type that follows the latest ready
// revision.
const typeLatest = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST

// dnsLabel is what Cloud Run accepts for revision names and tags.
var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// IsDNSLabel reports whether s is what Cloud Run accepts as a revision
// name or a traffic tag: lowercase letters, digits and hyphens, starting
// with a letter, at most 63 characters.
func IsDNSLabel(s string) bool { return dnsLabel.MatchString(s) }

// plannedRevision is the revision svc's new template creates: nil when a
// revision of that name with the same template exists already.
func (f *Admin) plannedRevision(svc *runpb.Service) (*runpb.Revision, error) {
	name := svc.GetTemplate().GetRevision()
	if name == "" {
		return f.newRevision(svc, ""), nil
	}
	prefix := path.Base(svc.GetName()) + "-"
	if !dnsLabel.MatchString(name) || !strings.HasPrefix(name, prefix) {
		return nil, status.Errorf(codes.InvalidArgument, "revision name %q must be a DNS label (lowercase letters, digits and hyphens, at most 63 characters) prefixed by the name of the enclosing Service followed by a hyphen (%q)", name, prefix)
	}
	full := svc.GetName() + "/revisions/" + name
	if old, ok := f.templates[full]; ok {
		if !sameConfig(old, svc.GetTemplate()) {
			return nil, status.Errorf(codes.AlreadyExists, "Revision named '%s' with different configuration already exists.", name)
		}
		return nil, nil
	}
	return f.newRevision(svc, name), nil
}

// newRevision builds (but does not store) the revision svc's template makes.
func (f *Admin) newRevision(svc *runpb.Service, name string) *runpb.Revision {
	f.seq++
	if name == "" {
		name = fmt.Sprintf("%s-%05d-x%02d", path.Base(svc.GetName()), f.seq, f.seq%100)
	}
	image := servingContainer(svc.GetTemplate()).GetImage()
	ready := &runpb.Condition{Type: "Ready", State: runpb.Condition_CONDITION_SUCCEEDED}
	rev := &runpb.Revision{
		Name:       svc.GetName() + "/revisions/" + name,
		Service:    svc.GetName(),
		Containers: svc.GetTemplate().GetContainers(),
		Conditions: []*runpb.Condition{ready},
	}
	carrySettings(rev, svc.GetTemplate())
	switch {
	case strings.Contains(image, "broken"):
		ready.State, ready.Message = runpb.Condition_CONDITION_FAILED, BrokenMessage
		ready.Reasons = &runpb.Condition_RevisionReason_{RevisionReason: runpb.Condition_HEALTH_CHECK_CONTAINER_ERROR}
	case strings.Contains(image, "pending"):
		ready.State, ready.Message, rev.Reconciling = runpb.Condition_CONDITION_PENDING, PendingMessage, true
	}
	return rev
}

// checkTraffic applies the real API's rules to svc's traffic, given the
// revision the same update creates.
func (f *Admin) checkTraffic(svc *runpb.Service, created *runpb.Revision) error {
	if len(svc.GetTraffic()) == 0 {
		svc.Traffic = []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100}}
	}
	var sum int32
	tags := map[string]bool{}
	for _, t := range svc.GetTraffic() {
		switch {
		case t.GetPercent() < 0 || t.GetPercent() > 100:
			return status.Errorf(codes.InvalidArgument, "traffic percent %d is outside 0..100", t.GetPercent())
		case t.GetType() == typeLatest && t.GetRevision() != "":
			return status.Errorf(codes.InvalidArgument, "a LATEST traffic target must not name revision %q", t.GetRevision())
		case t.GetType() != typeLatest && t.GetRevision() == "":
			return status.Errorf(codes.InvalidArgument, "a traffic target must name a revision or be LATEST")
		case t.GetRevision() != "" && created.GetName() != svc.GetName()+"/revisions/"+t.GetRevision() &&
			f.revisions[svc.GetName()+"/revisions/"+t.GetRevision()] == nil:
			return status.Errorf(codes.InvalidArgument, "Revision '%s' does not exist or is deleted. Update all traffic to route to currently available revisions.", t.GetRevision())
		case t.GetTag() != "" && !dnsLabel.MatchString(t.GetTag()):
			return status.Errorf(codes.InvalidArgument, "tag %q is not a DNS label", t.GetTag())
		case t.GetTag() != "" && len(t.GetTag())+len(path.Base(svc.GetName())) > 46:
			return status.Errorf(codes.InvalidArgument, "Combined traffic tag and service name cannot exceed 46 characters (tag %q, service %q).", t.GetTag(), path.Base(svc.GetName()))
		case t.GetTag() != "" && tags[t.GetTag()]:
			return status.Errorf(codes.InvalidArgument, "tag %q is used by more than one traffic target", t.GetTag())
		}
		tags[t.GetTag()] = t.GetTag() != ""
		sum += t.GetPercent()
	}
	if sum != 100 {
		return status.Errorf(codes.InvalidArgument, "traffic percentages add up to %d, not 100", sum)
	}
	return nil
}

// commit stores rev (if any) and brings svc's output fields up to date.
func (f *Admin) commit(svc *runpb.Service, rev *runpb.Revision) {
	f.seq++
	if rev != nil {
		f.revisions[rev.GetName()] = rev
		f.templates[rev.GetName()] = proto.Clone(svc.GetTemplate()).(*runpb.RevisionTemplate)
		svc.LatestCreatedRevision = rev.GetName()
		if readyCondition(rev).GetState() == runpb.Condition_CONDITION_SUCCEEDED {
			svc.LatestReadyRevision = rev.GetName()
		}
	}
	svc.Generation++
	svc.ObservedGeneration = svc.Generation
	svc.Etag = fmt.Sprintf(`"etag-%d"`, f.seq)
	host := strings.TrimPrefix(svc.GetUri(), "https://")
	svc.TrafficStatuses = nil
	for _, t := range svc.GetTraffic() {
		st := &runpb.TrafficTargetStatus{Type: t.GetType(), Revision: revisionOf(svc, t), Percent: t.GetPercent(), Tag: t.GetTag()}
		if t.GetTag() != "" {
			st.Uri = "https://" + t.GetTag() + "---" + host
		}
		svc.TrafficStatuses = append(svc.TrafficStatuses, st)
	}
	if c := readyCondition(f.revisions[svc.GetLatestCreatedRevision()]); c != nil {
		svc.TerminalCondition = proto.Clone(c).(*runpb.Condition)
	}
}

// operation returns the operation of an update: one creating a revision is
// done on the first poll (never for a pending revision) and fails when the
// revision does; others are done after trafficPolls polls.
func (f *Admin) operation(svc *runpb.Service, rev *runpb.Revision) *longrunningpb.Operation {
	name := fmt.Sprintf("%s/operations/op-%d", path.Dir(path.Dir(svc.GetName())), f.seq)
	meta, _ := anypb.New(svc)
	pending := &longrunningpb.Operation{Name: name, Metadata: meta}
	done := proto.Clone(pending).(*longrunningpb.Operation)
	done.Done = true
	done.Result = &longrunningpb.Operation_Response{Response: meta}
	polls := f.trafficPolls
	if rev != nil {
		polls = 1
		switch c := readyCondition(rev); c.GetState() {
		case runpb.Condition_CONDITION_FAILED:
			done.Result = &longrunningpb.Operation_Error{Error: &spb.Status{
				Code:    int32(codes.FailedPrecondition),
				Message: fmt.Sprintf("Revision '%s' is not ready and cannot serve traffic. %s", path.Base(rev.GetName()), c.GetMessage()),
			}}
		case runpb.Condition_CONDITION_PENDING:
			polls = -1
		}
	}
	f.ops[name] = &fakeOp{pending: pending, done: done, polls: polls}
	if polls == 0 {
		return done
	}
	return pending
}

// checkAnnotations refuses the system prefixes Cloud Run v2 refuses.
func checkAnnotations(a map[string]string) error {
	for k := range a {
		for _, p := range []string{"run.googleapis.com/", "serving.knative.dev/", "autoscaling.knative.dev/", "cloud.googleapis.com/"} {
			if strings.HasPrefix(k, p) {
				return status.Errorf(codes.InvalidArgument, "annotation %q uses the system prefix %q", k, p)
			}
		}
	}
	return nil
}

// sameConfig reports whether two templates configure a revision alike:
// the revision name is not configuration.
func sameConfig(a, b *runpb.RevisionTemplate) bool {
	a, b = proto.Clone(a).(*runpb.RevisionTemplate), proto.Clone(b).(*runpb.RevisionTemplate)
	a.Revision, b.Revision = "", ""
	return proto.Equal(a, b)
}

// checkServiceID applies the real API's rule to a new service's name.
func checkServiceID(id string) error {
	if !regexp.MustCompile(`^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$`).MatchString(id) {
		return status.Errorf(codes.InvalidArgument, "service_id %q must be lowercase letters, digits and hyphens, start with a letter, end with a letter or digit and be at most 49 characters", id)
	}
	return nil
}

// validation is the answer to a validate_only request: done, with the
// service as it would be, and nothing stored.
func (f *Admin) validation(svc *runpb.Service) *longrunningpb.Operation {
	meta, _ := anypb.New(svc)
	return &longrunningpb.Operation{Name: path.Dir(path.Dir(svc.GetName())) + "/operations/validate", Metadata: meta, Done: true,
		Result: &longrunningpb.Operation_Response{Response: meta}}
}

// servingContainer is the container of t that receives the requests: the
// one with a port, else the only one.
func servingContainer(t *runpb.RevisionTemplate) *runpb.Container {
	for _, c := range t.GetContainers() {
		if len(c.GetPorts()) > 0 {
			return c
		}
	}
	if len(t.GetContainers()) > 0 {
		return t.GetContainers()[0]
	}
	return nil
}

// readyCondition is r's Ready condition, or nil.
func readyCondition(r *runpb.Revision) *runpb.Condition {
	for _, c := range r.GetConditions() {
		if c.GetType() == "Ready" {
			return c
		}
	}
	return nil
}

// revisionOf is the short name of the revision the target routes to: the
// one it names, or for LATEST the latest ready one.
func revisionOf(svc *runpb.Service, t *runpb.TrafficTarget) string {
	if t.GetRevision() != "" {
		return t.GetRevision()
	}
	if t.GetType() == typeLatest && svc.GetLatestReadyRevision() != "" {
		return path.Base(svc.GetLatestReadyRevision())
	}
	return ""
}
