package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestServes runs the command on loopback ports, as a shell would, and
// talks to what it prints: the Admin API over plaintext gRPC (the first
// GetService fails as -fail says, then the service is missing), and a
// service's URL over HTTP.
func TestServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-lag", "2s", "-rps", "0", "-fail", "GetService=UNAVAILABLE"}, outW, errW)
		outW.Close()
		errW.Close()
	}()
	go func() { _, _ = io.Copy(io.Discard, errR) }()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no export line: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	m := regexp.MustCompile(`^export RAMP_CLOUDRUN_ENDPOINT=(127\.0\.0\.1:\d+) RAMP_MONITORING_ENDPOINT=(127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	if m == nil || m[1] != m[2] {
		t.Fatalf("export line %q", line)
	}
	conn, err := grpc.NewClient(m[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	services := runpb.NewServicesClient(conn)
	name := "projects/p/locations/europe-west1/services/web"
	for _, want := range []codes.Code{codes.Unavailable, codes.NotFound} {
		if _, err := services.GetService(ctx, &runpb.GetServiceRequest{Name: name}); status.Code(err) != want {
			t.Fatalf("GetService: %v, want %v", err, want)
		}
	}
	svc := &runpb.Service{Template: &runpb.RevisionTemplate{Containers: []*runpb.Container{{Image: "europe-docker.pkg.dev/p/web/web:v1"}}}}
	if _, err := services.CreateService(ctx, &runpb.CreateServiceRequest{Parent: "projects/p/locations/europe-west1", ServiceId: "web", Service: svc}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestFrontendOverHTTP serves the services' URLs on the HTTP port the
// command tells of on stderr, and asks for a host no service has.
func TestFrontendOverHTTP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-rps", "0"}, outW, errW)
		outW.Close()
		errW.Close()
	}()
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	line, err := bufio.NewReader(errR).ReadString('\n')
	if err != nil {
		t.Fatalf("no description: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, errR) }()
	m := regexp.MustCompile(`over HTTP on (127\.0\.0\.1:\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("description %q names no HTTP address", line)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m[1]+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "web-abc123-uc.a.run.app"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a host with no service: %s, want 404", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"not on loopback":    {"-listen", "0.0.0.0:0"},
		"HTTP off loopback":  {"-http", "192.0.2.1:0"},
		"an unknown method":  {"-fail", "DeleteService=UNAVAILABLE"},
		"an unknown code":    {"-fail", "UpdateService=BUSY"},
		"no code":            {"-fail", "UpdateService"},
		"a bad deny":         {"-deny", "NOPE"},
		"a negative lag":     {"-lag", "-1s"},
		"a stray argument":   {"serve"},
		"an unknown flag":    {"-port", "8080"},
		"a negative traffic": {"-rps", "-1"},
	}
	for name, args := range cases {
		var out, errs strings.Builder
		if err := run(t.Context(), args, &out, &errs); err == nil {
			t.Errorf("%s: run(%q) served", name, args)
		}
	}
}
