package cloudrun

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/ramp-deploy/ramp/providers"
)

// TestCheckMetricsAccess: `ramp plan` proves the metrics are readable with
// one ListTimeSeries over the last whole minute, and names a refusal.
func TestCheckMetricsAccess(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		code codes.Code
		want error
	}{{"readable", codes.OK, nil}, {"refused", codes.PermissionDenied, providers.ErrPermission}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.mon.StopClock(at(time.Hour))
				e.mon.FailWith(func(int) codes.Code { return c.code })
				err := e.provider(t).CheckMetricsAccess(t.Context())
				if !errors.Is(err, c.want) || (err != nil && !strings.Contains(err.Error(), "read the metrics of")) {
					t.Errorf("CheckMetricsAccess = %v, want %v", err, c.want)
				}
				if n := len(e.mon.Received()); n != 1 {
					t.Errorf("%d calls, want 1", n)
				}
			})
		})
	}
}
