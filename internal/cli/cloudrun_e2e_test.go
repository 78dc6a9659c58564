//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/cli"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/cloudrun"
)

const (
	// crLag is the fake Cloud Monitoring's ingestion delay, and the
	// metrics-delay ramp is run with: points of a minute are visible crLag
	// after it ends, and each check judges the traffic up to crLag ago.
	crLag = 2 * time.Second
	// crTimeout bounds each ramp process: a canary waits for the end of
	// the minute its traffic is counted in, plus the delay; far more than
	// that on a loaded machine, below the progress deadline's rollback.
	crTimeout = 5 * time.Minute
	// crLoad is the synthetic load on every service, in requests a second.
	crLoad = 40
)

// TestCloudRunBlackBox drives the ramp binary (this test binary as ramp,
// in processes of its own) against the fake Cloud Run Admin API and Cloud
// Monitoring served in this process on a loopback port, through
// RAMP_CLOUDRUN_ENDPOINT and RAMP_MONITORING_ENDPOINT, with no
// credentials. The fake sends every service a constant load split as its
// traffic is, counted in Cloud Monitoring by the minute and shown crLag
// after the minute ends. Each service is first deployed (created, made
// stable), then a canary at 50% with the judge and the error-rate
// guardrail on and the metrics delay applied runs: a healthy one is
// promoted once the metrics showed its traffic; a failing one (every
// request a 500) is rolled back by the judge, exit 3.
func TestCloudRunBlackBox(t *testing.T) {
	t.Parallel()
	srv := fake.New(fake.WithLag(crLag))
	lis, err := fake.ListenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	load, stop := context.WithCancel(context.Background())
	go srv.Load(load, crLoad)
	t.Cleanup(func() { stop(); srv.Stop() })
	cases := []struct {
		name, service, image string
		code                 int
		outcome              engine.Outcome
	}{
		{"healthy canary promoted", "web", "europe-docker.pkg.dev/p/web/web:v2", cli.ExitOK, engine.OutcomePromoted},
		{"failing canary rolled back", "api", "europe-docker.pkg.dev/p/api/api:failing", cli.ExitRolledBack, engine.OutcomeRolledBack},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &crService{t: t, fake: srv, name: tc.service, vars: crVars(lis.Addr(), tc.service)}
			c.firstDeploy("europe-docker.pkg.dev/p/" + tc.service + "/" + tc.service + ":v1")
			c.canary(tc.image, tc.code, tc.outcome)
		})
	}
}

// crVars is the environment of every ramp process for service: the fake's
// endpoints, the location, and a canary at 50% checked every 2s with the
// judge and the error-rate guardrail on.
func crVars(addr net.Addr, service string) map[string]string {
	return map[string]string{
		cloudrun.EnvAdminEndpoint: addr.String(), cloudrun.EnvMonitoringEndpoint: addr.String(),
		"RAMP_PROVIDER": "cloudrun", "RAMP_PROJECT": "p", "RAMP_REGION": "europe-west1", "RAMP_SERVICE": service,
		"RAMP_STEPS": "50,100", "RAMP_INTERVAL": "2s", "RAMP_METRICS_DELAY": crLag.String(), "RAMP_MIN_REQUESTS": "20",
		"RAMP_COMPARE": "errors,latency", "RAMP_MAX_ERROR_RATE": "10", "RAMP_FAILURE_THRESHOLD": "2",
		"RAMP_PROGRESS_DEADLINE": "4m", "RAMP_READY_TIMEOUT": "1m", "RAMP_OUTPUT": "json",
	}
}

// crService is one service under test on the fake.
type crService struct {
	t    *testing.T
	fake *fake.Server
	name string
	vars map[string]string
}

// crEvent is the part of a JSON Lines event these tests read.
type crEvent struct {
	Type        string                  `json:"type"`
	At          time.Time               `json:"time"`
	FirstDeploy bool                    `json:"first_deploy"`
	Weight      int                     `json:"weight"`
	Window      struct{ End time.Time } `json:"window"`
	Candidate   json.RawMessage         `json:"candidate"` // a revision's ID, or a judged event's counts
	Result      engine.Result           `json:"result"`
}

