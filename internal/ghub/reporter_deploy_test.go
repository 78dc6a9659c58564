package ghub

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/strategies"
)

var bake = strategies.Step{Kind: strategies.KindBake, Weight: 100, Hold: time.Minute}

// bakeFailedCanary is promoted, then rolled back when its bake fails.
func bakeFailedCanary() []engine.Event {
	return append(canaryAt50(),
		checked(3, 50, errorRate(gates.Successful, 0.1, ""), gates.Successful),
		&engine.StepDone{Index: 3, Step: hold50, Took: time.Minute},
		&engine.StepStarted{Index: 4, Total: 6, Step: promote},
		&engine.Promoted{Revision: "v2"},
		&engine.StepDone{Index: 4, Step: promote},
		&engine.StepStarted{Index: 5, Total: 6, Step: bake},
		checked(5, 100, errorRate(gates.Failed, 6.75, ""), gates.Failed),
		&engine.RolledBack{From: 100, Reason: "the bake failed"},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: "the bake failed", Stable: "v1",
			Candidate: "v2", URL: svcURL}},
	)
}

// bakeCancelledCanary is promoted, then cancelled during its bake: the
// promotion stands.
func bakeCancelledCanary() []engine.Event {
	return append(canaryAt50(),
		checked(3, 50, errorRate(gates.Successful, 0.1, ""), gates.Successful),
		&engine.StepDone{Index: 3, Step: hold50, Took: time.Minute},
		&engine.StepStarted{Index: 4, Total: 6, Step: promote},
		&engine.Promoted{Revision: "v2"},
		&engine.StepDone{Index: 4, Step: promote},
		&engine.StepStarted{Index: 5, Total: 6, Step: bake},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomeCancelled,
			Reason: "cancelled (context canceled) during the bake; the promotion stands", Stable: "v2", Weight: 100, URL: svcURL}},
	)
}

// rollbackCommand is what a rollback command in another process reports,
// after the promotion: no Started event.
func rollbackCommand() []engine.Event {
	return []engine.Event{
		&engine.RolledBack{From: 100, Reason: "rolled back by alice"},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: "rolled back by alice", Stable: "v1",
			URL: svcURL}},
	}
}

// histories lists each deployment's statuses as "state: description".
func histories(s ghubtest.State) map[int64][]string {
	h := map[int64][]string{}
	for _, d := range s.Deployments {
		for _, st := range d.Statuses {
			h[d.ID] = append(h[d.ID], st.State+": "+st.Description)
		}
	}
	return h
}

// monorepo seeds env with the live deployments of two services and one of
// another tool: api (1001 and 1003), web (1002) and 1004. The rollout's
// deployment is then 1005.
func monorepo(f *ghubtest.Fake, env string) {
	seedRamp(f, env, "api", oldSHA, "success")
	seedRamp(f, env, "web", oldSHA, "success")
	seedRamp(f, env, "api", headSHA, "success")
	f.SeedDeploymentWith(ghubtest.Deployment{Environment: env, Ref: headSHA}, "success")
}

// The statuses of the seeded deployments of monorepo, untouched.
var (
	live       = []string{"success: seeded success"}
	ours       = "in_progress: " + inProgress
	promotedV2 = "success: canary promoted v2 to 100%"
	retired    = "inactive: superseded by deployment 1005 of def5678"
	revived    = "success: live again: deployment 1005 of def5678 was rolled back"
)

