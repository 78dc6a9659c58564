package cloudrun

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/ramp-deploy/ramp/providers"
)

// tagOf is the URL the fake gives tag.
func tagOf(tag string) string { return "https://" + tag + "---" + serviceHost }

func TestCanaryThenPromote(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	stable := e.stable()
	e.edit(func(svc *runpb.Service) { // a tag of the user's own, kept throughout
		svc.Traffic = append(svc.Traffic, &runpb.TrafficTarget{Type: typeRevision, Revision: stable, Tag: "green"})
	})
	p := e.provider(t)
	ctx := t.Context()

	rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "3F2A9C1", Env: []string{"GREETING=hi"}})
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Revision{ID: "api-3f2a9c1", Image: nextImage, URL: tagOf("candidate"), Ready: true}
	if diff := cmp.Diff(want, rev); diff != "" {
		t.Errorf("Deploy (-want +got):\n%s", diff)
	}
	env := e.admin.revision("api-3f2a9c1").GetContainers()[0].GetEnv()
	if len(env) != 1 || env[0].GetName() != "GREETING" || env[0].GetValue() != "hi" {
		t.Errorf("candidate env = %v, want GREETING=hi", env)
	}
	wantRoutes := []route{{stable, 100, "stable"}, {rev.ID, 0, "candidate"}, {stable, 0, "green"}}
	if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
		t.Errorf("traffic after Deploy (-want +got):\n%s", diff)
	}

	rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Strategy: "canary", Stable: stable, Candidate: rev.ID}
	for i, w := range []int{10, 50, 100} {
		before := e.admin.adminCalls()
		if err := p.SetWeight(ctx, w); err != nil {
			t.Fatalf("SetWeight(%d): %v", w, err)
		}
		rec.Step, rec.Weight = i, w
		if err := p.Record(ctx, rec); err != nil {
			t.Fatalf("Record: %v", err)
		}
		rec.Version++ // as the record now stands
		st, err := p.Status(ctx)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		calls := e.admin.adminCalls() - before
		t.Logf("step %d (weight %d): %d Admin API calls", i, w, calls)
		if calls > 3 {
			t.Errorf("step %d cost %d Admin API calls, want at most 3", i, calls)
		}
		want := providers.Status{
			URL:       "https://" + serviceHost,
			Stable:    &providers.Revision{ID: stable, Image: stableImage, URL: tagOf("stable"), Ready: true},
			Candidate: &providers.Revision{ID: rev.ID, Image: nextImage, URL: tagOf("candidate"), Ready: true},
			Weight:    w,
			Rollout:   rec,
		}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("Status at weight %d (-want +got):\n%s", w, diff)
		}
	}

	if err := p.Promote(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantRoutes = []route{{rev.ID, 100, "stable"}, {stable, 0, "previous"}, {stable, 0, "green"}}
	if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
		t.Errorf("traffic after Promote (-want +got):\n%s", diff)
	}
	st, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := providers.Status{
		URL:      "https://" + serviceHost,
		Stable:   &providers.Revision{ID: rev.ID, Image: nextImage, URL: tagOf("stable"), Ready: true},
		Previous: &providers.Revision{ID: stable, Image: stableImage, URL: tagOf("previous"), Ready: true},
		Rollout:  rec,
	}
	if diff := cmp.Diff(wantStatus, st); diff != "" {
		t.Errorf("Status after Promote (-want +got):\n%s", diff)
	}
	if err := p.Promote(ctx, time.Hour); err != nil {
		t.Errorf("Promote again: %v, want nil (it went through)", err)
	}
}

func TestRollbackAfterGateFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	stable := e.stable()
	p := e.provider(t)
	ctx := t.Context()
	rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "bad1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetWeight(ctx, 10); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call finds the work done
		if err := p.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]route{{stable, 100, "stable"}}, e.routes()); diff != "" {
			t.Errorf("traffic after Rollback (-want +got):\n%s", diff)
		}
	}
	if e.admin.revision(rev.ID) == nil {
		t.Errorf("candidate revision %s was deleted, want it kept for inspection", rev.ID)
	}
	st, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Candidate != nil || st.Weight != 0 || st.Stable == nil || st.Stable.ID != stable {
		t.Errorf("Status after Rollback = %+v, want stable %s and no candidate", st, stable)
	}
}