// ramp runs ramp args as a process of its own with c's environment and
// returns its exit code, stdout and stderr.
func (c *crService) ramp(args ...string) (int, string, string) {
	c.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), crTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = os.Environ() // with RAMP_CLI_TEST_AS_RAMP=1 (TestMain): the binary is ramp
	for k, v := range c.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	_ = cmd.Run() // the exit code tells
	c.t.Logf("ramp %s: exit %d after %s", strings.Join(args, " "), cmd.ProcessState.ExitCode(), time.Since(began).Round(time.Second))
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// run runs ramp args and returns its events; the test fails unless it
// exits with want.
func (c *crService) run(want int, args ...string) []crEvent {
	c.t.Helper()
	code, stdout, stderr := c.ramp(args...)
	if code != want {
		c.t.Fatalf("ramp %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	var evs []crEvent
	for line := range strings.Lines(stdout) {
		var ev crEvent
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Type != "" {
			evs = append(evs, ev)
		}
	}
	return evs
}

// finished is the run's result; the test fails unless it has one.
func (c *crService) finished(evs []crEvent) engine.Result {
	c.t.Helper()
	for _, ev := range evs {
		if ev.Type == "finished" {
			return ev.Result
		}
	}
	c.t.Fatalf("no finished event in %+v", evs)
	return engine.Result{}
}

// serving is what the fake's service routes, from its traffic statuses:
// each revision's percent and tag, e.g. "100% stable".
func (c *crService) serving() map[string]string {
	svc := c.fake.Admin.Service("projects/p/locations/europe-west1/services/" + c.name)
	out := map[string]string{}
	for _, st := range svc.GetTrafficStatuses() {
		out[st.GetRevision()] = strings.TrimSpace(fmt.Sprintf("%d%% %s", st.GetPercent(), st.GetTag()))
	}
	return out
}

// firstDeploy deploys image as revision v1 of a service that does not
// exist: ramp creates it and makes the candidate stable.
func (c *crService) firstDeploy(image string) {
	c.t.Helper()
	if c.fake.Admin.Service("projects/p/locations/europe-west1/services/"+c.name) != nil {
		c.t.Fatalf("service %s exists before its first deploy", c.name)
	}
	evs := c.run(cli.ExitOK, "deploy", "--image="+image, "--revision=v1")
	if len(evs) == 0 || evs[0].Type != "started" || !evs[0].FirstDeploy {
		c.t.Errorf("the first deploy did not start as one: %+v", evs)
	}
	if res := c.finished(evs); res.Outcome != engine.OutcomePromoted || res.Stable != c.name+"-v1" {
		c.t.Errorf("first deploy: %s, stable %q, want promoted, %s-v1 (%s)", res.Outcome, res.Stable, c.name, res.Reason)
	}
	if got, want := c.serving(), map[string]string{c.name + "-v1": "100% stable"}; !maps.Equal(got, want) {
		c.t.Errorf("after the first deploy the service routes %v, want %v", got, want)
	}
}

// canary deploys image as revision v2 beside v1 and requires the outcome
// and exit code: the metrics showed the candidate's traffic at 50%, each
// window judged ending crLag before its check.
func (c *crService) canary(image string, code int, outcome engine.Outcome) {
	c.t.Helper()
	evs := c.run(code, "deploy", "--image="+image, "--revision=v2")
	res := c.finished(evs)
	if res.Outcome != outcome {
		c.t.Fatalf("canary: %s (%s), want %s", res.Outcome, res.Reason, outcome)
	}
	var seen int64
	for _, ev := range evs {
		if ev.Type != "judged" {
			continue
		}
		if ev.Window.End.After(ev.At.Add(-crLag)) {
			c.t.Errorf("a window ending %s was judged at %s, less than metrics-delay %s later", ev.Window.End, ev.At, crLag)
		}
		var counts struct{ Requests int64 }
		if err := json.Unmarshal(ev.Candidate, &counts); err != nil {
			c.t.Fatalf("judged event: candidate %s: %v", ev.Candidate, err)
		}
		if ev.Weight == 50 {
			seen += counts.Requests
		}
	}
	if seen == 0 {
		c.t.Errorf("the judge saw no request of the candidate at 50%%: %+v", evs)
	}
	want := map[string]string{c.name + "-v2": "100% stable", c.name + "-v1": "0% previous"}
	if outcome == engine.OutcomeRolledBack {
		want = map[string]string{c.name + "-v1": "100% stable"}
		if !strings.Contains(res.Reason, "worse than the stable") {
			c.t.Errorf("rolled back because %q, want the judge's verdict", res.Reason)
		}
	}
	if got := c.serving(); !maps.Equal(got, want) {
		c.t.Errorf("after the canary the service routes %v, want %v", got, want)
	}
	stable := c.name + "-v2"
	if outcome == engine.OutcomeRolledBack {
		stable = c.name + "-v1"
	}
	if st := c.status(); st.Rollout.Candidate != c.name+"-v2" || st.Stable == nil || st.Stable.ID != stable || st.Candidate != nil {
		c.t.Errorf("ramp status: record %+v, stable %+v, candidate %+v; want %s stable", st.Rollout, st.Stable, st.Candidate, stable)
	}
}

// status is `ramp status --output=json`, which must find the record and
// the platform agreeing (exit 0).
func (c *crService) status() providers.Status {
	c.t.Helper()
	code, stdout, stderr := c.ramp("status", "--output=json")
	var st providers.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || code != cli.ExitOK {
		c.t.Fatalf("ramp status: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	return st
}
