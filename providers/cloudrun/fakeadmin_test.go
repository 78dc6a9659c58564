package cloudrun

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Messages the fake gives a revision's Ready condition, after the images:
// one containing "broken" fails to start, one containing "pending" never
// finishes starting.
const (
	brokenMessage  = "The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout."
	pendingMessage = "Waiting for the container to become healthy."
)

// dnsLabel is what Cloud Run accepts for revision names and tags.
var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// fakeAdmin is a stateful Cloud Run Admin API v2 (services, revisions and
// their long-running operations) served over gRPC to the real clients. It
// creates a revision when an update changes the template, and rejects what
// the real API rejects: a stale etag, traffic not summing to 100, an unknown
// revision, a duplicated tag, a revision name without the service prefix.
type fakeAdmin struct {
	runpb.UnimplementedServicesServer
	runpb.UnimplementedRevisionsServer
	longrunningpb.UnimplementedOperationsServer

	mu        sync.Mutex
	services  map[string]*runpb.Service          // by full name
	revisions map[string]*runpb.Revision         // by full name
	templates map[string]*runpb.RevisionTemplate // by full revision name
	ops       map[string]*fakeOp
	calls     map[string]int // by gRPC method
	masks     [][]string     // the update mask of every accepted update, in order
	seq       int

	// Knobs; set them under mu once the server runs.
	deny         codes.Code           // when set, every Admin API call fails with it
	conflictCode codes.Code           // how a stale etag is refused (Aborted)
	trafficPolls int                  // polls before an update creating no revision is done
	interfere    func(*runpb.Service) // one-shot: another writer, just before an update
}

// fakeOp is an operation that is done after polls more GetOperation calls,
// or never when polls is negative.
type fakeOp struct {
	pending, done *longrunningpb.Operation
	polls         int
}

func newFakeAdmin() *fakeAdmin {
	return &fakeAdmin{
		services:     map[string]*runpb.Service{},
		revisions:    map[string]*runpb.Revision{},
		templates:    map[string]*runpb.RevisionTemplate{},
		ops:          map[string]*fakeOp{},
		calls:        map[string]int{},
		conflictCode: codes.Aborted,
	}
}

// register serves the fake on srv.
func (f *fakeAdmin) register(srv *grpc.Server) {
	runpb.RegisterServicesServer(srv, f)
	runpb.RegisterRevisionsServer(srv, f)
	longrunningpb.RegisterOperationsServer(srv, f)
}

// intercept counts every call and applies the deny knob to Admin calls.
func (f *fakeAdmin) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	f.mu.Lock()
	f.calls[info.FullMethod]++
	deny := f.deny
	f.mu.Unlock()
	if deny != codes.OK && isAdmin(info.FullMethod) {
		return nil, status.Errorf(deny, "Permission 'run.services.get' denied on resource (or it may not exist).")
	}
	return next(ctx, req)
}

func isAdmin(method string) bool {
	return strings.HasPrefix(method, "/google.cloud.run.v2.") || strings.HasPrefix(method, "/google.longrunning.")
}

// Full names of the gRPC methods the adapter calls.
const (
	methodGetService    = "/google.cloud.run.v2.Services/GetService"
	methodUpdateService = "/google.cloud.run.v2.Services/UpdateService"
	methodGetOperation  = "/google.longrunning.Operations/GetOperation"
)

// callsOf counts the calls of the gRPC method so far.
func (f *fakeAdmin) callsOf(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// updateMasks returns the update masks of the accepted updates so far.
func (f *fakeAdmin) updateMasks() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.masks)
}

// adminCalls counts the Admin API calls so far.
func (f *fakeAdmin) adminCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for m, c := range f.calls {
		if isAdmin(m) {
			n += c
		}
	}
	return n
}

// seed creates service name with one ready revision running image and all
// the traffic on the latest revision, as a first gcloud deploy leaves it.
func (f *fakeAdmin) seed(name, image string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc := &runpb.Service{
		Name: name,
		Uri:  "https://" + path.Base(name) + "-abc123-uc.a.run.app",
		Template: &runpb.RevisionTemplate{Containers: []*runpb.Container{{
			Image: image, Ports: []*runpb.ContainerPort{{ContainerPort: 8080}},
		}}},
		Traffic: []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100}},
	}
	rev := f.newRevision(svc, "")
	f.commit(svc, rev)
	f.services[name] = svc
}

// service returns a copy of the stored service.
func (f *fakeAdmin) service(name string) *runpb.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	return proto.Clone(f.services[name]).(*runpb.Service)
}

// revision returns a copy of the stored revision of the test service called
// name, or nil.
func (f *fakeAdmin) revision(name string) *runpb.Revision {
	f.mu.Lock()
	defer f.mu.Unlock()
	rev, ok := f.revisions[testName+"/revisions/"+name]
	if !ok {
		return nil
	}
	return proto.Clone(rev).(*runpb.Revision)
}

