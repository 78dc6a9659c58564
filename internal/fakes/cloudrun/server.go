// Package cloudrun fakes, at the wire level, the two Google APIs ramp's
// Cloud Run provider calls: the Cloud Run Admin API v2 (services,
// revisions and their long-running operations; Admin) and Cloud
// Monitoring's MetricService (ListTimeSeries; Monitoring). Both are
// stateful gRPC servers the real Google clients talk to, enforcing the
// rules the real APIs enforce and hiding what they hide (points not yet
// ingested, revisions still reconciling), with knobs to inject failures.
//
// Server puts both on one gRPC server; Load and Frontend make traffic
// (synthetic, or real HTTP requests to each service's URLs on loopback)
// that lands in Monitoring as Cloud Run would report it, so metric gates
// see data. The command in cmd/fakecloudrun serves them for black-box runs
// of the ramp binary.
package cloudrun

import (
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Server is the fake Admin API and Cloud Monitoring on one gRPC server.
type Server struct {
	Admin      *Admin
	Monitoring *Monitoring
	grpc       *grpc.Server
}

// Option configures a Server.
type Option func(*Server)

// WithLag sets Monitoring's ingestion delay: a point is visible this long
// after its end (DefaultLag otherwise).
func WithLag(lag time.Duration) Option { return func(s *Server) { s.Monitoring.SetLag(lag) } }

// WithDeny makes every Admin API call fail with code (see Admin.Deny).
func WithDeny(code codes.Code) Option { return func(s *Server) { s.Admin.Deny(code) } }

// WithFailures makes the first calls of method fail with codes, in order
// (see Admin.FailCalls); method is a full gRPC method name.
func WithFailures(method string, codes ...codes.Code) Option {
	return func(s *Server) { s.Admin.FailCalls(method, codes...) }
}

// WithTrafficPolls sets how many polls an operation that creates no
// revision takes (see Admin.SetTrafficPolls).
func WithTrafficPolls(n int) Option { return func(s *Server) { s.Admin.SetTrafficPolls(n) } }

// New returns a Server holding no service and no point, configured by
// opts; it serves nothing until Serve.
func New(opts ...Option) *Server {
	s := &Server{Admin: NewAdmin(), Monitoring: NewMonitoring(DefaultLag)}
	for _, o := range opts {
		o(s)
	}
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.Admin.Intercept))
	s.Admin.Register(s.grpc)
	s.Monitoring.Register(s.grpc)
	return s
}

// Serve answers both APIs over plaintext gRPC on lis until Stop.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.grpc.Serve(lis); err != nil {
		return fmt.Errorf("serve the fake Cloud Run APIs on %s: %w", lis.Addr(), err)
	}
	return nil
}

// Stop closes the listeners and the connections at once.
func (s *Server) Stop() { s.grpc.Stop() }

// ListenLoopback listens on addr (host:port; port 0 picks a free one),
// which must be a loopback address: the fakes take no credentials and
// speak plaintext, so they never listen beyond this machine.
func ListenLoopback(addr string) (net.Listener, error) {
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return lis, nil
}

// CheckLoopback reports whether addr is host:port with host a loopback IP
// address or "localhost".
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("address " + addr + " is not on loopback (127.0.0.0/8, ::1 or localhost)")
	}
	return nil
}
