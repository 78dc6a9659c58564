package cloudrun

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// canaryAt deploys the candidate api-v2 and shifts weight percent to it,
// recording a progressing rollout; it returns the record as stored.
func canaryAt(t *testing.T, p *Provider, weight int) providers.Rollout {
	t.Helper()
	deploy(t, p, "v2")
	rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: seedRevision, Candidate: candidateRevision}))
	return mustApply(t, p, shift(candidateRevision, weight, rec))
}

// TestApplyFromAStaleRecord writes transitions from a record version the
// service no longer holds: each is an ErrStale and writes nothing at all.
func TestApplyFromAStaleRecord(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		tr    func(providers.Rollout) providers.Transition
		delta int64 // added to the stored version
	}{
		{"shift", func(r providers.Rollout) providers.Transition { return shift(candidateRevision, 50, r) }, -1},
		{"promote", func(r providers.Rollout) providers.Transition { return promote(candidateRevision, time.Hour, r) }, -1},
		{"rollback", func(r providers.Rollout) providers.Transition { return rollback(candidateRevision, r) }, -1},
		{"record", func(r providers.Rollout) providers.Transition { r.Phase = providers.PhasePaused; return record(r) }, -1},
		{"shift from a version not yet written", func(r providers.Rollout) providers.Transition { return shift(candidateRevision, 50, r) }, 1},
		{"shift already made", func(r providers.Rollout) providers.Transition { return shift(candidateRevision, 10, r) }, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				stored := canaryAt(t, p, 10)
				before, updates := e.admin.Service(testName), e.admin.CallsOf(fake.MethodUpdateService)
				stale := stored
				stale.Version += tc.delta
				tr := tc.tr(stale)
				if _, err := p.Apply(t.Context(), tr); !errors.Is(err, providers.ErrStale) {
					t.Fatalf("Apply(%s) from version %d = %v, want ErrStale", tr, stale.Version, err)
				}
				e.unchanged(t, before, "a stale "+tr.String())
				if got := e.admin.CallsOf(fake.MethodUpdateService) - updates; got != 0 {
					t.Errorf("%d UpdateService calls, want none", got)
				}
			})
		})
	}
}

// TestApplyAfterAConcurrentWrite has another writer change the service
// between the adapter's read and its write: the server refuses the etag,
// and the adapter reads again, checks the record again and either applies
// the transition on top of the other change or refuses it.
func TestApplyAfterAConcurrentWrite(t *testing.T) {
	t.Parallel()
	withTag := []route{{seedRevision, 50, "stable"}, {candidateRevision, 50, "candidate"}, {seedRevision, 0, "other"}}
	cases := []struct {
		name  string
		code  codes.Code // how the server refuses the stale etag
		other func(*runpb.Service)
		want  error
		// routes and record are the traffic and the record once Apply
		// returned, given the record the shift was written from.
		routes []route
		record func(providers.Rollout) providers.Rollout
	}{
		{"another tool's tag and annotation (aborted)", codes.Aborted, tagAndAnnotate, nil, withTag, shifted},
		{"another process paused the rollout", codes.Aborted, pauseRecord, providers.ErrStale,
			[]route{{seedRevision, 90, "stable"}, {candidateRevision, 10, "candidate"}},
			func(r providers.Rollout) providers.Rollout {
				r.Phase, r.Version = providers.PhasePaused, r.Version+1
				return r
			}},
		{"the candidate promoted by hand", codes.Aborted, promoteByHand, providers.ErrNoCandidate,
			[]route{{candidateRevision, 100, "stable"}}, func(r providers.Rollout) providers.Rollout { return r }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				rec := canaryAt(t, p, 10)
				e.admin.SetConflictCode(tc.code)
				e.admin.Interfere(tc.other)
				updates := e.admin.CallsOf(fake.MethodUpdateService)
				if _, err := p.Apply(t.Context(), shift(candidateRevision, 50, rec)); !errors.Is(err, tc.want) {
					t.Fatalf("Apply = %v, want %v", err, tc.want)
				}
				if diff := cmp.Diff(tc.routes, e.routes()); diff != "" {
					t.Errorf("traffic (-want +got):\n%s", diff)
				}
				svc := e.admin.Service(testName)
				got, err := decodeRecord(svc)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.record(rec), got); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
				calls, want := e.admin.CallsOf(fake.MethodUpdateService)-updates, 1 // refused for its etag
				if tc.want == nil {
					want = 2 // then written over the other change
					if annotation(svc, "team") != "payments" {
						t.Error("the other writer's annotation was lost")
					}
				}
				if calls != want {
					t.Errorf("%d UpdateService calls, want %d", calls, want)
				}
			})
		})
	}
}

// shifted is r once shifted to 50% and stored.
func shifted(r providers.Rollout) providers.Rollout {
	r.Weight, r.Version = 50, r.Version+1
	return r
}

// tagAndAnnotate is another tool's edit: a tag and an annotation.
func tagAndAnnotate(svc *runpb.Service) {
	svc.Traffic = append(svc.Traffic, &runpb.TrafficTarget{Type: typeRevision, Revision: seedRevision, Tag: "other"})
	setAnnotation(svc, "team", "payments")
}