func TestRollbackAfterPromote(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		keep  time.Duration
		later time.Duration // how long after the promotion the rollback runs
		want  error
	}{
		{"previous kept", time.Hour, time.Minute, nil},
		{"previous expired", time.Hour, 2 * time.Hour, providers.ErrNoCandidate},
		{"previous not kept", 0, 0, providers.ErrNoCandidate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			stable := e.stable()
			p := e.provider(t)
			ctx := t.Context()
			start := time.Now()
			p.now = func() time.Time { return start }
			rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "v2"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Promote(ctx, tc.keep); err != nil {
				t.Fatal(err)
			}
			p.now = func() time.Time { return start.Add(tc.later) }
			if err := p.Rollback(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("Rollback = %v, want %v", err, tc.want)
			}
			want := []route{{stable, 100, "stable"}}
			if tc.want != nil {
				want = []route{{rev.ID, 100, "stable"}}
				if tc.keep > 0 {
					want = append(want, route{stable, 0, "previous"})
				}
			}
			if diff := cmp.Diff(want, e.routes()); diff != "" {
				t.Errorf("traffic (-want +got):\n%s", diff)
			}
			if tc.want == nil {
				if err := p.Rollback(ctx); err != nil {
					t.Errorf("Rollback again = %v, want nil (it went through)", err)
				}
				if diff := cmp.Diff(want, e.routes()); diff != "" {
					t.Errorf("traffic after a second Rollback (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDeployNotReady(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		image   string
		message string // the revision's condition, which the error carries
		gaveUp  bool   // whether Deploy ran out of ReadyTimeout
	}{
		{"container fails", "europe-docker.pkg.dev/p/app/api:broken", brokenMessage, false},
		{"never healthy", "europe-docker.pkg.dev/p/app/api:pending", pendingMessage, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.cfg.ReadyTimeout = 20 * time.Millisecond
			stable := e.stable()
			p := e.provider(t)
			_, err := p.Deploy(t.Context(), providers.Artifact{Image: tc.image, Revision: "nope"})
			if !errors.Is(err, providers.ErrNotReady) {
				t.Fatalf("Deploy error %v, want ErrNotReady", err)
			}
			if !strings.Contains(err.Error(), strings.TrimSuffix(tc.message, ".")) || !strings.Contains(err.Error(), "api-nope") {
				t.Errorf("Deploy error %q does not name the revision and its condition %q", err, tc.message)
			}
			if got := strings.Contains(err.Error(), "gave up after 20ms"); got != tc.gaveUp {
				t.Errorf("Deploy error %q: says it gave up = %t, want %t", err, got, tc.gaveUp)
			}
			if diff := cmp.Diff(map[string]int32{stable: 100}, e.served()); diff != "" {
				t.Errorf("traffic moved (-want +got):\n%s", diff)
			}
			for _, r := range e.routes() {
				if r.Revision == "api-nope" {
					t.Errorf("the failed revision is still routed: %+v", r)
				}
			}
			st, err := p.Status(t.Context())
			if err != nil || st.Candidate != nil {
				t.Errorf("Status = %+v, %v; want no candidate", st, err)
			}
		})
	}
}

func TestConcurrentEditIsRetried(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		code   codes.Code
		record bool // interfere with Record instead of SetWeight
	}{
		{"aborted on set weight", codes.Aborted, false},
		{"failed precondition on set weight", codes.FailedPrecondition, false},
		{"aborted on record", codes.Aborted, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			stable := e.stable()
			p := e.provider(t)
			ctx := t.Context()
			rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "v2"})
			if err != nil {
				t.Fatal(err)
			}
			e.admin.mu.Lock()
			e.admin.conflictCode = tc.code
			e.admin.interfere = func(svc *runpb.Service) {
				svc.Traffic = append(svc.Traffic, &runpb.TrafficTarget{Type: typeRevision, Revision: stable, Tag: "other"})
				setAnnotation(svc, "team", "payments")
			}
			e.admin.mu.Unlock()
			if tc.record {
				err = p.Record(ctx, providers.Rollout{ID: "r1", Phase: providers.PhasePaused})
			} else {
				err = p.SetWeight(ctx, 10)
			}
			if err != nil {
				t.Fatal(err)
			}
			weight := int32(10)
			if tc.record {
				weight = 0
			}
			want := []route{{stable, 100 - weight, "stable"}, {rev.ID, weight, "candidate"}, {stable, 0, "other"}}
			if diff := cmp.Diff(want, e.routes()); diff != "" {
				t.Errorf("traffic (-want +got):\n%s", diff)
			}
			if got := annotation(e.admin.service(testName), "team"); got != "payments" {
				t.Errorf("the other writer's annotation = %q, want it kept", got)
			}
		})
	}
}

