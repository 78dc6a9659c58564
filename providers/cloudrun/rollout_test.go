package cloudrun

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// tagOf is the URL the fake gives tag.
func tagOf(tag string) string { return "https://" + tag + "---" + serviceHost }

func TestCanaryThenPromote(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		e.edit(func(svc *runpb.Service) { // a tag of the user's own, kept throughout
			svc.Traffic = append(svc.Traffic, &runpb.TrafficTarget{Type: typeRevision, Revision: seedRevision, Tag: "green"})
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
		env := e.revision("api-3f2a9c1").GetContainers()[0].GetEnv()
		if len(env) != 1 || env[0].GetName() != "GREETING" || env[0].GetValue() != "hi" {
			t.Errorf("candidate env = %v, want GREETING=hi", env)
		}
		wantRoutes := []route{{seedRevision, 100, "stable"}, {rev.ID, 0, "candidate"}, {seedRevision, 0, "green"}}
		if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
			t.Errorf("traffic after Deploy (-want +got):\n%s", diff)
		}

		rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Strategy: "canary",
			Stable: seedRevision, Candidate: rev.ID}))
		for i, w := range []int{10, 50, 100} {
			rec.Step = i
			rec = mustApply(t, p, shift(rev.ID, w, rec))
			st, err := p.Status(ctx)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			want := providers.Status{
				URL:       "https://" + serviceHost,
				Stable:    &providers.Revision{ID: seedRevision, Image: stableImage, URL: tagOf("stable"), Ready: true},
				Candidate: &providers.Revision{ID: rev.ID, Image: nextImage, URL: tagOf("candidate"), Ready: true},
				Weight:    w,
				Rollout:   rec,
			}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("Status at weight %d (-want +got):\n%s", w, diff)
			}
		}

		rec = mustApply(t, p, promote(rev.ID, time.Hour, rec))
		wantRoutes = []route{{rev.ID, 100, "stable"}, {seedRevision, 0, "previous"}, {seedRevision, 0, "green"}}
		if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
			t.Errorf("traffic after promote (-want +got):\n%s", diff)
		}
		st, err := p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := providers.Status{
			URL:      "https://" + serviceHost,
			Stable:   &providers.Revision{ID: rev.ID, Image: nextImage, URL: tagOf("stable"), Ready: true},
			Previous: &providers.Revision{ID: seedRevision, Image: stableImage, URL: tagOf("previous"), Ready: true},
			Rollout:  rec,
		}
		if diff := cmp.Diff(wantStatus, st); diff != "" {
			t.Errorf("Status after promote (-want +got):\n%s", diff)
		}
		mustApply(t, p, promote(rev.ID, time.Hour, rec)) // it went through: the record alone
		if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
			t.Errorf("traffic after promoting again (-want +got):\n%s", diff)
		}
	})
}

func TestRollbackAfterGateFailure(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		rev := deploy(t, p, "bad1")
		rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: rev.ID}))
		rec = mustApply(t, p, shift(rev.ID, 10, rec))
		for range 2 { // the second one finds the traffic back already
			rec = mustApply(t, p, rollback(rev.ID, rec))
			if diff := cmp.Diff([]route{{seedRevision, 100, "stable"}}, e.routes()); diff != "" {
				t.Errorf("traffic after rollback (-want +got):\n%s", diff)
			}
		}
		if e.revision(rev.ID) == nil {
			t.Errorf("candidate revision %s was deleted, want it kept for inspection", rev.ID)
		}
		st, err := p.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st.Candidate != nil || st.Weight != 0 || st.Stable == nil || st.Stable.ID != seedRevision || st.Rollout.Phase != providers.PhaseRolledBack {
			t.Errorf("Status after rollback = %+v, want stable %s, no candidate, rolled back", st, seedRevision)
		}
	})
}

