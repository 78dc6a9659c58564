package cloudrun

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// failGate fails every check: a candidate no first deploy should keep.
type failGate struct{}

func (failGate) Name() string { return "probe" }

func (failGate) Check(context.Context, gates.Target) gates.Result {
	return gates.Result{Gate: "probe", Outcome: gates.Failed, Value: 0, Unit: "%", Threshold: ">= 99", Samples: 10}
}

// firstDeploy runs the real engine over p to deploy image as revision
// "v1" of a service with no stable revision, with a probe that passes, or
// fails when failing is set.
func firstDeploy(t *testing.T, p *Provider, image, rev string, failing bool, sink engine.Sink) engine.Result {
	t.Helper()
	e := newEngine(p, 0, sink)
	if failing {
		e.Gates = []gates.Gate{failGate{}}
	}
	return e.Deploy(t.Context(), canary(t, 0, 10, 50, 100), providers.Artifact{Image: image, Revision: rev},
		providers.Rollout{ID: "r-" + rev, Commit: rev})
}

// TestEngineFirstDeployCreatesTheService deploys to a project where the
// service does not exist: the engine's plan is a first deploy (check the
// candidate, then promote), the service is created with the record kept
// meanwhile, and the candidate becomes stable; the next deploy is a canary
// beside it.
func TestEngineFirstDeployCreatesTheService(t *testing.T) {
	t.Parallel()
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		p := env.provider(t)
		if err := p.Preflight(t.Context()); err != nil {
			t.Fatalf("Preflight of a service to create = %v, want nil", err)
		}
		st, err := p.Status(t.Context())
		if err != nil || st.Stable != nil || st.Candidate != nil || st.Rollout.Phase != providers.PhaseNone ||
			len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "the first deploy creates it") {
			t.Fatalf("Status of a service to create = %+v, %v", st, err)
		}
		var started *engine.Started
		counter := &callCounter{admin: env.admin, step: "deploy", start: env.admin.AdminCalls()}
		sink := func(ev engine.Event) {
			if s, ok := ev.(*engine.Started); ok {
				started = s
			}
			counter.sink(ev)
		}
		res := firstDeploy(t, p, nextImage, "c0ffee1", false, sink)
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if started == nil || !started.FirstDeploy || started.ServiceURL != "https://"+serviceHost || started.CandidateURL != tagOf("candidate") {
			t.Errorf("Started = %+v, want a first deploy with the service and candidate URLs", started)
		}
		// deploy: the engine's read, the record kept (after a read: none),
		// the create (after a read: none) and its poll, a read for the
		// service's URL, the record of the candidate; then one read to
		// check, and the promotion's read and write.
		want := []string{"deploy: 7", "analyze 0: 1", "promote 100: 2"}
		if diff := cmp.Diff(want, counter.counts); diff != "" {
			t.Errorf("Admin API calls per step (-want +got):\n%s", diff)
		}
		if got := env.admin.CallsOf(fake.MethodCreateService); got != 1 {
			t.Errorf("%d CreateService calls, want 1", got)
		}
		if diff := cmp.Diff([]route{{"api-c0ffee1", 100, "stable"}}, env.routes()); diff != "" {
			t.Errorf("traffic after the first deploy (-want +got):\n%s", diff)
		}
		st, err = p.Status(t.Context())
		if err != nil || idOf(st.Stable) != "api-c0ffee1" || st.Candidate != nil || st.Previous != nil ||
			st.Rollout.Phase != providers.PhasePromoted || st.Rollout.ID != "r-c0ffee1" || len(st.Warnings) != 0 {
			t.Errorf("Status after the first deploy = %+v, %v", st, err)
		}
		res = newEngine(env.provider(t), 0, nil).Deploy(t.Context(), canary(t, 0, 50, 100),
			providers.Artifact{Image: nextImage + "b", Revision: "v2"}, providers.Rollout{ID: "r2"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("second deploy: outcome %s (%s)", res.Outcome, res.Reason)
		}
		if diff := cmp.Diff([]route{{"api-v2", 100, "stable"}, {"api-c0ffee1", 0, "previous"}}, env.routes()); diff != "" {
			t.Errorf("traffic after the second deploy (-want +got):\n%s", diff)
		}
	})
}

