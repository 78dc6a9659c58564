//go:build unix

package cli_test

import (
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/cli"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
)

// TestECSBlackBoxNative drives the ramp binary, like TestECSBlackBox,
// against services on ECS's own deployment controller. Mode native: a
// CANARY at 50% through the PAUSE hook, promoted when healthy (the
// production rule's weight all on the new revision's target group), rolled
// back by the judge through the hook when failing (exit 3, the weight back
// where it was). Strategy rolling: ECS's rolling update of a healthy image
// promoted, and one whose tasks never pass their health checks rolled back
// by ECS's circuit breaker, which ramp reports as rolled back, exit 3,
// never as a success.
func TestECSBlackBoxNative(t *testing.T) {
	t.Parallel()
	w, endpoint := serveECS(t, true)
	for _, tc := range []struct {
		name, service, image string
		rolling              bool
		code                 int
		outcome              engine.Outcome
		says                 string
	}{
		{"native canary promoted", "shop", "registry.example/shop:v2", false, cli.ExitOK, engine.OutcomePromoted, ""},
		{"native canary rolled back", "cart", "registry.example/cart:failing", false, cli.ExitRolledBack, engine.OutcomeRolledBack, "worse than the stable"},
		{"rolling promoted", "auth", "registry.example/auth:v2", true, cli.ExitOK, engine.OutcomePromoted, ""},
		{"rolling rolled back by the circuit breaker", "mail", "registry.example/mail:unhealthy", true, cli.ExitRolledBack, engine.OutcomeRolledBack, "Circuit breaker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := fake.Seed{Cluster: "prod", Service: tc.service, Family: tc.service, Container: "app", Controller: fake.ControllerECS,
				Image: "registry.example/" + tc.service + ":v1", LoadBalancer: tc.service, TargetGroups: []string{tc.service + "-blue", tc.service + "-green"}}
			if tc.rolling {
				seed.TargetGroups, seed.DesiredCount, seed.CircuitBreaker = seed.TargetGroups[:1], 4, true
			}
			s, err := w.Seed(seed)
			if err != nil {
				t.Fatal(err)
			}
			vars := ecsVars(endpoint, tc.service, s)
			vars["RAMP_MODE"], vars["RAMP_TARGET_GROUPS"] = "native", ""
			if tc.rolling {
				vars["RAMP_STRATEGY"], vars["RAMP_STEPS"] = "rolling", ""
			}
			c := &crService{t: t, name: tc.service, vars: vars}
			res := c.finished(c.run(tc.code, "deploy", "--image="+tc.image, "--revision=v2"))
			if res.Outcome != tc.outcome || !strings.Contains(res.Reason, tc.says) {
				t.Fatalf("deploy: %s (%s), want %s saying %q", res.Outcome, res.Reason, tc.outcome, tc.says)
			}
			want := tc.service + ":1"
			if tc.outcome == engine.OutcomePromoted {
				want = tc.service + ":2"
			}
			st := c.status()
			if st.Stable == nil || st.Stable.ID != want || st.Candidate != nil || st.Rollout.Phase != providers.Phase(tc.outcome) {
				t.Errorf("ramp status: stable %+v, candidate %+v, record %+v", st.Stable, st.Candidate, st.Rollout)
			}
			if !tc.rolling { // the new revision on the alternate target group, green
				green := 0
				if tc.outcome == engine.OutcomePromoted {
					green = 100
				}
				if weights := w.Weights(s.Listener); weights[s.TargetGroups[1]] != green || weights[s.TargetGroups[0]] != 100-green {
					t.Errorf("after %s: weights %v", tc.outcome, weights)
				}
			}
		})
	}
}