// pauseRecord is another process recording a pause over the record it read.
func pauseRecord(svc *runpb.Service) {
	rec, err := decodeRecord(svc)
	if err != nil || svc.GetAnnotations() == nil {
		return
	}
	rec.Phase, rec.Version = providers.PhasePaused, rec.Version+1
	if v, err := encodeRecord(rec); err == nil {
		setAnnotation(svc, annotationRollout, v)
	}
}

// promoteByHand is someone sending all the traffic to the candidate in the
// console, which drops ramp's tags and leaves the record as it is.
func promoteByHand(svc *runpb.Service) {
	svc.Traffic = []*runpb.TrafficTarget{{Type: typeRevision, Revision: candidateRevision, Percent: 100, Tag: tagStable}}
}

// TestApplyOfAChangeAlreadyMade applies transitions the service already
// shows: each writes the record alone (mask "annotations"), does not wait
// for the operation, and leaves the traffic as it is.
func TestApplyOfAChangeAlreadyMade(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// made brings the service to where tr is made, returning the record.
		made func(*testing.T, *Provider) providers.Rollout
		tr   func(providers.Rollout) providers.Transition
	}{
		{"shift", func(t *testing.T, p *Provider) providers.Rollout { return canaryAt(t, p, 10) },
			func(r providers.Rollout) providers.Transition { return shift(candidateRevision, 10, r) }},
		{"promote", func(t *testing.T, p *Provider) providers.Rollout {
			return mustApply(t, p, promote(candidateRevision, time.Hour, canaryAt(t, p, 10)))
		}, func(r providers.Rollout) providers.Transition { return promote(candidateRevision, time.Hour, r) }},
		{"rollback", func(t *testing.T, p *Provider) providers.Rollout {
			return mustApply(t, p, rollback(candidateRevision, canaryAt(t, p, 10)))
		}, func(r providers.Rollout) providers.Transition { return rollback(candidateRevision, r) }},
		{"rollback of a revision never deployed", func(t *testing.T, p *Provider) providers.Rollout {
			return mustApply(t, p, rollback(candidateRevision, canaryAt(t, p, 10)))
		}, func(r providers.Rollout) providers.Transition { return rollback("api-never", r) }},
		{"revert", func(t *testing.T, p *Provider) providers.Rollout {
			rec := mustApply(t, p, promote(candidateRevision, time.Hour, canaryAt(t, p, 10)))
			return mustApply(t, p, revert(candidateRevision, rec))
		}, func(r providers.Rollout) providers.Transition { return revert(candidateRevision, r) }},
		{"revert of a revision that is not stable", func(t *testing.T, p *Provider) providers.Rollout {
			return mustApply(t, p, promote(candidateRevision, time.Hour, canaryAt(t, p, 10)))
		}, func(r providers.Rollout) providers.Transition { return revert(seedRevision, r) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				rec := tc.made(t, p)
				e.admin.SetTrafficPolls(3) // a wait would poll
				routes, updates, polls := e.routes(), len(e.admin.UpdateMasks()), e.admin.CallsOf(fake.MethodGetOperation)
				rec.Reason = "applied again"
				stored := mustApply(t, p, tc.tr(rec))
				if diff := cmp.Diff([][]string{{"annotations"}}, e.admin.UpdateMasks()[updates:]); diff != "" {
					t.Errorf("update masks (-want +got):\n%s", diff)
				}
				if got := e.admin.CallsOf(fake.MethodGetOperation) - polls; got != 0 {
					t.Errorf("%d polls of the operation, want none", got)
				}
				if diff := cmp.Diff(routes, e.routes()); diff != "" {
					t.Errorf("traffic moved (-before +after):\n%s", diff)
				}
				st, err := p.Status(t.Context())
				if err != nil || st.Rollout.Reason != "applied again" || st.Rollout.Version != stored.Version {
					t.Errorf("record after Apply = %+v, %v; want version %d, reason %q", st.Rollout, err, stored.Version, "applied again")
				}
			})
		})
	}
}

// TestApplyRefusesARevisionOutOfItsRole names a revision that does not
// hold the role the transition needs: refused, and nothing is written.
func TestApplyRefusesARevisionOutOfItsRole(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		tr   func(providers.Rollout) providers.Transition
		want error
	}{
		{"rollback of another candidate", func(r providers.Rollout) providers.Transition { return rollback("api-v9", r) }, providers.ErrConflict},
		{"shift of another candidate", func(r providers.Rollout) providers.Transition { return shift("api-v9", 50, r) }, providers.ErrConflict},
		{"promote of another candidate", func(r providers.Rollout) providers.Transition { return promote("api-v9", time.Hour, r) }, providers.ErrConflict},
		{"revert while a candidate is in flight", func(r providers.Rollout) providers.Transition { return revert(seedRevision, r) }, providers.ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				rec := canaryAt(t, p, 10)
				before, updates := e.admin.Service(testName), e.admin.CallsOf(fake.MethodUpdateService)
				tr := tc.tr(rec)
				_, err := p.Apply(t.Context(), tr)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Apply(%s) = %v, want %v", tr, err, tc.want)
				}
				if tc.want == providers.ErrConflict && !strings.Contains(err.Error(), candidateRevision) {
					t.Errorf("error %q does not name the platform's candidate %s", err, candidateRevision)
				}
				e.unchanged(t, before, "a refused "+tr.String())
				if got := e.admin.CallsOf(fake.MethodUpdateService) - updates; got != 0 {
					t.Errorf("%d UpdateService calls, want none", got)
				}
			})
		})
	}
}

