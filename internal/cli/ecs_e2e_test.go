//go:build unix

package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/cli"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
)

// ecsLag is the fake CloudWatch's delay and the metrics-delay ramp runs
// with: a minute's datapoints show ecsLag after it ends.
const ecsLag = 2 * time.Second

// TestECSBlackBox drives the ramp binary (this test binary as ramp, in
// processes of its own) against the fake ECS, ELBv2 and CloudWatch served
// in this process on a loopback port, reached only through
// AWS_ENDPOINT_URL and the SDK's default chain (static keys in the
// environment, no profile). Each service runs its primary task set behind
// target group blue; a canary at 50% with the judge and the error-rate
// guardrail on runs: a healthy one is promoted (the new set primary
// behind green with all the weight, the old one kept warm), a failing one
// is rolled back by the judge, exit 3 (the weight back on blue, the
// candidate set deleted).
func TestECSBlackBox(t *testing.T) {
	t.Parallel()
	w, endpoint := serveECS(t, false)
	for _, tc := range []struct {
		name, service, image string
		code                 int
		outcome              engine.Outcome
	}{
		{"healthy canary promoted", "web", "registry.example/web:v2", cli.ExitOK, engine.OutcomePromoted},
		{"failing canary rolled back", "api", "registry.example/api:failing", cli.ExitRolledBack, engine.OutcomeRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := w.Seed(fake.Seed{Cluster: "prod", Service: tc.service, Family: tc.service, Container: "app",
				Image: "registry.example/" + tc.service + ":v1", LoadBalancer: tc.service, TargetGroups: []string{tc.service + "-blue", tc.service + "-green"}})
			if err != nil {
				t.Fatal(err)
			}
			c := &crService{t: t, name: tc.service, vars: ecsVars(endpoint, tc.service, s)}
			evs := c.run(tc.code, "deploy", "--image="+tc.image, "--revision=v2")
			res := c.finished(evs)
			if res.Outcome != tc.outcome {
				t.Fatalf("canary: %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
			}
			var seen int64
			for _, ev := range evs {
				var counts struct{ Requests int64 }
				if ev.Type == "judged" && ev.Weight == 50 && json.Unmarshal(ev.Candidate, &counts) == nil {
					seen += counts.Requests
				}
			}
			if seen == 0 {
				t.Errorf("the judge saw no request of the candidate at 50%%: %+v", evs)
			}
			weights := w.Weights(s.Listener)
			sets := w.TaskSets("prod", tc.service)
			switch tc.outcome {
			case engine.OutcomePromoted:
				if weights[s.TargetGroups[0]] != 0 || weights[s.TargetGroups[1]] != 100 || len(sets) != 2 || sets[1].Status != "PRIMARY" || sets[1].Image != tc.image {
					t.Errorf("after promotion: weights %v, task sets %+v", weights, sets)
				}
			case engine.OutcomeRolledBack:
				if weights[s.TargetGroups[0]] != 100 || weights[s.TargetGroups[1]] != 0 || len(sets) != 1 || !strings.Contains(res.Reason, "worse than the stable") {
					t.Errorf("after rollback (%s): weights %v, task sets %+v", res.Reason, weights, sets)
				}
			}
			if st := c.status(); st.Rollout.Candidate != "v2" || st.Candidate != nil || st.Rollout.Phase != providers.Phase(tc.outcome) {
				t.Errorf("ramp status: record %+v, candidate %+v", st.Rollout, st.Candidate)
			}
		})
	}
}

// ecsVars is the environment of every ramp process for service: the
// fake's endpoint, static keys and no profile, the location, and a canary
// at 50% checked every 2s with the judge and the error-rate guardrail on.
// serveECS serves a fake AWS world on a loopback address, its metrics
// ecsLag late at 20 requests a second, and returns it and its endpoint;
// native makes ECS's own deployments take one poll to settle.
func serveECS(t *testing.T, native bool) (*fake.World, string) {
	t.Helper()
	w := fake.NewWorld(nil)
	w.SetLag(ecsLag)
	w.SetRPS(20)
	if native {
		w.SetPolls(fake.DefaultStabilizePolls, 1)
	}
	lis, err := fake.ListenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return w, "http://" + lis.Addr().String()
}

func ecsVars(endpoint, service string, s fake.Seeded) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": fake.DefaultRegion, "AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "SECRETFAKE",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
		"RAMP_PROVIDER": "ecs", "RAMP_CLUSTER": "prod", "RAMP_SERVICE": service, "RAMP_CONTAINER": "app",
		"RAMP_LISTENER": s.Listener, "RAMP_TARGET_GROUPS": strings.Join(s.TargetGroups, ","), "RAMP_ENVIRONMENT": "",
		"RAMP_STEPS": "50,100", "RAMP_INTERVAL": "2s", "RAMP_METRICS_DELAY": ecsLag.String(), "RAMP_MIN_REQUESTS": "20",
		"RAMP_COMPARE": "errors,latency", "RAMP_MAX_ERROR_RATE": "10", "RAMP_FAILURE_THRESHOLD": "2",
		"RAMP_PROGRESS_DEADLINE": "4m", "RAMP_READY_TIMEOUT": "1m", "RAMP_OUTPUT": "json",
	}
}
