package cloudrun

import (
	"context"
	"path"
	"slices"
	"strings"
	"sync"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeAdmin is a stateful Cloud Run Admin API v2 (services, revisions and
// their long-running operations) served over gRPC to the real clients. It
// creates a revision when a create or an update changes the template, and
// rejects what the real API rejects (see fakerules_test.go): a stale etag,
// a service that exists already, traffic not summing to 100, an unknown
// revision, a duplicated tag, a tag too long beside the service name, a
// revision name without the service prefix or longer than 63 characters.
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
	validated int            // validate_only requests that passed
	seq       int

	// Knobs; set them under mu once the server runs.
	deny         codes.Code           // when set, every Admin API call fails with it
	conflictCode codes.Code           // how a stale etag is refused (Aborted)
	trafficPolls int                  // polls before an update creating no revision is done
	interfere    func(*runpb.Service) // one-shot: another writer, just before an update
	// failNext fails the next calls of a gRPC method, one code a call,
	// before they reach the fake (a network error, an overloaded server).
	failNext map[string][]codes.Code
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
		failNext:     map[string][]codes.Code{},
	}
}

// register serves the fake on srv.
func (f *fakeAdmin) register(srv *grpc.Server) {
	runpb.RegisterServicesServer(srv, f)
	runpb.RegisterRevisionsServer(srv, f)
	longrunningpb.RegisterOperationsServer(srv, f)
}

// intercept counts every call and applies the deny and failNext knobs to
// Admin calls.
func (f *fakeAdmin) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	f.mu.Lock()
	f.calls[info.FullMethod]++
	deny := f.deny
	var fail codes.Code
	if q := f.failNext[info.FullMethod]; len(q) > 0 {
		fail, f.failNext[info.FullMethod] = q[0], q[1:]
	}
	f.mu.Unlock()
	if deny != codes.OK && isAdmin(info.FullMethod) {
		return nil, status.Errorf(deny, "Permission 'run.services.get' denied on resource (or it may not exist).")
	}
	if fail != codes.OK {
		return nil, status.Errorf(fail, "the fake failed this call of %s (%s)", path.Base(info.FullMethod), fail)
	}
	return next(ctx, req)
}

// failCalls makes the next calls of method fail with codes, in order.
func (f *fakeAdmin) failCalls(method string, codes ...codes.Code) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[method] = append(f.failNext[method], codes...)
}

func isAdmin(method string) bool {
	return strings.HasPrefix(method, "/google.cloud.run.v2.") || strings.HasPrefix(method, "/google.longrunning.")
}

// Full names of the gRPC methods the adapter calls.
const (
	methodGetService    = "/google.cloud.run.v2.Services/GetService"
	methodCreateService = "/google.cloud.run.v2.Services/CreateService"
	methodUpdateService = "/google.cloud.run.v2.Services/UpdateService"
	methodGetRevision   = "/google.cloud.run.v2.Revisions/GetRevision"
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

// service returns a copy of the stored service, or nil.
func (f *fakeAdmin) service(name string) *runpb.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[name]
	if !ok {
		return nil
	}
	return proto.Clone(svc).(*runpb.Service)
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

func (f *fakeAdmin) CreateService(_ context.Context, req *runpb.CreateServiceRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := req.GetServiceId()
	if err := checkServiceID(id); err != nil {
		return nil, err
	}
	name := req.GetParent() + "/services/" + id
	if _, ok := f.services[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists.", name)
	}
	next := proto.Clone(req.GetService()).(*runpb.Service)
	next.Name, next.Uri, next.Etag = name, "https://"+id+"-abc123-uc.a.run.app", ""
	return f.accept(next, nil, req.GetValidateOnly())
}

func (f *fakeAdmin) UpdateService(_ context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := req.GetService()
	cur, ok := f.services[in.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", in.GetName())
	}
	if f.interfere != nil && !req.GetValidateOnly() {
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
	op, err := f.accept(next, cur, req.GetValidateOnly())
	if err == nil && !req.GetValidateOnly() {
		f.masks = append(f.masks, slices.Clone(req.GetUpdateMask().GetPaths()))
	}
	return op, err
}

// accept checks next, the service as a create (cur nil) or an update of
// cur would leave it, and stores it with the revision its template
// creates, unless validateOnly. f.mu is held.
func (f *fakeAdmin) accept(next, cur *runpb.Service, validateOnly bool) (*longrunningpb.Operation, error) {
	if err := checkAnnotations(next.GetAnnotations()); err != nil {
		return nil, err
	}
	if err := fakeCheckSettings(next); err != nil {
		return nil, err
	}
	var rev *runpb.Revision
	if cur == nil || !proto.Equal(cur.GetTemplate(), next.GetTemplate()) {
		var err error
		if rev, err = f.plannedRevision(next); err != nil {
			return nil, err
		}
	}
	if err := f.checkTraffic(next, rev); err != nil {
		return nil, err
	}
	if validateOnly {
		f.validated++
		return f.validation(next), nil
	}
	f.commit(next, rev)
	f.services[next.GetName()] = next
	return f.operation(next, rev), nil
}
