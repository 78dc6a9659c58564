package ghub

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/strategies"
)

const (
	headSHA = "def5678aaaabbbbccccddddeeeeffff000011112"
	oldSHA  = "abc1234aaaabbbbccccddddeeeeffff000011112"
	runURL  = "https://github.com/acme/shop/actions/runs/77"
	svcURL  = "https://web.example.com"
	cancel  = "cancelled (context canceled); all traffic sent back to the stable revision"
	failing = "error-rate failed 2 times in a row (failure-threshold 2): error-rate = 6.75% (threshold <= 1%, 402 samples over 30s)"
)

var (
	shift10 = strategies.Step{Kind: strategies.KindShift, Weight: 10}
	hold10  = strategies.Step{Kind: strategies.KindAnalyze, Weight: 10, Hold: time.Minute}
	shift50 = strategies.Step{Kind: strategies.KindShift, Weight: 50}
	hold50  = strategies.Step{Kind: strategies.KindAnalyze, Weight: 50, Hold: time.Minute}
	pause10 = strategies.Step{Kind: strategies.KindPause, Weight: 10}
	promote = strategies.Step{Kind: strategies.KindPromote, Weight: 100}
)

func errorRate(o gates.Outcome, v float64, msg string) gates.Result {
	return gates.Result{Gate: "error-rate", Outcome: o, Value: v, Unit: "%", Threshold: "<= 1", Samples: 400,
		Window: 30 * time.Second, Message: msg}
}

func checked(i, w int, r gates.Result, v gates.Outcome) *engine.GateChecked {
	return &engine.GateChecked{Index: i, Weight: w, Result: r, Verdict: gates.Verdict{Outcome: v}}
}

// canaryAt10 is a canary that shifted to 10% and waits for data.
func canaryAt10() []engine.Event {
	return []engine.Event{
		&engine.Started{Service: "web", Strategy: "canary", Stable: "v1", Candidate: "v2", ServiceURL: svcURL,
			Plan: strategies.Plan{Strategy: "canary", Steps: []strategies.Step{shift10, hold10, shift50, hold50, promote}}},
		&engine.StepStarted{Index: 0, Total: 5, Step: shift10},
		&engine.Shifted{From: 0, Weight: 10},
		&engine.StepDone{Index: 0, Step: shift10, Took: time.Second},
		&engine.StepStarted{Index: 1, Total: 5, Step: hold10},
		checked(1, 10, errorRate(gates.Inconclusive, 0, "3 requests < min-requests 10"), gates.Inconclusive),
		&engine.Holding{Weight: 10, Reason: "error-rate: not enough data: 3 requests < min-requests 10"},
	}
}

// canaryAt50 goes on to analyse at 50%.
func canaryAt50() []engine.Event {
	return append(canaryAt10(),
		checked(1, 10, errorRate(gates.Inconclusive, 0, "7 requests < min-requests 10"), gates.Inconclusive),
		&engine.Holding{Weight: 10, Reason: "error-rate: not enough data: 7 requests < min-requests 10"},
		checked(1, 10, errorRate(gates.Successful, 0.2, ""), gates.Successful),
		&engine.Warning{Message: "set weight 50% failed (attempt 1 of 5), retrying"},
		&engine.StepDone{Index: 1, Step: hold10, Took: 90 * time.Second},
		&engine.StepStarted{Index: 2, Total: 5, Step: shift50},
		&engine.Shifted{From: 10, Weight: 50},
		&engine.StepDone{Index: 2, Step: shift50, Took: time.Second},
		&engine.StepStarted{Index: 3, Total: 5, Step: hold50},
	)
}

func promotedCanary() []engine.Event {
	return append(canaryAt50(),
		checked(3, 50, errorRate(gates.Successful, 0.1, ""), gates.Successful),
		checked(3, 50, errorRate(gates.Successful, 0.15, ""), gates.Successful),
		&engine.StepDone{Index: 3, Step: hold50, Took: time.Minute},
		&engine.StepStarted{Index: 4, Total: 5, Step: promote},
		&engine.Promoted{Revision: "v2"},
		&engine.StepDone{Index: 4, Step: promote},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed",
			Stable: "v2", Weight: 100, URL: svcURL}},
	)
}