func (f *fakeAdmin) GetService(_ context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.GetName())
	}
	return proto.Clone(svc).(*runpb.Service), nil
}

func (f *fakeAdmin) GetRevision(_ context.Context, req *runpb.GetRevisionRequest) (*runpb.Revision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rev, ok := f.revisions[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.GetName())
	}
	return proto.Clone(rev).(*runpb.Revision), nil
}

func (f *fakeAdmin) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op, ok := f.ops[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "operation %q not found", req.GetName())
	}
	if op.polls > 0 {
		op.polls--
	}
	if op.polls == 0 {
		return op.done, nil
	}
	return op.pending, nil
}

func (f *fakeAdmin) UpdateService(_ context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := req.GetService()
	cur, ok := f.services[in.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", in.GetName())
	}
	if f.interfere != nil {
		change := f.interfere
		f.interfere = nil
		change(cur)
		f.commit(cur, nil)
	}
	if in.GetEtag() != "" && in.GetEtag() != cur.GetEtag() {
		return nil, status.Errorf(f.conflictCode, "etag %q does not match the current etag %q of %s", in.GetEtag(), cur.GetEtag(), cur.GetName())
	}
	next := proto.Clone(cur).(*runpb.Service)
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		paths = []string{"template", "traffic", "annotations", "labels"}
	}
	for _, p := range paths {
		switch p {
		case "template":
			next.Template = in.GetTemplate()
		case "traffic":
			next.Traffic = in.GetTraffic()
		case "annotations":
			next.Annotations = in.GetAnnotations()
		case "labels":
			next.Labels = in.GetLabels()
		case "ingress":
			next.Ingress = in.GetIngress()
		default:
			return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not supported", p)
		}
	}
	if err := checkAnnotations(next.GetAnnotations()); err != nil {
		return nil, err
	}
	if err := checkSettings(next); err != nil {
		return nil, err
	}
	var rev *runpb.Revision
	if !proto.Equal(cur.GetTemplate(), next.GetTemplate()) {
		var err error
		if rev, err = f.plannedRevision(next); err != nil {
			return nil, err
		}
	}
	if err := f.checkTraffic(next, rev); err != nil {
		return nil, err
	}
	f.commit(next, rev)
	f.services[next.GetName()] = next
	f.masks = append(f.masks, slices.Clone(req.GetUpdateMask().GetPaths()))
	return f.operation(next, rev), nil
}

// plannedRevision is the revision svc's new template creates: nil when a
// revision of that name with the same template exists already.
func (f *fakeAdmin) plannedRevision(svc *runpb.Service) (*runpb.Revision, error) {
	name := svc.GetTemplate().GetRevision()
	if name == "" {
		return f.newRevision(svc, ""), nil
	}
	prefix := path.Base(svc.GetName()) + "-"
	if !dnsLabel.MatchString(name) || !strings.HasPrefix(name, prefix) {
		return nil, status.Errorf(codes.InvalidArgument, "revision name %q must be a DNS label prefixed by the name of the enclosing Service followed by a hyphen (%q)", name, prefix)
	}
	full := svc.GetName() + "/revisions/" + name
	if old, ok := f.templates[full]; ok {
		if !proto.Equal(old, svc.GetTemplate()) {
			return nil, status.Errorf(codes.AlreadyExists, "Revision named '%s' with different configuration already exists.", name)
		}
		return nil, nil
	}
	return f.newRevision(svc, name), nil
}

// newRevision builds (but does not store) the revision svc's template makes.
func (f *fakeAdmin) newRevision(svc *runpb.Service, name string) *runpb.Revision {
	f.seq++
	if name == "" {
		name = fmt.Sprintf("%s-%05d-x%02d", path.Base(svc.GetName()), f.seq, f.seq%100)
	}
	image := ingress(svc.GetTemplate()).GetImage()
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
		ready.State, ready.Message = runpb.Condition_CONDITION_FAILED, brokenMessage
		ready.Reasons = &runpb.Condition_RevisionReason_{RevisionReason: runpb.Condition_HEALTH_CHECK_CONTAINER_ERROR}
	case strings.Contains(image, "pending"):
		ready.State, ready.Message, rev.Reconciling = runpb.Condition_CONDITION_PENDING, pendingMessage, true
	}
	return rev
}

// checkTraffic applies the real API's rules to svc's traffic, given the
// revision the same update creates.
func (f *fakeAdmin) checkTraffic(svc *runpb.Service, created *runpb.Revision) error {
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
func (f *fakeAdmin) commit(svc *runpb.Service, rev *runpb.Revision) {
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
func (f *fakeAdmin) operation(svc *runpb.Service, rev *runpb.Revision) *longrunningpb.Operation {
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