func TestReporterKeepsToItsService(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     string
		events  []engine.Event
		edit    func(*Options)
		want    map[int64][]string
		lists   int            // the environment's deployments are listed so many times
		payload map[string]any // of deployment 1005
	}{{
		name:   "promoted: only the service's previous deployment is retired",
		env:    "production",
		events: promotedCanary(),
		lists:  1,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired}, 1003: live, 1004: live,
			1005: {ours, promotedV2}},
	}, {
		name:   "promoted to a non-production environment: GitHub retires nothing",
		env:    "staging",
		events: promotedCanary(),
		lists:  1,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired}, 1003: live, 1004: live,
			1005: {ours, promotedV2}},
	}, {
		name:   "promoted, then the bake fails: the previous deployment stays live",
		env:    "production",
		events: bakeFailedCanary(),
		lists:  1, // to restore the previous deployment, had it been retired
		want: map[int64][]string{1001: live, 1002: live, 1003: live, 1004: live,
			1005: {ours, promotedV2, "failure: canary rolled back from 100%: the bake failed"}},
	}, {
		name:   "promoted to staging, then the bake fails",
		env:    "staging",
		events: bakeFailedCanary(),
		lists:  1,
		want: map[int64][]string{1001: live, 1002: live, 1003: live, 1004: live,
			1005: {ours, promotedV2, "failure: canary rolled back from 100%: the bake failed"}},
	}, {
		name:   "promoted, then cancelled during the bake: the promotion stands",
		env:    "production",
		events: bakeCancelledCanary(),
		lists:  1,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired}, 1003: live, 1004: live,
			1005: {ours, promotedV2}},
	}, {
		name:   "rolled back before the promotion",
		env:    "production",
		events: rolledBackCanary(),
		lists:  0, // nothing was retired
		want: map[int64][]string{1001: live, 1002: live, 1003: live, 1004: live,
			1005: {ours, "failure: canary rolled back from 50%: " + clip(failing, 140-len("canary rolled back from 50%: "))}},
	}, {
		name:   "the rollout ID of the Started event",
		env:    "production",
		events: append([]engine.Event{&engine.Started{ID: "r-7", Service: "web", Strategy: "canary", Stable: "v1", Candidate: "v2"}}, promotedCanary()[1:]...),
		edit:   func(o *Options) { o.RolloutID = "" },
		lists:  1,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired}, 1003: live, 1004: live,
			1005: {ours, promotedV2}},
		payload: map[string]any{"tool": "ramp", "rollout_id": "r-7", "service": "web", "strategy": "canary", "candidate": "v2", "stable": "v1"},
	}, {
		name:   "the configured rollout ID and service",
		env:    "production",
		events: append([]engine.Event{&engine.Started{ID: "r-7", Strategy: "canary", Stable: "v1", Candidate: "v2"}}, promotedCanary()[1:]...),
		edit:   func(o *Options) { o.Service, o.Context = "web", "ramp/web" },
		lists:  1,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired}, 1003: live, 1004: live,
			1005: {ours, promotedV2}},
		payload: map[string]any{"tool": "ramp", "rollout_id": "r-42", "service": "web", "strategy": "canary", "candidate": "v2", "stable": "v1"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			monorepo(f, tc.env)
			_, warns, _ := report(t, f, tc.events, func(o *Options) {
				o.Environment = tc.env
				if tc.edit != nil {
					tc.edit(o)
				}
			})
			got := f.Snapshot()
			if diff := cmp.Diff(tc.want, histories(got)); diff != "" {
				t.Errorf("deployment statuses (-want +got):\n%s", diff)
			}
			if len(warns) != 0 {
				t.Errorf("warnings: %q", warns)
			}
			lists := 0
			for _, c := range got.Calls {
				if strings.HasPrefix(c, "GET /repos/acme/shop/deployments?") {
					lists++
				}
			}
			if lists != tc.lists {
				t.Errorf("the deployments were listed %d times, want %d:\n%s", lists, tc.lists, got)
			}
			d := got.Deployments[len(got.Deployments)-1]
			if d.ID != 1005 || d.Task != "deploy:web" {
				t.Errorf("deployment %d has task %q, want 1005 and deploy:web", d.ID, d.Task)
			}
			if tc.payload != nil {
				if diff := cmp.Diff(tc.payload, d.Payload); diff != "" {
					t.Errorf("payload (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestRollbackAfterPromotion promotes web in one process, then rolls it
// back from another that finds the deployment the way the CLI does: the
// previous deployment of web, retired at the promotion, is live again,
// and no other deployment changes.
func TestRollbackAfterPromotion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     string
		seed    func(f *ghubtest.Fake, env string)
		service string // given to the second process
		times   int    // the rollback is reported so many times (the post step reports again)
		want    map[int64][]string
	}{{
		name:    "the command names the service",
		env:     "production",
		seed:    monorepo,
		service: "web",
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired, revived}, 1003: live, 1004: live,
			1005: {ours, promotedV2, "failure: rollout rolled back from 100%: rolled back by alice"}},
	}, {
		name: "the service is read from the deployment",
		env:  "production",
		seed: monorepo,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired, revived}, 1003: live, 1004: live,
			1005: {ours, promotedV2, "failure: rollout rolled back from 100%: rolled back by alice"}},
	}, {
		name:    "in staging, the restored deployment retires no other",
		env:     "staging",
		seed:    monorepo,
		service: "web",
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired, revived}, 1003: live, 1004: live,
			1005: {ours, promotedV2, "failure: rollout rolled back from 100%: rolled back by alice"}},
	}, {
		name:    "reported twice",
		env:     "production",
		seed:    monorepo,
		service: "web",
		times:   2,
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired, revived}, 1003: live, 1004: live,
			1005: {ours, promotedV2, "failure: rollout rolled back from 100%: rolled back by alice",
				"failure: rollout rolled back from 100%: rolled back by alice"}},
	}, {
		name: "the previous deployment was retired by someone else",
		env:  "production",
		seed: func(f *ghubtest.Fake, env string) {
			seedRamp(f, env, "api", oldSHA, "success")
			seedRamp(f, env, "web", oldSHA, "success", "inactive")
			seedRamp(f, env, "api", headSHA, "success")
			seedRamp(f, env, "web", "1111111aaaabbbbccccddddeeeeffff000011112", "failure")
		},
		service: "web",
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", "inactive: seeded inactive"}, 1003: live,
			1004: {"failure: seeded failure"}, 1005: {ours, promotedV2, "failure: rollout rolled back from 100%: rolled back by alice"}},
	}, {
		name: "a failed deployment in between",
		env:  "production",
		seed: func(f *ghubtest.Fake, env string) {
			seedRamp(f, env, "api", oldSHA, "success")
			seedRamp(f, env, "web", oldSHA, "success")
			seedRamp(f, env, "api", headSHA, "success")
			seedRamp(f, env, "web", "1111111aaaabbbbccccddddeeeeffff000011112", "in_progress", "failure")
		},
		service: "web",
		want: map[int64][]string{1001: live, 1002: {"success: seeded success", retired, revived}, 1003: live,
			1004: {"in_progress: seeded in_progress", "failure: seeded failure"},
			1005: {ours, promotedV2, "failure: rollout rolled back from 100%: rolled back by alice"}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			tc.seed(f, tc.env)
			inEnv := func(o *Options) { o.Environment = tc.env }
			if _, warns, _ := report(t, f, promotedCanary(), inEnv); len(warns) != 0 {
				t.Fatalf("warnings promoting: %q", warns)
			}
			id, err := FindDeployment(t.Context(), newClient(t, f), "acme", "shop", tc.env, headSHA, "web")
			if err != nil || id != 1005 {
				t.Fatalf("FindDeployment = %d, %v; want 1005", id, err)
			}
			for range max(tc.times, 1) {
				_, warns, created := report(t, f, rollbackCommand(), func(o *Options) {
					o.Environment, o.DeploymentID, o.Service, o.RolloutID = tc.env, id, tc.service, ""
				})
				if len(warns) != 0 || len(created) != 0 {
					t.Errorf("rolling back: warnings %q, deployments created %v", warns, created)
				}
			}
			got := f.Snapshot()
			if diff := cmp.Diff(tc.want, histories(got)); diff != "" {
				t.Errorf("deployment statuses (-want +got):\n%s", diff)
			}
			for _, d := range got.Deployments {
				if d.ID != 1002 {
					continue
				}
				if last := d.Statuses[len(d.Statuses)-1]; last.State == "success" && (last.LogURL != runURL || last.EnvironmentURL != svcURL) {
					t.Errorf("the restored deployment's status links %q and %q, want %q and %q", last.LogURL, last.EnvironmentURL, runURL, svcURL)
				}
			}
		})
	}
}

// TestRampPayload checks which deployment payloads are ramp's.
func TestRampPayload(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		want deploymentPayload
		ok   bool
	}{
		{`{"tool":"ramp","service":"web","rollout_id":"r-1"}`, deploymentPayload{Tool: "ramp", Service: "web", RolloutID: "r-1"}, true},
		{`"{\"tool\":\"ramp\",\"service\":\"api\"}"`, deploymentPayload{Tool: "ramp", Service: "api"}, true},
		{`{"tool":"other","service":"web"}`, deploymentPayload{Tool: "other", Service: "web"}, false},
		{`{}`, deploymentPayload{}, false},
		{`""`, deploymentPayload{}, false},
		{`null`, deploymentPayload{}, false},
		{``, deploymentPayload{}, false},
		{`"not json"`, deploymentPayload{}, false},
		{`[1]`, deploymentPayload{}, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.raw), func(t *testing.T) {
			t.Parallel()
			got, ok := rampPayload([]byte(tc.raw))
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
				t.Errorf("rampPayload = _, %v, want %v; (-want +got):\n%s", ok, tc.ok, diff)
			}
		})
	}
}
