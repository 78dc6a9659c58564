package cloudrun

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

func TestEndpointOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value string
		opts  bool   // whether options come back
		want  string // in the error; "" for none
	}{
		{"", false, ""},
		{"  ", false, ""},
		{"127.0.0.1:8090", true, ""},
		{"127.1.2.3:8090", true, ""},
		{"[::1]:8090", true, ""},
		{"localhost:8090", true, ""},
		{"10.0.0.7:8090", false, "must be on loopback"},
		{"run.googleapis.com:443", false, "must be on loopback"},
		{"[::]:8090", false, "must be on loopback"},
		{"127.0.0.1", false, "must be host:port"},
		{"127.0.0.1:0", false, "must be host:port"},
		{"127.0.0.1:http", false, "must be host:port"},
		{"http://127.0.0.1:8090", false, "must be host:port"},
	}
	for _, tc := range cases {
		opts, err := endpointOptions(EnvAdminEndpoint, tc.value)
		if (len(opts) > 0) != tc.opts {
			t.Errorf("%q: %d options, want some: %t", tc.value, len(opts), tc.opts)
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.value, err)
			}
			continue
		}
		ie, ok := errors.AsType[*input.Error](err)
		if !ok || ie.Input != EnvAdminEndpoint || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want an input error naming %s saying %q", tc.value, err, EnvAdminEndpoint, tc.want)
		}
	}
}

// TestNewNamesEveryBadEndpoint: bad overrides are input errors naming their
// variables, reported with the bad location inputs, all at once.
func TestNewNamesEveryBadEndpoint(t *testing.T) {
	t.Parallel()
	env := map[string]string{EnvAdminEndpoint: "10.0.0.7:443", EnvMonitoringEndpoint: "monitoring.googleapis.com:443"}
	p, err := newFromEnv(providers.Config{Project: "p", Service: "api"}, func(k string) string { return env[k] })
	if p != nil {
		t.Fatalf("newFromEnv = %v, want no provider", p)
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		ie, ok := errors.AsType[*input.Error](e)
		if !ok {
			t.Fatalf("error %v is not an *input.Error", e)
		}
		got = append(got, ie.Input)
	}
	if diff := cmp.Diff([]string{"region", EnvAdminEndpoint, EnvMonitoringEndpoint}, got); diff != "" {
		t.Errorf("inputs named (-want +got):\n%s", diff)
	}
}

// TestEndpointOverrideReachesTheFake points a provider, through the
// variables, at the fakes served on a loopback port, with Application
// Default Credentials that cannot be found: it reads the service and
// Cloud Monitoring there, with no credentials. Real sockets: no bubble.
func TestEndpointOverrideReachesTheFake(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	srv := fake.New(fake.WithLag(0))
	lis, err := fake.ListenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	srv.Admin.Seed(testName, stableImage)
	end := time.Now().Truncate(time.Minute)
	srv.Monitoring.Serve(resource(candidateRevision), "2xx", end, ms(7, 30)...)

	env := map[string]string{EnvAdminEndpoint: lis.Addr().String(), EnvMonitoringEndpoint: lis.Addr().String()}
	p, err := newFromEnv(providers.Config{Project: testProject, Region: testRegion, Service: testService}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	st, err := p.Status(t.Context())
	if err != nil || st.Stable == nil || st.Stable.ID != seedRevision {
		t.Fatalf("Status = %+v, %v; want the seeded revision %s stable", st, err, seedRevision)
	}
	o, err := p.Observe(t.Context(), gates.CountQuery{Candidate: candidateRevision,
		Window: gates.Window{Start: end.Add(-time.Minute), End: end}})
	if err != nil || o.Candidate.Requests != 7 {
		t.Fatalf("Observe = %+v, %v; want the 7 requests served", o.Candidate, err)
	}
	if srv.Admin.CallsOf(fake.MethodGetService) == 0 || len(srv.Monitoring.Received()) == 0 {
		t.Error("the fakes were not called")
	}
}