// TestRevertAfterPromote promotes the candidate, then sends the traffic
// back to the revision it replaced, which must still be kept warm.
func TestRevertAfterPromote(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		keep  time.Duration
		later time.Duration // how long after the promotion the revert runs
		// meanwhile changes the service after the promotion, as a later
		// deploy would.
		meanwhile func(*testing.T, *Provider)
		tr        func(providers.Rollout) providers.Transition
		want      error
	}{
		{"previous kept", time.Hour, time.Minute, nil,
			func(r providers.Rollout) providers.Transition { return revert(candidateRevision, r) }, nil},
		{"previous expired", time.Hour, 2 * time.Hour, nil,
			func(r providers.Rollout) providers.Transition { return revert(candidateRevision, r) }, providers.ErrNoCandidate},
		{"previous not kept", 0, 0, nil,
			func(r providers.Rollout) providers.Transition { return revert(candidateRevision, r) }, providers.ErrNoCandidate},
		{"a rollback never reverts a promotion", time.Hour, time.Minute, nil,
			func(r providers.Rollout) providers.Transition { return rollback(candidateRevision, r) }, providers.ErrNoCandidate},
		{"a candidate in flight", time.Hour, time.Minute, func(t *testing.T, p *Provider) { deploy(t, p, "v3") },
			func(r providers.Rollout) providers.Transition { return revert(candidateRevision, r) }, providers.ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				deploy(t, p, "v2")
				rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: candidateRevision}))
				rec = mustApply(t, p, promote(candidateRevision, tc.keep, rec))
				if tc.meanwhile != nil {
					tc.meanwhile(t, p)
				}
				time.Sleep(tc.later)
				before := e.admin.Service(testName)
				tr := tc.tr(rec)
				stored, err := p.Apply(t.Context(), tr)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Apply(%s) = %v, want %v", tr, err, tc.want)
				}
				if tc.want != nil {
					e.unchanged(t, before, "a refused "+tr.String())
					return
				}
				want := []route{{seedRevision, 100, "stable"}}
				if diff := cmp.Diff(want, e.routes()); diff != "" {
					t.Errorf("traffic after the revert (-want +got):\n%s", diff)
				}
				st, err := p.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if st.Stable == nil || st.Stable.ID != seedRevision || st.Candidate != nil || st.Previous != nil || st.Rollout.Phase != providers.PhaseRolledBack {
					t.Errorf("Status after the revert = %+v, want %s stable alone, rolled back", st, seedRevision)
				}
				if got := annotation(e.admin.Service(testName), annotationPreviousUntil); got != "" {
					t.Errorf("%s = %q after the revert, want it removed", annotationPreviousUntil, got)
				}
				mustApply(t, p, revert(candidateRevision, stored)) // it went through: the record alone
				if diff := cmp.Diff(want, e.routes()); diff != "" {
					t.Errorf("traffic after a second revert (-want +got):\n%s", diff)
				}
			})
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
		{"container fails", "europe-docker.pkg.dev/p/app/api:broken", fake.BrokenMessage, false},
		{"never healthy", "europe-docker.pkg.dev/p/app/api:pending", fake.PendingMessage, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.cfg.ReadyTimeout = 5 * time.Minute
				p := e.provider(t)
				_, err := p.Deploy(t.Context(), providers.Artifact{Image: tc.image, Revision: "nope"})
				if !errors.Is(err, providers.ErrNotReady) {
					t.Fatalf("Deploy error %v, want ErrNotReady", err)
				}
				if !strings.Contains(err.Error(), strings.TrimSuffix(tc.message, ".")) || !strings.Contains(err.Error(), "api-nope") {
					t.Errorf("Deploy error %q does not name the revision and its condition %q", err, tc.message)
				}
				if got := strings.Contains(err.Error(), "gave up after 5m0s"); got != tc.gaveUp {
					t.Errorf("Deploy error %q: says it gave up = %t, want %t", err, got, tc.gaveUp)
				}
				if diff := cmp.Diff(map[string]int32{seedRevision: 100}, e.served()); diff != "" {
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
		})
	}
}

func TestSecondProcessPromotesAPausedRollout(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		first := e.provider(t)
		ctx := t.Context()
		rev := deploy(t, first, "v2")
		rec := mustApply(t, first, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: seedRevision,
			Candidate: rev.ID, StartedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}))
		rec.Step = 1
		rec = mustApply(t, first, shift(rev.ID, 20, rec))
		paused := rec
		paused.Phase = providers.PhasePaused
		paused = mustApply(t, first, record(paused))
		if _, err := first.Apply(ctx, shift(rev.ID, 50, rec)); !errors.Is(err, providers.ErrStale) {
			t.Errorf("a shift written from before the pause = %v, want ErrStale", err)
		}

		second := e.provider(t)
		st, err := second.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(paused, st.Rollout); diff != "" {
			t.Errorf("record seen by the second process (-want +got):\n%s", diff)
		}
		if st.Candidate.ID != rev.ID || st.Weight != 20 {
			t.Errorf("second process sees candidate %v at %d%%, want %s at 20%%", st.Candidate, st.Weight, rev.ID)
		}
		mustApply(t, second, promote(rev.ID, time.Hour, st.Rollout))
		wantRoutes := []route{{rev.ID, 100, "stable"}, {seedRevision, 0, "previous"}}
		if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
			t.Errorf("traffic after the second process promoted (-want +got):\n%s", diff)
		}
		// The first process holds an old etag and an old record: refused.
		if _, err := first.Apply(ctx, shift(rev.ID, 50, paused)); !errors.Is(err, providers.ErrStale) {
			t.Errorf("shift from the first process = %v, want ErrStale", err)
		}
		// Read again, the record is current, but the candidate is gone.
		st, err = first.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.Apply(ctx, shift(rev.ID, 50, st.Rollout)); !errors.Is(err, providers.ErrNoCandidate) {
			t.Errorf("shift from the first process after a read = %v, want ErrNoCandidate", err)
		}
		if diff := cmp.Diff(wantRoutes, e.routes()); diff != "" {
			t.Errorf("traffic after the first process's refused shifts (-want +got):\n%s", diff)
		}
	})
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
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				first := deploy(t, p, "v2")
				mustApply(t, p, shift(first.ID, tc.weight, providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: first.ID}))
				second, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage + "b", Revision: "v3"})
				if !errors.Is(err, tc.want) {
					t.Fatalf("second Deploy = %v, want %v", err, tc.want)
				}
				want := []route{{seedRevision, 100 - int32(tc.weight), "stable"}, {first.ID, int32(tc.weight), "candidate"}}
				if tc.want == nil {
					want = []route{{seedRevision, 100, "stable"}, {second.ID, 0, "candidate"}}
				} else if !strings.Contains(err.Error(), first.ID) {
					t.Errorf("error %q does not name the candidate in flight", err)
				}
				if diff := cmp.Diff(want, e.routes()); diff != "" {
					t.Errorf("traffic (-want +got):\n%s", diff)
				}
			})
		})
	}
}
