package cloudrun

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/testing/protocmp"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	testProject = "p"
	testRegion  = "europe-west1"
	testService = "api"
	testName    = "projects/p/locations/europe-west1/services/api"
	stableImage = "europe-docker.pkg.dev/p/app/api:v1"
	nextImage   = "europe-docker.pkg.dev/p/app/api:v2"
	serviceHost = "api-abc123-uc.a.run.app"
	// seedRevision is the revision the fake's first deploy created.
	seedRevision = "api-00001-x01"
	// candidateRevision is what deploy(t, p, "v2") starts.
	candidateRevision = "api-v2"
)

// testEnv is one in-process gRPC server, reached through an in-memory
// listener, holding a fake Admin API with the service "api" already
// deployed once, and a fake Cloud Monitoring. Built inside a synctest
// bubble (see bubble), everything that waits runs on the bubble's clock.
type testEnv struct {
	admin *fake.Admin
	mon   *fake.Monitoring
	cfg   providers.Config
	opts  []option.ClientOption
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEmptyTestEnv(t)
	e.admin.Seed(testName, stableImage)
	if got := e.stable(); got != seedRevision {
		t.Fatalf("the fake named its first revision %q, want %q", got, seedRevision)
	}
	return e
}

// newEmptyTestEnv is a testEnv whose fake Admin API holds no service yet.
func newEmptyTestEnv(t *testing.T) *testEnv {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := fake.New()
	e := &testEnv{
		admin: srv.Admin,
		mon:   srv.Monitoring,
		cfg:   providers.Config{Project: testProject, Region: testRegion, Service: testService},
		opts: []option.ClientOption{
			option.WithEndpoint("passthrough:///fake"),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
			option.WithGRPCDialOption(grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return lis.DialContext(ctx)
			})),
		},
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return e
}

// bubble runs f in a synctest bubble with a new testEnv, so the polls of
// operations and revisions and the engine's intervals take no real time.
func bubble(t *testing.T, f func(t *testing.T, e *testEnv)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { f(t, newTestEnv(t)) })
}

// bubbleEmpty is bubble with no service in the fake Admin API.
func bubbleEmpty(t *testing.T, f func(t *testing.T, e *testEnv)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { f(t, newEmptyTestEnv(t)) })
}

// provider is a Provider (a process) talking to the fakes.
func (e *testEnv) provider(t *testing.T) *Provider {
	t.Helper()
	p, err := NewWithOptions(e.cfg, e.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// stable is the short name of the revision the seed deployed.
func (e *testEnv) stable() string {
	return shortName(e.admin.Service(testName).GetLatestReadyRevision())
}

// edit changes the stored service as another tool would.
func (e *testEnv) edit(change func(*runpb.Service)) {
	if !e.admin.Edit(testName, change) {
		panic("no service " + testName + " to edit")
	}
}

// revision is the stored revision of the test service called name, or nil.
func (e *testEnv) revision(name string) *runpb.Revision {
	return e.admin.Revision(testName + "/revisions/" + name)
}

// resource is the monitored resource of the test service's revision rev.
func resource(rev string) fake.Resource {
	return fake.Resource{Project: testProject, Location: testRegion, Service: testService, Revision: rev}
}

// route is one entry of what the service reports routing.
type route struct {
	Revision string
	Percent  int32
	Tag      string
}

// routes is the service's traffic statuses.
func (e *testEnv) routes() []route {
	var out []route
	for _, s := range e.admin.Service(testName).GetTrafficStatuses() {
		out = append(out, route{s.GetRevision(), s.GetPercent(), s.GetTag()})
	}
	return out
}

// served maps each revision to the percentage it serves.
func (e *testEnv) served() map[string]int32 {
	out := map[string]int32{}
	for _, r := range e.routes() {
		if r.Percent > 0 {
			out[r.Revision] += r.Percent
		}
	}
	return out
}

// deploy starts the candidate api-<rev> running nextImage.
func deploy(t *testing.T, p *Provider, rev string) providers.Revision {
	t.Helper()
	r, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: rev})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	return r
}

// mustApply applies tr and returns the record as stored.
func mustApply(t *testing.T, p *Provider, tr providers.Transition) providers.Rollout {
	t.Helper()
	stored, err := p.Apply(t.Context(), tr)
	if err != nil {
		t.Fatalf("Apply(%s): %v", tr, err)
	}
	want := tr.Record
	want.Version++
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Fatalf("Apply(%s) stored (-want +got):\n%s", tr, diff)
	}
	return stored
}

// The transitions, each with rec (written from rec.Version) as its record
// once made.

func shift(rev string, weight int, rec providers.Rollout) providers.Transition {
	rec.Weight = weight
	return providers.Transition{Action: providers.ActionShift, Revision: rev, Weight: weight, Record: rec}
}

func promote(rev string, keep time.Duration, rec providers.Rollout) providers.Transition {
	rec.Phase, rec.Weight = providers.PhasePromoted, 100
	return providers.Transition{Action: providers.ActionPromote, Revision: rev, KeepPrevious: keep, Record: rec}
}

func rollback(rev string, rec providers.Rollout) providers.Transition {
	rec.Phase, rec.Weight = providers.PhaseRolledBack, 0
	return providers.Transition{Action: providers.ActionRollback, Revision: rev, Record: rec}
}

func revert(rev string, rec providers.Rollout) providers.Transition {
	rec.Phase, rec.Weight = providers.PhaseRolledBack, 0
	return providers.Transition{Action: providers.ActionRevert, Revision: rev, Record: rec}
}

func record(rec providers.Rollout) providers.Transition {
	return providers.Transition{Action: providers.ActionRecord, Record: rec}
}

// unchanged reports how the stored service differs from before.
func (e *testEnv) unchanged(t *testing.T, before *runpb.Service, what string) {
	t.Helper()
	if diff := cmp.Diff(before, e.admin.Service(testName), protocmp.Transform()); diff != "" {
		t.Errorf("%s changed the service (-before +after):\n%s", what, diff)
	}
}