// TestApplyOverAServiceKeptFromBefore has a process whose copy of the
// service (kept for its etag) is behind the record its caller read
// elsewhere: the transition is decided on a fresh read, not refused as
// stale on the old copy.
func TestApplyOverAServiceKeptFromBefore(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		first, second := e.provider(t), e.provider(t)
		rec := canaryAt(t, first, 10) // first keeps the service as it wrote it
		rec.Reason = "paused by bob"
		rec.Phase = providers.PhasePaused
		rec = mustApply(t, second, record(rec))
		rec.Phase = providers.PhaseProgressing
		mustApply(t, first, shift(candidateRevision, 50, rec))
		if diff := cmp.Diff([]route{{seedRevision, 50, "stable"}, {candidateRevision, 50, "candidate"}}, e.routes()); diff != "" {
			t.Errorf("traffic (-want +got):\n%s", diff)
		}
	})
}

// TestApplyRemovesTheLegacyLastAction: the annotation earlier versions
// kept for idempotency goes with the next transition; Transition.Done on
// the service's status does its work.
func TestApplyRemovesTheLegacyLastAction(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		rec := canaryAt(t, p, 10)
		e.edit(func(svc *runpb.Service) { setAnnotation(svc, legacyAnnotationLastAction, "promote") })
		if _, err := p.Apply(t.Context(), promote(seedRevision, time.Hour, rec)); !errors.Is(err, providers.ErrConflict) {
			t.Errorf("promote of a revision that is not the candidate, under last-action promote = %v, want ErrConflict", err)
		}
		mustApply(t, p, record(rec))
		if got := annotation(e.admin.Service(testName), legacyAnnotationLastAction); got != "" {
			t.Errorf("%s = %q after Apply, want it removed", legacyAnnotationLastAction, got)
		}
	})
}

// TestOnlyAbortedIsAConflict: a write refused with FAILED_PRECONDITION is
// reported with the server's reason, as a permanent error and not as a
// change made elsewhere, and is not tried again; ABORTED (a stale etag) is
// read again and retried after a random pause, up to five writes.
func TestOnlyAbortedIsAConflict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		fail    []codes.Code // how the next UpdateService calls fail
		want    error
		updates int
	}{
		{"failed precondition", []codes.Code{codes.FailedPrecondition}, providers.ErrInvalid, 1},
		{"aborted twice", []codes.Code{codes.Aborted, codes.Aborted}, nil, 3},
		{"aborted five times", []codes.Code{codes.Aborted, codes.Aborted, codes.Aborted, codes.Aborted, codes.Aborted}, providers.ErrConflict, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				rec := canaryAt(t, p, 10)
				updates, reads := e.admin.CallsOf(fake.MethodUpdateService), e.admin.CallsOf(fake.MethodGetService)
				e.admin.FailCalls(fake.MethodUpdateService, tc.fail...)
				start := time.Now()
				_, err := p.Apply(t.Context(), shift(candidateRevision, 50, rec))
				if !errors.Is(err, tc.want) {
					t.Fatalf("Apply = %v, want %v", err, tc.want)
				}
				if permanent := tc.want == providers.ErrInvalid; err != nil && providers.Permanent(err) != permanent {
					t.Errorf("Permanent(%v) = %t, want %t", err, !permanent, permanent)
				}
				if tc.want == providers.ErrInvalid && (errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "the fake failed this call")) {
					t.Errorf("error %q: want the server's reason, and no conflict", err)
				}
				if got := e.admin.CallsOf(fake.MethodUpdateService) - updates; got != tc.updates {
					t.Errorf("%d UpdateService calls, want %d", got, tc.updates)
				}
				retries := tc.updates - 1
				if got := e.admin.CallsOf(fake.MethodGetService) - reads; got != retries {
					t.Errorf("%d reads, want %d: one before each retry", got, retries)
				}
				if waited := time.Since(start); (retries > 0) != (waited > 0) || waited > time.Duration(retries)*1600*time.Millisecond {
					t.Errorf("waited %s over %d retries, want a pause before each, of at most 1.6s", waited, retries)
				}
				want := []route{{seedRevision, 50, "stable"}, {candidateRevision, 50, "candidate"}}
				if tc.want != nil {
					want = []route{{seedRevision, 90, "stable"}, {candidateRevision, 10, "candidate"}}
				}
				if diff := cmp.Diff(want, e.routes()); diff != "" {
					t.Errorf("traffic (-want +got):\n%s", diff)
				}
			})
		})
	}
}