func TestSecondProcessPromotesAPausedRollout(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	stable := e.stable()
	first := e.provider(t)
	ctx := t.Context()
	rev, err := first.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SetWeight(ctx, 20); err != nil {
		t.Fatal(err)
	}
	rec := providers.Rollout{ID: "r1", Phase: providers.PhasePaused, Step: 1, Weight: 20, Stable: stable, Candidate: rev.ID,
		StartedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	if err := first.Record(ctx, rec); err != nil {
		t.Fatal(err)
	}
	stale := rec // written from the version before: refused, the pause stays
	stale.Phase = providers.PhaseProgressing
	if err := first.Record(ctx, stale); !errors.Is(err, providers.ErrStale) {
		t.Errorf("Record from a stale version = %v, want ErrStale", err)
	}
	rec.Version++ // as the record now stands

	second := e.provider(t)
	st, err := second.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, st.Rollout); diff != "" {
		t.Errorf("record seen by the second process (-want +got):\n%s", diff)
	}
	if st.Candidate.ID != rev.ID || st.Weight != 20 {
		t.Errorf("second process sees candidate %v at %d%%, want %s at 20%%", st.Candidate, st.Weight, rev.ID)
	}
	if err := second.Promote(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]route{{rev.ID, 100, "stable"}, {stable, 0, "previous"}}, e.routes()); diff != "" {
		t.Errorf("traffic after the second process promoted (-want +got):\n%s", diff)
	}
	// The first process's etag is stale now: it re-reads, and finds no candidate.
	if err := first.SetWeight(ctx, 50); !errors.Is(err, providers.ErrNoCandidate) {
		t.Errorf("SetWeight from the first process = %v, want ErrNoCandidate", err)
	}
}

func TestDeployWhileInFlight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		weight int
		want   error
	}{
		{"candidate has traffic", 10, providers.ErrConflict},
		{"candidate has none yet", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			stable := e.stable()
			p := e.provider(t)
			ctx := t.Context()
			first, err := p.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "v2"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetWeight(ctx, tc.weight); err != nil {
				t.Fatal(err)
			}
			second, err := p.Deploy(ctx, providers.Artifact{Image: nextImage + "b", Revision: "v3"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("second Deploy = %v, want %v", err, tc.want)
			}
			want := []route{{stable, 100 - int32(tc.weight), "stable"}, {first.ID, int32(tc.weight), "candidate"}}
			if tc.want == nil {
				want = []route{{stable, 100, "stable"}, {second.ID, 0, "candidate"}}
			} else if !strings.Contains(err.Error(), first.ID) {
				t.Errorf("error %q does not name the candidate in flight", err)
			}
			if diff := cmp.Diff(want, e.routes()); diff != "" {
				t.Errorf("traffic (-want +got):\n%s", diff)
			}
		})
	}
}
