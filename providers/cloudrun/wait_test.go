package cloudrun

import (
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// TestDeployRidesOutPassingNetworkErrors fails polls of Deploy's wait on
// the way (UNAVAILABLE, DEADLINE_EXCEEDED): they are polled again, and the
// candidate is deployed with its tag; none of them is "not ready".
func TestDeployRidesOutPassingNetworkErrors(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		polls := e.admin.CallsOf(fake.MethodGetOperation)
		e.admin.FailCalls(fake.MethodGetOperation, codes.DeadlineExceeded, codes.Unavailable, codes.DeadlineExceeded)
		rev, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
		if err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		if rev.ID != candidateRevision || !rev.Ready || rev.URL != tagOf("candidate") {
			t.Errorf("Deploy = %+v", rev)
		}
		// The client itself retries UNAVAILABLE once; Deploy polls again
		// after each DEADLINE_EXCEEDED.
		if got := e.admin.CallsOf(fake.MethodGetOperation) - polls; got != 4 {
			t.Errorf("%d polls of the operation, want 4 (3 failed, 1 answered)", got)
		}
		if diff := cmp.Diff([]route{{seedRevision, 100, "stable"}, {candidateRevision, 0, "candidate"}}, e.routes()); diff != "" {
			t.Errorf("traffic (-want +got):\n%s", diff)
		}
	})
}

// TestAwaitReadyRidesOutPassingNetworkErrors polls a revision whose reads
// fail on the way: read again until it answers ready.
func TestAwaitReadyRidesOutPassingNetworkErrors(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		e.admin.FailCalls(fake.MethodGetRevision, codes.Unavailable, codes.DeadlineExceeded, codes.Unavailable)
		if err := p.awaitReady(t.Context(), seedRevision, &runpb.Service{}); err != nil {
			t.Fatalf("awaitReady: %v", err)
		}
		if got := e.admin.CallsOf(fake.MethodGetRevision); got != 4 {
			t.Errorf("%d reads of the revision, want 4", got)
		}
	})
}

// TestDeployWaitFailsOtherwise: an error that is no passing one (permission
// taken away mid-wait) ends the wait as it is, not as "not ready", and
// writes nothing more; ready-timeout running out on a revision still
// starting is "not ready", whatever the polls met meanwhile.
func TestDeployWaitFailsOtherwise(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		image string
		fail  []codes.Code
		want  error
	}{
		{"permission denied on a poll", nextImage, []codes.Code{codes.PermissionDenied}, providers.ErrPermission},
		{"timed out among passing errors", "europe-docker.pkg.dev/p/app/api:pending",
			[]codes.Code{codes.DeadlineExceeded, codes.DeadlineExceeded, codes.DeadlineExceeded}, providers.ErrNotReady},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.cfg.ReadyTimeout = time.Minute
				p := e.provider(t)
				e.admin.FailCalls(fake.MethodGetOperation, tc.fail...)
				_, err := p.Deploy(t.Context(), providers.Artifact{Image: tc.image, Revision: "v2"})
				if !errors.Is(err, tc.want) {
					t.Fatalf("Deploy = %v, want %v", err, tc.want)
				}
				if tc.want != providers.ErrNotReady && errors.Is(err, providers.ErrNotReady) {
					t.Errorf("Deploy = %v: not ready, without a failed condition or a timeout", err)
				}
				if got := len(e.admin.UpdateMasks()); (got == 2) != (tc.want == providers.ErrNotReady) {
					t.Errorf("%d updates: want the candidate's tag taken off only when it is not ready", got)
				}
			})
		})
	}
}
