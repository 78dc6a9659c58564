//go:build unix

package cli_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/cli"
	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/fly"
)

// TestFlyBlackBox drives the ramp binary (this test binary as ramp, in
// processes of its own) against the fake Machines API and the app's fake
// fly-proxy served in this process on loopback ports, reached only
// through FLY_API_BASE_URL, FLY_API_TOKEN and FLY_APP_URL. Each app runs 4
// machines; the probe gate reaches the candidate's machines through the
// app's URL pinned with fly-force-instance-id. A healthy canary is
// promoted; one answering 500 is rolled back by the probe at its first
// step (exit 3) with every stable machine routable again; a canary paused
// at 50% is promoted by a second process; a blue-green is promoted once
// its green machines pass the probe at 0%. All along, the weight the
// provider reports matches the fake's routable machine counts.
func TestFlyBlackBox(t *testing.T) {
	t.Parallel()
	w := fake.NewWorld()
	w.SetDelays(300*time.Millisecond, 700*time.Millisecond)
	w.RequireToken("e2e-token")
	api := httptest.NewServer(w.Handler())
	t.Cleanup(api.Close)
	for _, tc := range []struct {
		name, app, image, steps, strategy string
		code                              int
		outcome                           engine.Outcome
		seen                              []int // weights the provider reported (and the fake routed) along the way
		routed                            string
	}{
		{"healthy canary promoted", "web-a", "registry.fly.io/web:v2", "25,50,100", "canary", cli.ExitOK, engine.OutcomePromoted, []int{0, 25, 50, 100}, "registry.fly.io/web:v2"},
		{"failing canary rolled back", "web-b", "registry.fly.io/web:failing", "25,50,100", "canary", cli.ExitRolledBack, engine.OutcomeRolledBack, []int{0, 25}, "registry.fly.io/web:v1"},
		{"blue-green promoted", "web-d", "registry.fly.io/web:v2", "", "bluegreen", cli.ExitOK, engine.OutcomePromoted, []int{0, 100}, "registry.fly.io/web:v2"},
		{"paused canary promoted by another process", "web-c", "registry.fly.io/web:v2", "50,pause,100", "canary", cli.ExitPaused, "", []int{0, 50, 100}, "registry.fly.io/web:v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w.CreateApp(tc.app, "acme")
			for range 4 {
				if _, err := w.Launch(tc.app, "ams", fake.Config("registry.fly.io/web:v1", "app")); err != nil {
					t.Fatal(err)
				}
			}
			proxy := httptest.NewServer(w.AppHandler(tc.app))
			t.Cleanup(proxy.Close)
			c := &crService{t: t, name: tc.app, vars: map[string]string{
				"FLY_API_BASE_URL": api.URL, "FLY_API_TOKEN": "e2e-token", "FLY_APP_URL": proxy.URL,
				"RAMP_PROVIDER": "fly", "RAMP_SERVICE": tc.app, "RAMP_ENVIRONMENT": "", "RAMP_OUTPUT": "json",
				"RAMP_STEPS": tc.steps, "RAMP_STRATEGY": tc.strategy, "RAMP_INTERVAL": "2s", "RAMP_PROBE_PATH": "/healthz", "RAMP_FAILURE_THRESHOLD": "1",
				"RAMP_ROLLBACK_WINDOW": "0s", "RAMP_READY_TIMEOUT": "1m", "RAMP_PROGRESS_DEADLINE": "4m",
			}}
			watch := watchFly(t, w, api.URL, tc.app)
			evs := c.run(tc.code, "deploy", "--image="+tc.image, "--revision=v2")
			if tc.outcome != "" {
				if res := c.finished(evs); res.Outcome != tc.outcome {
					t.Fatalf("deploy: %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
				}
			} else {
				if st := c.status(); st.Rollout.Phase != providers.PhasePaused || st.Weight != 50 {
					t.Fatalf("after the deploy: %s at %d%%, want paused at 50%%", st.Rollout.Phase, st.Weight)
				}
				c.run(cli.ExitOK, "promote")
			}
			seen := watch()
			if tc.outcome == engine.OutcomeRolledBack && len(seen) > 1 && seen[len(seen)-1] == 0 {
				seen = seen[:len(seen)-1] // seen while the rolled-back machines stop, cordoned
			}
			// A step uncordons the candidate's machines before it cordons the
			// stable's, so a watch may catch a weight between two steps (33%
			// on the way from 0% to 50%), reported as routed: the steps are
			// the weights of the plan, in order.
			steps := slices.DeleteFunc(slices.Clone(seen), func(w int) bool { return !slices.Contains(tc.seen, w) })
			if !slices.Equal(slices.Compact(steps), tc.seen) {
				t.Errorf("weights reported and routed along the way %v, want the steps %v in order", seen, tc.seen)
			}
			if r := w.Routable(tc.app); len(r) != 1 || r[tc.routed] != 4 {
				t.Errorf("routable at the end %v, want 4 machines of %s", r, tc.routed)
			}
			if st := c.status(); st.Candidate != nil || st.Rollout.Intent != nil {
				t.Errorf("ramp status after: candidate %+v, intent %+v", st.Candidate, st.Rollout.Intent)
			}
		})
	}
}

// watchFly polls, until the returned func is called, the weight a
// provider of its own reports for app and the fake's routable machines
// (read before and after, so a change in between is skipped), failing the
// test when they disagree; the func returns the distinct weights seen, in
// the order seen.
func watchFly(t *testing.T, w *fake.World, base, app string) func() []int {
	t.Helper()
	client, err := fly.NewClient(base, "e2e-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fly.NewWithClient(providers.Config{Service: app}, client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var seen []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			before := w.Routable(app)
			st, err := p.Status(ctx)
			after := w.Routable(app)
			if err == nil && maps.Equal(before, after) {
				cand := 0
				if st.Candidate != nil {
					cand = after[st.Candidate.Image]
				}
				total := 0
				for _, n := range after {
					total += n
				}
				routed := 0
				if total > 0 {
					routed = (200*cand + total) / (2 * total)
				}
				if st.Candidate == nil && st.Stable != nil && after[st.Stable.Image] == total {
					routed = 0
				}
				mu.Lock()
				switch {
				case st.Candidate != nil && routed != st.Weight:
					t.Errorf("the provider reports %d%%, the fake routes %v (%d%% to %s)", st.Weight, after, routed, st.Candidate.Image)
				case len(seen) == 0 || seen[len(seen)-1] != st.Weight:
					if st.Candidate != nil || len(seen) == 0 {
						seen = append(seen, st.Weight)
					}
				}
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return func() []int {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if st, err := p.Status(context.Background()); err == nil && st.Candidate == nil && st.Stable != nil && st.Stable.ID == "v2" && len(seen) > 0 && seen[len(seen)-1] != 100 {
			seen = append(seen, 100) // promoted: all of it
		}
		return slices.Clone(seen)
	}
}
