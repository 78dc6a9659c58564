package local

import (
	"context"
	"net"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcBackend serves gRPC's health service over h2c on a loopback port,
// as a revision of a gRPC service would.
func grpcBackend(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}
}

// TestGRPCThroughACanary: a gRPC client speaking h2c to the proxy reaches
// both revisions of a 50% canary over h2c, each answer names its
// revision, and each call is counted for the revision that served it.
func TestGRPCThroughACanary(t *testing.T) {
	t.Parallel()
	stable := newBackend("v1", grpcBackend(t), new(revMetrics), nil, 0)
	cand := newBackend("v2", grpcBackend(t), new(revMetrics), nil, 0)
	var rt router
	rt.set(table{stable: one(stable), candidate: one(cand), weight: 50})
	proxy := httptest.NewUnstartedServer(&proxyHandler{router: &rt, service: "grpc"})
	proxy.Config.Protocols = proxyProtocols()
	proxy.Start()
	defer proxy.Close()

	conn, err := grpc.NewClient("passthrough:///"+proxy.Listener.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := map[string]int{}
	const calls = 60
	for range calls {
		var hdr metadata.MD
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr))
		if err != nil {
			t.Fatalf("Check through the proxy: %v", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("status %v, want SERVING", resp.GetStatus())
		}
		seen[firstOf(hdr.Get("x-ramp-revision"))]++
	}
	if seen["v1"] == 0 || seen["v2"] == 0 || seen["v1"]+seen["v2"] != calls {
		t.Errorf("revisions seen %v over %d calls, want both and only v1 and v2", seen, calls)
	}
	counted := int64(0)
	for _, b := range []*backend{stable, cand} {
		for _, s := range b.metrics.slots {
			counted += s.requests - s.errors
		}
	}
	if counted != calls {
		t.Errorf("%d successful calls counted, want %d", counted, calls)
	}
}

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// TestOnlyGRPCGoesOverH2C: gRPC needs HTTP/2 to the version; every other
// request, whatever its client spoke, goes over HTTP/1.1, which any
// version speaks.
func TestOnlyGRPCGoesOverH2C(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		proto       int
		contentType string
		h2c         bool
	}{
		{2, "application/grpc", true},
		{2, "application/grpc+proto", true},
		{2, "application/grpc; charset=utf-8", true},
		{2, "application/grpc-web", false},
		{2, "application/json", false},
		{1, "application/grpc", false},
	} {
		if got := c.proto == 2 && isGRPC(c.contentType); got != c.h2c {
			t.Errorf("HTTP/%d %q: over h2c %v, want %v", c.proto, c.contentType, got, c.h2c)
		}
	}
}

// failingHealth answers Check by the service asked about: "internal" and
// "unavailable" fail on the server's side, "missing" is the caller's
// mistake, anything else is served.
type failingHealth struct {
	healthpb.UnimplementedHealthServer
}

func (failingHealth) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	switch req.GetService() {
	case "internal":
		return nil, status.Error(codes.Internal, "boom")
	case "unavailable":
		return nil, status.Error(codes.Unavailable, "down")
	case "missing":
		return nil, status.Error(codes.NotFound, "no such service")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// TestGRPCFailuresCount: a gRPC call that fails on the revision's side
// (INTERNAL, UNAVAILABLE; HTTP 200 on the wire) counts as a failed request
// for the judge, a caller's mistake (NOT_FOUND) does not.
func TestGRPCFailuresCount(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, failingHealth{})
	go srv.Serve(ln)
	defer srv.Stop()
	m := new(revMetrics)
	var rt router
	rt.set(table{stable: one(newBackend("v1", &url.URL{Scheme: "http", Host: ln.Addr().String()}, m, nil, 0))})
	proxy := httptest.NewUnstartedServer(&proxyHandler{router: &rt, service: "grpc"})
	proxy.Config.Protocols = proxyProtocols()
	proxy.Start()
	defer proxy.Close()
	conn, err := grpc.NewClient("passthrough:///"+proxy.Listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	for _, c := range []struct {
		service string
		want    codes.Code
	}{{"", codes.OK}, {"internal", codes.Internal}, {"missing", codes.NotFound}, {"unavailable", codes.Unavailable}, {"", codes.OK}} {
		_, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: c.service})
		if got := status.Code(err); got != c.want {
			t.Fatalf("Check(%q) through the proxy: %v, want %v", c.service, got, c.want)
		}
	}
	if c := lastMinute(m); c.Requests != 5 || c.Errors != 2 {
		t.Errorf("%d calls counted, %d failed; want 5, of which 2 (INTERNAL, UNAVAILABLE) failed", c.Requests, c.Errors)
	}
}
