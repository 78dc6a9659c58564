package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

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
	bubble(t, func(t *testing.T, e *testEnv) {
		before := e.admin.AdminCalls()
		e.provider(t)
		if got := e.admin.AdminCalls() - before; got != 0 {
			t.Errorf("NewWithOptions made %d Admin API calls, want 0", got)
		}
	})
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
		{"permission denied on apply", "", codes.PermissionDenied, applying(record(providers.Rollout{})), providers.ErrPermission},
		{"service not found on promote", "missing", codes.OK, applying(promote("api-v2", time.Hour, providers.Rollout{})), providers.ErrNotFound},
		{"not found on shift", "missing", codes.OK, applying(shift("api-v2", 10, providers.Rollout{})), providers.ErrNotFound},
		{"weight out of range", "", codes.OK, applying(shift("api-v2", 101, providers.Rollout{})), providers.ErrInvalid},
		{"no revision named", "", codes.OK, applying(rollback("", providers.Rollout{})), providers.ErrInvalid},
		{"unknown action", "", codes.OK, applying(providers.Transition{Action: "scale"}), providers.ErrInvalid},
		{"no candidate to shift", "", codes.OK, applying(shift("api-v2", 10, providers.Rollout{})), providers.ErrNoCandidate},
		{"no candidate to promote", "", codes.OK, applying(promote("api-v2", time.Hour, providers.Rollout{})), providers.ErrNoCandidate},
		{"no candidate to roll back", "", codes.OK, applying(rollback(seedRevision, providers.Rollout{})), providers.ErrNoCandidate},
		{"no previous to revert to", "", codes.OK, applying(revert(seedRevision, providers.Rollout{})), providers.ErrNoCandidate},
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
			bubble(t, func(t *testing.T, e *testEnv) {
				if tc.service != "" {
					e.cfg.Service = tc.service
				}
				e.admin.Deny(tc.deny)
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
		})
	}
}

// applying is a call of Apply with tr, for tables of calls.
func applying(tr providers.Transition) func(context.Context, *Provider) error {
	return func(ctx context.Context, p *Provider) error {
		_, err := p.Apply(ctx, tr)
		return err
	}
}

// TestAdminCallsPerStep pins what a canary step costs: the shift and its
// record in one UpdateService (plus the polls of its operation), then the
// read of the service the engine checks the step with.
func TestAdminCallsPerStep(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		trafficPolls int // polls before a traffic update's operation is done
		want         int
	}{
		{"operation done in the response", 0, 2},
		{"operation done on the first poll", 1, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				ctx := t.Context()
				rev := deploy(t, p, "c0ffee1")
				e.admin.SetTrafficPolls(tc.trafficPolls)
				rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: seedRevision, Candidate: rev.ID}
				for i, w := range []int{5, 25, 50} {
					before := e.admin.AdminCalls()
					rec.Step = i
					rec = mustApply(t, p, shift(rev.ID, w, rec))
					st, err := p.Status(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if st.Weight != w || st.Rollout.Weight != w {
						t.Errorf("step %d: weight %d, recorded %d, want %d", i, st.Weight, st.Rollout.Weight, w)
					}
					if got := e.admin.AdminCalls() - before; got != tc.want {
						t.Errorf("step %d: %d Admin API calls, want %d", i, got, tc.want)
					}
				}
			})
		})
	}
}

// TestAdminCallsPerTransition pins the calls of each transition from a
// process that wrote last (so it holds the etag): one UpdateService, and
// the polls of its operation when the traffic moves.
func TestAdminCallsPerTransition(t *testing.T) {
	t.Parallel()
	both, all := []string{"traffic", "annotations"}, []string{"template", "traffic", "annotations"}
	cases := []struct {
		name string
		// prepare brings the service to where tr applies; its calls do not count.
		prepare func(*testing.T, *Provider, providers.Rollout) providers.Rollout
		tr      func(providers.Rollout) providers.Transition
		mask    []string
		polled  bool // whether Apply waits for the operation
	}{
		{"shift", nil, func(r providers.Rollout) providers.Transition { return shift(candidateRevision, 10, r) }, both, true},
		{"shift already made", func(t *testing.T, p *Provider, r providers.Rollout) providers.Rollout {
			return mustApply(t, p, shift(candidateRevision, 10, r))
		}, func(r providers.Rollout) providers.Transition { return shift(candidateRevision, 10, r) }, []string{"annotations"}, false},
		{"promote", nil, func(r providers.Rollout) providers.Transition { return promote(candidateRevision, time.Hour, r) }, both, true},
		// A rollback and a revert put back the template of the revision
		// taking the traffic back, in the same write.
		{"rollback", nil, func(r providers.Rollout) providers.Transition { return rollback(candidateRevision, r) }, all, true},
		{"revert", func(t *testing.T, p *Provider, r providers.Rollout) providers.Rollout {
			return mustApply(t, p, promote(candidateRevision, time.Hour, r))
		}, func(r providers.Rollout) providers.Transition { return revert(candidateRevision, r) }, all, true},
		{"record", nil, func(r providers.Rollout) providers.Transition { r.Phase = providers.PhasePaused; return record(r) }, []string{"annotations"}, false},
	}
	for _, tc := range cases {
		for _, polls := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s, operation done after %d polls", tc.name, polls), func(t *testing.T) {
				t.Parallel()
				bubble(t, func(t *testing.T, e *testEnv) {
					p := e.provider(t)
					deploy(t, p, "v2")
					rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: candidateRevision}))
					if tc.prepare != nil {
						rec = tc.prepare(t, p, rec)
					}
					e.admin.SetTrafficPolls(polls)
					before, updates, polled := e.admin.AdminCalls(), len(e.admin.UpdateMasks()), e.admin.CallsOf(fake.MethodGetOperation)
					mustApply(t, p, tc.tr(rec))
					want := 1
					if tc.polled {
						want += polls
					}
					if got := e.admin.AdminCalls() - before; got != want {
						t.Errorf("%d Admin API calls, want %d", got, want)
					}
					if got := e.admin.CallsOf(fake.MethodGetOperation) - polled; got != 0 && !tc.polled {
						t.Errorf("%d polls of the operation, want none", got)
					}
					masks := e.admin.UpdateMasks()[updates:]
					if diff := cmp.Diff([][]string{tc.mask}, masks); diff != "" {
						t.Errorf("update masks (-want +got):\n%s", diff)
					}
				})
			})
		}
	}
}

func TestStatusRejectsABadRecord(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		e.edit(func(svc *runpb.Service) { setAnnotation(svc, annotationRollout, "{not json") })
		p := e.provider(t)
		_, err := p.Status(t.Context())
		if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), annotationRollout) {
			t.Errorf("Status error %v, want ErrInvalid naming %s", err, annotationRollout)
		}
		before := e.admin.Service(testName)
		if _, err := p.Apply(t.Context(), record(providers.Rollout{ID: "r1"})); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("Apply over a bad record = %v, want ErrInvalid", err)
		}
		if !proto.Equal(before, e.admin.Service(testName)) {
			t.Error("Apply over a bad record changed the service")
		}
	})
}