func rolledBackCanary() []engine.Event {
	return append(canaryAt50(),
		checked(3, 50, errorRate(gates.Failed, 4.2, ""), gates.Inconclusive),
		checked(3, 50, errorRate(gates.Failed, 6.75, ""), gates.Failed),
		&engine.RolledBack{From: 50, Reason: failing},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: failing, Stable: "v1",
			Candidate: "v2", URL: svcURL}},
	)
}

func cancelledCanary() []engine.Event {
	return append(canaryAt10(),
		&engine.RolledBack{From: 10, Reason: cancel},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomeCancelled, Reason: cancel, Stable: "v1",
			Candidate: "v2", URL: svcURL}},
	)
}

func pausedCanary() []engine.Event {
	return append(canaryAt10()[:4],
		&engine.StepStarted{Index: 1, Total: 5, Step: pause10},
		&engine.Paused{Weight: 10, Step: 2, Reason: "the plan pauses here"},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomePaused, Reason: "the plan pauses here",
			Stable: "v1", Candidate: "v2", Weight: 10, URL: svcURL}},
	)
}

func status(state, desc string) ghubtest.Status {
	return ghubtest.Status{SHA: headSHA, State: state, Context: "ramp/web", Description: desc, TargetURL: runURL}
}

// Commit statuses every scripted rollout starts with.
var startStatuses = []ghubtest.Status{
	status("pending", "canary rollout of web started: candidate v2"),
	status("pending", "canary 10% — shifted from 0%"),
	status("pending", "canary 10% — holding: error-rate: not enough data: 3 requests < min-requests 10"),
}

var at50Statuses = append(startStatuses[:3:3],
	status("pending", "canary 10% — error-rate 0.2% ok"),
	status("pending", "canary 50% — shifted from 10%"),
)

func dstatus(state, desc, envURL string) ghubtest.DeploymentStatus {
	return ghubtest.DeploymentStatus{State: state, Description: desc, LogURL: runURL, EnvironmentURL: envURL}
}

const inProgress = "canary rollout of web: candidate v2 replacing v1"

// deployment is the deployment a scripted rollout creates, with statuses.
func deployment(statuses ...ghubtest.DeploymentStatus) ghubtest.Deployment {
	return ghubtest.Deployment{ID: 1002, Ref: headSHA, Task: "deploy:web", Environment: "production", Desc: inProgress,
		AutoMerge: github.Ptr(false), RequiredContexts: &[]string{},
		Payload: map[string]any{"tool": "ramp", "rollout_id": "r-42", "service": "web", "strategy": "canary",
			"candidate": "v2", "stable": "v1"},
		Statuses: append([]ghubtest.DeploymentStatus{dstatus("in_progress", inProgress, "")}, statuses...)}
}

// rampPayloadOf is the payload of a deployment ramp made of service.
func rampPayloadOf(service string) map[string]any {
	return map[string]any{"tool": "ramp", "rollout_id": "r-" + service, "service": service}
}

// seedRamp adds an earlier deployment ramp made of service and sha to env,
// with statuses in the given states, and returns its ID.
func seedRamp(f *ghubtest.Fake, env, service, sha string, states ...string) int64 {
	return f.SeedDeploymentWith(ghubtest.Deployment{Environment: env, Ref: sha, Task: "deploy:" + service,
		Payload: rampPayloadOf(service)}, states...)
}

// seeded is the Deployment seedRamp adds, with its statuses.
func seeded(id int64, env, service, sha string, statuses ...ghubtest.DeploymentStatus) ghubtest.Deployment {
	return ghubtest.Deployment{ID: id, Ref: sha, Task: "deploy:" + service, Environment: env, Desc: "seeded",
		Payload: rampPayloadOf(service), Statuses: statuses}
}

// seededStatus is a status seedRamp gave.
func seededStatus(state string) ghubtest.DeploymentStatus {
	return ghubtest.DeploymentStatus{State: state, Description: "seeded " + state}
}

