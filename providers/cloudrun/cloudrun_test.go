package cloudrun

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ramp-deploy/ramp/internal/input"
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
)

// testEnv is one in-process gRPC server holding a fake Admin API with the
// service "api" already deployed once, and a fake Cloud Monitoring.
type testEnv struct {
	admin *fakeAdmin
	mon   *fakeMonitoring
	cfg   providers.Config
	opts  []option.ClientOption
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{
		admin: newFakeAdmin(),
		mon:   &fakeMonitoring{},
		cfg:   providers.Config{Project: testProject, Region: testRegion, Service: testService},
		opts: []option.ClientOption{
			option.WithEndpoint(lis.Addr().String()),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		},
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(e.admin.intercept))
	e.admin.register(srv)
	monitoringpb.RegisterMetricServiceServer(srv, e.mon)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	e.admin.seed(testName, stableImage)
	return e
}

// provider is a Provider (a process) talking to the fakes, polling every
// millisecond.
func (e *testEnv) provider(t *testing.T) *Provider {
	t.Helper()
	p, err := NewWithOptions(e.cfg, e.opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.poll = time.Millisecond
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// stable is the short name of the revision the seed deployed.
func (e *testEnv) stable() string {
	return shortName(e.admin.service(testName).GetLatestReadyRevision())
}

// edit changes the stored service as another tool would.
func (e *testEnv) edit(change func(*runpb.Service)) {
	e.admin.mu.Lock()
	defer e.admin.mu.Unlock()
	svc := e.admin.services[testName]
	change(svc)
	e.admin.commit(svc, nil)
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
	for _, s := range e.admin.service(testName).GetTrafficStatuses() {
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

func TestNew(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cfg     providers.Config
		invalid []string // inputs named in the error, in order
	}{
		{"valid", providers.Config{Project: "p", Region: "r", Service: "api"}, nil},
		{"all missing", providers.Config{}, []string{"project", "region", "service"}},
		{"region missing", providers.Config{Project: "p", Service: "api"}, []string{"region"}},
		{"service with a slash", providers.Config{Project: "p", Region: "r", Service: "a/b"}, []string{"service"}},
		{"service not a name", providers.Config{Project: "p", Region: "r", Service: "Api_1"}, []string{"service"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tc.cfg)
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					ie, ok := errors.AsType[*input.Error](e)
					if !ok {
						t.Fatalf("error %v is not an *input.Error", e)
					}
					got = append(got, ie.Input)
				}
			}
			if diff := cmp.Diff(tc.invalid, got); diff != "" {
				t.Errorf("invalid inputs (-want +got):\n%s", diff)
			}
			if (p == nil) != (err != nil) {
				t.Errorf("New = %v, %v: want a provider or an error", p, err)
			}
		})
	}
}

func TestNewCallsNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.admin.adminCalls()
	e.provider(t)
	if got := e.admin.adminCalls() - before; got != 0 {
		t.Errorf("NewWithOptions made %d Admin API calls, want 0", got)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		service string
		deny    codes.Code
		call    func(context.Context, *Provider) error
		want    error
	}{
		{"permission denied on preflight", "", codes.PermissionDenied, func(ctx context.Context, p *Provider) error { return p.Preflight(ctx) }, providers.ErrPermission},
		{"unauthenticated on status", "", codes.Unauthenticated, func(ctx context.Context, p *Provider) error { _, err := p.Status(ctx); return err }, providers.ErrPermission},
		{"permission denied on deploy", "", codes.PermissionDenied, func(ctx context.Context, p *Provider) error {
			_, err := p.Deploy(ctx, providers.Artifact{Image: nextImage})
			return err
		}, providers.ErrPermission},
		{"service not found", "missing", codes.OK, func(ctx context.Context, p *Provider) error { return p.Preflight(ctx) }, providers.ErrNotFound},
		{"not found on set weight", "missing", codes.OK, func(ctx context.Context, p *Provider) error { return p.SetWeight(ctx, 10) }, providers.ErrNotFound},
		{"weight out of range", "", codes.OK, func(ctx context.Context, p *Provider) error { return p.SetWeight(ctx, 101) }, providers.ErrInvalid},
		{"no candidate to weigh", "", codes.OK, func(ctx context.Context, p *Provider) error { return p.SetWeight(ctx, 10) }, providers.ErrNoCandidate},
		{"no candidate to promote", "", codes.OK, func(ctx context.Context, p *Provider) error { return p.Promote(ctx, time.Hour) }, providers.ErrNoCandidate},
		{"nothing to roll back", "", codes.OK, func(ctx context.Context, p *Provider) error { return p.Rollback(ctx) }, providers.ErrNoCandidate},
		{"env not KEY=VALUE", "", codes.OK, func(ctx context.Context, p *Provider) error {
			_, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Env: []string{"NOEQUALS"}})
			return err
		}, providers.ErrInvalid},
		{"reserved annotation", "", codes.OK, func(ctx context.Context, p *Provider) error {
			_, err := p.write(ctx, "annotate", []string{"annotations"}, func(svc *runpb.Service) error {
				setAnnotation(svc, "run.googleapis.com/ingress", "all")
				return nil
			})
			return err
		}, providers.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			if tc.service != "" {
				e.cfg.Service = tc.service
			}
			e.admin.mu.Lock()
			e.admin.deny = tc.deny
			e.admin.mu.Unlock()
			err := tc.call(t.Context(), e.provider(t))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.want)
			}
			for _, s := range []string{`"` + e.cfg.Service + `"`, `project "p"`, `region "europe-west1"`} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
		})
	}
}

func TestAdminCallsPerStep(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		trafficPolls int // polls before a traffic update's operation is done
		want         int
	}{
		{"operation done in the response", 0, 3},
		{"operation done on the first poll", 1, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			p := e.provider(t)
			ctx := t.Context()
			rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "c0ffee1"})
			if err != nil {
				t.Fatal(err)
			}
			e.admin.mu.Lock()
			e.admin.trafficPolls = tc.trafficPolls
			e.admin.mu.Unlock()
			rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: e.stable(), Candidate: rev.ID}
			for i, w := range []int{5, 25, 50} {
				before := e.admin.adminCalls()
				if err := p.SetWeight(ctx, w); err != nil {
					t.Fatal(err)
				}
				rec.Step, rec.Weight = i, w
				if err := p.Record(ctx, rec); err != nil {
					t.Fatal(err)
				}
				rec.Version++ // as the record now stands
				st, err := p.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if st.Weight != w {
					t.Errorf("step %d: weight %d, want %d", i, st.Weight, w)
				}
				if got := e.admin.adminCalls() - before; got != tc.want {
					t.Errorf("step %d: %d Admin API calls, want %d", i, got, tc.want)
				}
			}
		})
	}
}

func TestStatusRejectsABadRecord(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.edit(func(svc *runpb.Service) { setAnnotation(svc, annotationRollout, "{not json") })
	_, err := e.provider(t).Status(t.Context())
	if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), annotationRollout) {
		t.Errorf("Status error %v, want ErrInvalid naming %s", err, annotationRollout)
	}
}
