//go:build unix

package cli_test

import (
	"testing"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/cli"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
)

// TestECSNativeFromASecondProcess pauses a mode native canary at ECS's
// PAUSE hook, then drives it from other processes that know only where
// the service is (no steps, no strategy): ramp status, resume, and
// promote, as a later job or a PR comment would.
func TestECSNativeFromASecondProcess(t *testing.T) {
	t.Parallel()
	w, endpoint := serveECS(t, true)
	for _, verb := range []string{"promote", "resume"} {
		t.Run(verb, func(t *testing.T) {
			t.Parallel()
			name := "shop-" + verb
			s, err := w.Seed(fake.Seed{Cluster: "prod", Service: name, Family: name, Container: "app", Controller: fake.ControllerECS,
				Image: "registry.example/shop:v1", LoadBalancer: name, TargetGroups: []string{name + "-blue", name + "-green"}})
			if err != nil {
				t.Fatal(err)
			}
			vars := ecsVars(endpoint, name, s)
			vars["RAMP_MODE"], vars["RAMP_TARGET_GROUPS"], vars["RAMP_STEPS"] = "native", "", "50,pause,100"
			first := &crService{t: t, name: name, vars: vars}
			res := first.finished(first.run(cli.ExitPaused, "deploy", "--image=registry.example/shop:v2", "--revision=v2"))
			if res.Outcome != engine.OutcomePaused {
				t.Fatalf("deploy: %s (%s), want paused", res.Outcome, res.Reason)
			}
			other := map[string]string{}
			for k, v := range vars {
				other[k] = v
			}
			delete(other, "RAMP_STEPS") // a later job knows where the service is, not how it was rolled out
			second := &crService{t: t, name: name, vars: other}
			if st := second.status(); st.Candidate == nil || st.Rollout.Phase != providers.PhasePaused || st.Weight != 50 {
				t.Fatalf("status from a second process: phase %s, weight %d, candidate %+v", st.Rollout.Phase, st.Weight, st.Candidate)
			}
			res = second.finished(second.run(cli.ExitOK, verb))
			if res.Outcome != engine.OutcomePromoted {
				t.Fatalf("%s from a second process: %s (%s)", verb, res.Outcome, res.Reason)
			}
			if st := second.status(); st.Stable == nil || st.Stable.ID != name+":2" || st.Candidate != nil {
				t.Errorf("status after %s: stable %+v, candidate %+v", verb, st.Stable, st.Candidate)
			}
			if weights := w.Weights(s.Listener); weights[s.TargetGroups[1]] != 100 {
				t.Errorf("after %s: weights %v, want all on %s", verb, weights, s.TargetGroups[1])
			}
		})
	}
}