// previous is the earlier successful deployment of web every test seeds
// (with seedPrevious).
func previous(more ...ghubtest.DeploymentStatus) ghubtest.Deployment {
	return seeded(1001, "production", "web", oldSHA, append([]ghubtest.DeploymentStatus{seededStatus("success")}, more...)...)
}

func seedPrevious(f *ghubtest.Fake) int64 { return seedRamp(f, "production", "web", oldSHA, "success") }

// warnings collects warnings safely.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, s)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

// report feeds events to a reporter on the fake and closes it.
func report(t *testing.T, f *ghubtest.Fake, events []engine.Event, edit func(*Options)) (*Reporter, []string, []int64) {
	t.Helper()
	var w warnings
	var mu sync.Mutex
	var created []int64
	opts := Options{Client: newClient(t, f), Owner: "acme", Repo: "shop", SHA: headSHA, Environment: "production",
		RolloutID: "r-42", RunURL: runURL, Warn: w.add, Timeout: callTimeout, OnDeployment: func(id int64) {
			mu.Lock()
			defer mu.Unlock()
			created = append(created, id)
		}}
	if edit != nil {
		edit(&opts)
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.calls.delay = time.Millisecond
	var sink engine.Sink = r.Event
	for _, ev := range events {
		sink(ev)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return r, w.all(), created
}

// noToken fails the test if the token shows anywhere in texts.
func noToken(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, testToken) || strings.Contains(s, testToken[4:]) {
			t.Errorf("the token leaked into %q", s)
		}
	}
}

func TestReporterRecordsRollouts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		events       []engine.Event
		statuses     []ghubtest.Status
		deployments  []ghubtest.Deployment
		deploymentID int64
	}{{
		name:   "promoted",
		events: promotedCanary(),
		statuses: append(at50Statuses[:5:5],
			status("pending", "canary 50% — error-rate 0.15% ok"),
			status("success", "canary promoted v2 to 100%")),
		deployments: []ghubtest.Deployment{
			previous(ghubtest.DeploymentStatus{State: "inactive", Description: "superseded by deployment 1002 of def5678"}),
			deployment(dstatus("success", "canary promoted v2 to 100%", svcURL)),
		},
		deploymentID: 1002,
	}, {
		name:   "rolled back",
		events: rolledBackCanary(),
		statuses: append(at50Statuses[:5:5], status("failure",
			"canary rolled back from 50%: error-rate failed 2 times in a row (failure-threshold 2): error-rate = 6.75% (threshold <= 1%, 402 samples ove…")),
		deployments: []ghubtest.Deployment{previous(), deployment(dstatus("failure",
			"canary rolled back from 50%: error-rate failed 2 times in a row (failure-threshold 2): error-rate = 6.75% (threshold <= 1%, 402 samples ove…", ""))},
		deploymentID: 1002,
	}, {
		name:     "cancelled",
		events:   cancelledCanary(),
		statuses: append(startStatuses[:3:3], status("error", "canary cancelled at 10%; all traffic is back on the stable revision")),
		deployments: []ghubtest.Deployment{previous(), deployment(dstatus("error",
			"canary cancelled at 10%; all traffic is back on the stable revision", ""))},
		deploymentID: 1002,
	}, {
		name:     "paused",
		events:   pausedCanary(),
		statuses: append(startStatuses[:2:2], status("pending", "canary paused at 10%: the plan pauses here")),
		deployments: []ghubtest.Deployment{previous(), deployment(dstatus("in_progress",
			"canary paused at 10%: the plan pauses here", ""))},
		deploymentID: 1002,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			seedPrevious(f)
			r, warns, created := report(t, f, tc.events, nil)
			got := f.Snapshot()
			if diff := cmp.Diff(tc.statuses, got.Statuses); diff != "" {
				t.Errorf("commit statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.deployments, got.Deployments); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
			if len(warns) != 0 || got.Unauthed != 0 {
				t.Errorf("warnings %q, %d calls without the token", warns, got.Unauthed)
			}
			if diff := cmp.Diff([]int64{tc.deploymentID}, created); diff != "" || r.DeploymentID() != tc.deploymentID {
				t.Errorf("DeploymentID() = %d, OnDeployment got %v, want %d", r.DeploymentID(), created, tc.deploymentID)
			}
		})
	}
}
