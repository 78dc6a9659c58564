package cloudrun

import (
	"context"
	"maps"
	"path"
	"slices"
	"sync"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Admin is a stateful Cloud Run Admin API v2 (services, revisions and
// their long-running operations) served over gRPC to the real clients. It
// creates a revision when a create or an update changes the template, and
// rejects what the real API rejects (see rules.go and settings.go): a stale
// etag, a service that exists already, traffic not summing to 100, an
// unknown revision, a duplicated tag, a tag too long beside the service
// name, a revision name without the service prefix or longer than 63
// characters, reserved env names, system annotations, bad labels and
// settings. Its methods are safe for concurrent use.
type Admin struct {
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

	// Knobs, set through their methods.
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

// NewAdmin returns an Admin API holding no service.
func NewAdmin() *Admin {
	return &Admin{
		services:     map[string]*runpb.Service{},
		revisions:    map[string]*runpb.Revision{},
		templates:    map[string]*runpb.RevisionTemplate{},
		ops:          map[string]*fakeOp{},
		calls:        map[string]int{},
		conflictCode: codes.Aborted,
		failNext:     map[string][]codes.Code{},
	}
}

// Register serves the fake on srv; srv should run Intercept as its unary
// interceptor, for the call counts and the injected failures.
func (f *Admin) Register(srv *grpc.Server) {
	runpb.RegisterServicesServer(srv, f)
	runpb.RegisterRevisionsServer(srv, f)
	longrunningpb.RegisterOperationsServer(srv, f)
}

// Intercept is a unary server interceptor that counts every call (of any
// API on the server) and applies Deny and FailCalls: Deny to Admin API
// calls, FailCalls to the method it names.
func (f *Admin) Intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
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

// Seed creates the service called name (projects/P/locations/R/services/S)
// with one ready revision running image and all the traffic on the latest
// revision, as a first gcloud deploy leaves it.
func (f *Admin) Seed(name, image string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc := &runpb.Service{
		Name: name,
		Uri:  serviceURL(path.Base(name)),
		Template: &runpb.RevisionTemplate{Containers: []*runpb.Container{{
			Image: image, Ports: []*runpb.ContainerPort{{ContainerPort: 8080}},
		}}},
		Traffic: []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100}},
	}
	rev := f.newRevision(svc, "")
	f.commit(svc, rev)
	f.services[name] = svc
}

// serviceURL is the URL the fake gives the service id.
func serviceURL(id string) string { return "https://" + id + "-abc123-uc.a.run.app" }

// Service returns a copy of the stored service called name, or nil.
func (f *Admin) Service(name string) *runpb.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[name]
	if !ok {
		return nil
	}
	return proto.Clone(svc).(*runpb.Service)
}

// Services returns copies of every stored service, by name.
func (f *Admin) Services() []*runpb.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runpb.Service
	for _, name := range slices.Sorted(maps.Keys(f.services)) {
		out = append(out, proto.Clone(f.services[name]).(*runpb.Service))
	}
	return out
}

// Revision returns a copy of the stored revision called name (its full
// name), or nil.
func (f *Admin) Revision(name string) *runpb.Revision {
	f.mu.Lock()
	defer f.mu.Unlock()
	rev, ok := f.revisions[name]
	if !ok {
		return nil
	}
	return proto.Clone(rev).(*runpb.Revision)
}

// Edit changes the stored service called name as another tool would,
// bringing its output fields (etag, generation, traffic statuses) up to
// date; it reports whether the service exists.
func (f *Admin) Edit(name string, change func(*runpb.Service)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[name]
	if ok {
		change(svc)
		f.commit(svc, nil)
	}
	return ok
}

// GetService implements runpb.ServicesServer.
func (f *Admin) GetService(_ context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.GetName())
	}
	return proto.Clone(svc).(*runpb.Service), nil
}

// GetRevision implements runpb.RevisionsServer.
func (f *Admin) GetRevision(_ context.Context, req *runpb.GetRevisionRequest) (*runpb.Revision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rev, ok := f.revisions[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.GetName())
	}
	return proto.Clone(rev).(*runpb.Revision), nil
}

// GetOperation implements longrunningpb.OperationsServer.
func (f *Admin) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
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

// CreateService implements runpb.ServicesServer.
func (f *Admin) CreateService(_ context.Context, req *runpb.CreateServiceRequest) (*longrunningpb.Operation, error) {
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
	next.Name, next.Uri, next.Etag = name, serviceURL(id), ""
	return f.accept(next, nil, req.GetValidateOnly())
}

// UpdateService implements runpb.ServicesServer.
func (f *Admin) UpdateService(_ context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
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
func (f *Admin) accept(next, cur *runpb.Service, validateOnly bool) (*longrunningpb.Operation, error) {
	if err := checkAnnotations(next.GetAnnotations()); err != nil {
		return nil, err
	}
	if err := checkSettings(next); err != nil {
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