// TestEngineFirstDeployRolledBack fails the check of a first deploy: with
// nothing to go back to, the candidate keeps serving untagged and retired
// (not stable), the status says so, and the next deploy is a first deploy
// again that replaces it.
func TestEngineFirstDeployRolledBack(t *testing.T) {
	t.Parallel()
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		p := env.provider(t)
		if res := firstDeploy(t, p, nextImage, "bad1", true, nil); res.Outcome != engine.OutcomeRolledBack {
			t.Fatalf("outcome %s (%s), want rolled back", res.Outcome, res.Reason)
		}
		if diff := cmp.Diff([]route{{"api-bad1", 100, ""}}, env.routes()); diff != "" {
			t.Errorf("traffic after the rollback (-want +got):\n%s", diff)
		}
		st, err := p.Status(t.Context())
		if err != nil || st.Stable != nil || st.Candidate != nil || st.Rollout.Phase != providers.PhaseRolledBack {
			t.Fatalf("Status after the rollback = %+v, %v; want no stable, no candidate, rolled back", st, err)
		}
		if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "api-bad1 was rolled back") {
			t.Errorf("warnings %q, want one saying api-bad1 still takes the service's requests", st.Warnings)
		}
		if d := providers.Diagnose(st, time.Now()); len(d) != 0 {
			t.Errorf("drift after the rollback: %+v", d)
		}
		if res := firstDeploy(t, env.provider(t), nextImage+"b", "good2", false, nil); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("the next deploy: outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if diff := cmp.Diff([]route{{"api-good2", 100, "stable"}}, env.routes()); diff != "" {
			t.Errorf("traffic after the next deploy (-want +got):\n%s", diff)
		}
		if got := annotation(env.admin.Service(testName), annotationRetired); got != "" {
			t.Errorf("%s = %q after a promotion, want it gone", annotationRetired, got)
		}
	})
}

// TestEngineFirstDeployNotReady starts a first candidate that never gets
// ready: rolled back, with its condition, and no drift left behind.
func TestEngineFirstDeployNotReady(t *testing.T) {
	t.Parallel()
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		p := env.provider(t)
		res := firstDeploy(t, p, "europe-docker.pkg.dev/p/app/api:broken", "v1", false, nil)
		if res.Outcome != engine.OutcomeRolledBack || !errors.Is(res.Err, providers.ErrNotReady) || !strings.Contains(res.Reason, "failed to start") {
			t.Fatalf("outcome %s (%s, %v), want rolled back: not ready, with the condition", res.Outcome, res.Reason, res.Err)
		}
		st, err := p.Status(t.Context())
		if err != nil || st.Stable != nil || st.Candidate != nil {
			t.Fatalf("Status = %+v, %v; want no stable, no candidate", st, err)
		}
		if d := providers.Diagnose(st, time.Now()); len(d) != 0 {
			t.Errorf("drift: %+v", d)
		}
	})
}

// TestEngineDeployToAServiceWithNoReadyRevision deploys to a service whose
// only revision never got ready (created by hand with a bad image): a first
// deploy, which the candidate replaces.
func TestEngineDeployToAServiceWithNoReadyRevision(t *testing.T) {
	t.Parallel()
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		env.admin.Seed(testName, "europe-docker.pkg.dev/p/app/api:broken")
		p := env.provider(t)
		if res := firstDeploy(t, p, nextImage, "v1", false, nil); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if diff := cmp.Diff([]route{{"api-v1", 100, "stable"}}, env.routes()); diff != "" {
			t.Errorf("traffic (-want +got):\n%s", diff)
		}
	})
}

// TestFirstDeploysRace has two processes deploy a service that does not
// exist, both keeping their record: the first to create it wins; the other
// fails as stale and cannot write its record over the winner's.
func TestFirstDeploysRace(t *testing.T) {
	t.Parallel()
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		ctx := t.Context()
		a, b := env.provider(t), env.provider(t)
		claim := func(p *Provider, id string) providers.Rollout {
			return mustApply(t, p, record(providers.Rollout{ID: id, Phase: providers.PhaseProgressing,
				Intent: &providers.Intent{Action: providers.ActionDeploy}}))
		}
		recA, recB := claim(a, "ra"), claim(b, "rb")
		if _, err := a.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "a"}); err != nil {
			t.Fatalf("the first create: %v", err)
		}
		_, err := b.Deploy(ctx, providers.Artifact{Image: nextImage + "b", Revision: "b"})
		if !errors.Is(err, providers.ErrStale) || !strings.Contains(err.Error(), "created the service first") {
			t.Fatalf("the second create = %v, want ErrStale: created first by another deploy", err)
		}
		recB.Phase, recB.Intent = providers.PhaseFailed, nil
		if _, err := b.Apply(ctx, record(recB)); !errors.Is(err, providers.ErrStale) {
			t.Errorf("the loser's record over the winner's = %v, want ErrStale", err)
		}
		st, err := b.Status(ctx)
		if err != nil || st.Rollout.ID != "ra" || st.Rollout.Version != recA.Version || idOf(st.Candidate) != "api-a" {
			t.Errorf("Status = %+v, %v; want rollout ra (version %d) with candidate api-a", st, err, recA.Version)
		}
	})
}

// TestStatusOfAMissingService: no service, no record, one warning; a
// traffic change is refused as not found.
func TestStatusOfAMissingService(t *testing.T) {
	t.Parallel()
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		p := env.provider(t)
		st, err := p.Status(t.Context())
		if err != nil || st.Stable != nil || st.URL != "" || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], `service "api" does not exist`) {
			t.Errorf("Status = %+v, %v", st, err)
		}
		if _, err := p.Apply(t.Context(), shift("api-v1", 10, providers.Rollout{})); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("shift on a missing service = %v, want ErrNotFound", err)
		}
		if env.admin.Service(testName) != nil {
			t.Error("the service was created")
		}
	})
}

// idOf is r's ID, or "" for none.
func idOf(r *providers.Revision) string {
	if r == nil {
		return ""
	}
	return r.ID
}
