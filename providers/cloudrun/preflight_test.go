package cloudrun

import (
	"errors"
	"strings"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// TestPreflightValidatesAnUpdate: Preflight reads the service and has the
// server validate a write of the traffic as ramp routes it, which proves
// the update permission; nothing changes. Without it, Preflight fails
// naming the service.
func TestPreflightValidatesAnUpdate(t *testing.T) {
	t.Parallel()
	for _, deny := range []codes.Code{codes.OK, codes.PermissionDenied} {
		t.Run(deny.String(), func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				before, calls := e.admin.Service(testName), e.admin.AdminCalls()
				if deny != codes.OK {
					e.admin.FailCalls(fake.MethodUpdateService, deny)
				}
				err := e.provider(t).Preflight(t.Context())
				if deny == codes.OK && err != nil {
					t.Fatalf("Preflight: %v", err)
				}
				if deny != codes.OK && (!errors.Is(err, providers.ErrPermission) || !strings.Contains(err.Error(), `validate an update of the traffic of service "api"`)) {
					t.Errorf("Preflight = %v, want a permission error naming the update and the service", err)
				}
				if got := e.admin.AdminCalls() - calls; got != 2 {
					t.Errorf("%d Admin API calls, want 2: a read and a validated update", got)
				}
				validated := e.admin.Validated()
				if want := map[bool]int{true: 1}[deny == codes.OK]; validated != want {
					t.Errorf("%d updates validated, want %d", validated, want)
				}
				e.unchanged(t, before, "Preflight")
			})
		})
	}
}

// TestStatusWarnsOfUnreachableTagURLs: internal ingress, or no default
// URL, leaves the tag URLs out of reach of hosted runners; the status says
// probe-url is needed.
func TestStatusWarnsOfUnreachableTagURLs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*runpb.Service)
		want   string // in the one warning; "" for none
	}{
		{"all ingress", func(svc *runpb.Service) { svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_ALL }, ""},
		{"internal", func(svc *runpb.Service) { svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY }, "ingress is internal_only"},
		{"internal and load balancer", func(svc *runpb.Service) {
			svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
		}, "ingress is internal_load_balancer"},
		{"default URL disabled", func(svc *runpb.Service) { svc.DefaultUriDisabled = true }, "default run.app URL is disabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.edit(tc.change)
				st, err := e.provider(t).Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.want == "" && len(st.Warnings) != 0:
					t.Errorf("warnings %q, want none", st.Warnings)
				case tc.want != "" && (len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], tc.want) || !strings.Contains(st.Warnings[0], "probe-url")):
					t.Errorf("warnings %q, want one saying %q and naming probe-url", st.Warnings, tc.want)
				}
			})
		})
	}
}
