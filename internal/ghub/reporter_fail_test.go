package ghub

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/strategies"
)

// statusesOff is the warning for a token without `statuses: write`.
const statusesOff = "GitHub commit statuses are off for this run: could not set the commit status: " +
	"GitHub answered 403 Resource not accessible by integration: the token needs `statuses: write` " +
	"(add it to the workflow's `permissions:`). The rollout goes on."

// survivalCase is a GitHub failure during a promoted rollout.
type survivalCase struct {
	name     string
	fail     map[string]int
	leak     bool
	warnings []string // substrings, one per warning, in order
	calls    map[string]int
	statuses int
	deployed bool // the deployment was created and promoted
}

var survivalCases = []survivalCase{{
	name:     "403 on statuses",
	fail:     map[string]int{"statuses": http.StatusForbidden},
	warnings: []string{statusesOff},
	calls:    map[string]int{"statuses": 1, "deployments": 6},
	deployed: true,
}, {
	name:     "404 on deployments",
	fail:     map[string]int{"deployments": http.StatusNotFound},
	warnings: []string{"GitHub deployments are off for this run: could not create the deployment: GitHub answered 404 Not Found: the token needs `deployments: write`"},
	calls:    map[string]int{"statuses": 7, "deployments": 1},
	statuses: 7,
}, {
	name:     "403 on both",
	fail:     map[string]int{"statuses": http.StatusForbidden, "deployments": http.StatusForbidden},
	warnings: []string{"`statuses: write`", "`deployments: write`"},
	calls:    map[string]int{"statuses": 1, "deployments": 1},
}, {
	name: "API down",
	fail: map[string]int{"*": http.StatusServiceUnavailable},
	warnings: []string{
		"GitHub commit statuses are off for this run: could not set the commit status: the GitHub API is unavailable (503 Service Unavailable). The rollout goes on.",
		"GitHub deployments are off for this run: could not create the deployment: the GitHub API is unavailable (503 Service Unavailable). The rollout goes on.",
	},
	calls: map[string]int{"statuses": 2, "deployments": 1}, // a status is tried twice; a deployment is never created twice
}, {
	name:     "a server that echoes the token",
	fail:     map[string]int{"statuses": http.StatusForbidden},
	leak:     true,
	warnings: []string{"`statuses: write`"},
	calls:    map[string]int{"statuses": 1, "deployments": 6},
	deployed: true,
}}

func TestReporterSurvivesGitHub(t *testing.T) {
	t.Parallel()
	for _, tc := range survivalCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			seedPrevious(f)
			for family, code := range tc.fail {
				f.Fail(family, code)
			}
			f.EchoAuth(tc.leak)
			_, warns, _ := report(t, f, promotedCanary(), nil)
			noToken(t, warns...)
			if len(warns) != len(tc.warnings) {
				t.Fatalf("got %d warnings, want %d: %q", len(warns), len(tc.warnings), warns)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warns[i], w)
				}
			}
			got := f.Snapshot()
			if diff := cmp.Diff(tc.calls, got.CallsPerFamily()); diff != "" {
				t.Errorf("calls per family (-want +got):\n%s\n%s", diff, got)
			}
			if len(got.Statuses) != tc.statuses {
				t.Errorf("%d commit statuses recorded, want %d", len(got.Statuses), tc.statuses)
			}
			if tc.deployed {
				want := []ghubtest.Deployment{
					previous(ghubtest.DeploymentStatus{State: "inactive", Description: "superseded by deployment 1002 of def5678"}),
					deployment(dstatus("success", "canary promoted v2 to 100%", svcURL)),
				}
				if diff := cmp.Diff(want, got.Deployments); diff != "" {
					t.Errorf("deployments (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestReporterResumesDeployment(t *testing.T) {
	t.Parallel()
	rolledBack := []engine.Event{
		&engine.RolledBack{From: 50, Reason: "rolled back by alice"},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: "rolled back by alice", Stable: "v1"}},
	}
	resumed := []engine.Event{
		&engine.Started{Service: "web", Strategy: "canary", Stable: "v1", Candidate: "v2", ServiceURL: svcURL, Resumed: true,
			Plan: strategies.Plan{Strategy: "canary", Steps: []strategies.Step{promote}}},
		&engine.StepStarted{Index: 4, Total: 5, Step: promote},
		&engine.Promoted{Revision: "v2"},
		&engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Stable: "v2", Weight: 100, URL: svcURL}},
	}
	cases := []struct {
		name     string
		events   []engine.Event
		statuses []ghubtest.Status
		ours     []ghubtest.DeploymentStatus
		previous []ghubtest.DeploymentStatus
		edit     func(*Options)
	}{{
		name:     "a rollback command without a Started event",
		events:   rolledBack,
		statuses: []ghubtest.Status{status("failure", "rollout rolled back from 50%: rolled back by alice")},
		ours:     []ghubtest.DeploymentStatus{dstatus("failure", "rollout rolled back from 50%: rolled back by alice", "")},
		edit:     func(o *Options) { o.Context = "ramp/web" },
	}, {
		name:     "a rollback command naming the service",
		events:   rolledBack,
		statuses: []ghubtest.Status{status("failure", "rollout rolled back from 50%: rolled back by alice")},
		ours:     []ghubtest.DeploymentStatus{dstatus("failure", "rollout rolled back from 50%: rolled back by alice", "")},
		edit:     func(o *Options) { o.Service = "web" },
	}, {
		name:   "a resumed rollout",
		events: resumed,
		statuses: []ghubtest.Status{
			status("pending", "canary rollout of web resumed: candidate v2"),
			status("success", "canary promoted v2 to 100%"),
		},
		ours: []ghubtest.DeploymentStatus{
			dstatus("in_progress", "resumed: canary rollout of web: candidate v2 replacing v1", ""),
			dstatus("success", "canary promoted v2 to 100%", svcURL),
		},
		previous: []ghubtest.DeploymentStatus{{State: "inactive", Description: "superseded by deployment 1002 of def5678"}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ghubtest.New(t)
			seedPrevious(f)
			id := seedRamp(f, "production", "web", headSHA, "in_progress")
			r, warns, created := report(t, f, tc.events, func(o *Options) {
				o.DeploymentID = id
				if tc.edit != nil {
					tc.edit(o)
				}
			})
			got := f.Snapshot()
			if diff := cmp.Diff(tc.statuses, got.Statuses); diff != "" {
				t.Errorf("commit statuses (-want +got):\n%s", diff)
			}
			want := []ghubtest.Deployment{previous(tc.previous...),
				seeded(id, "production", "web", headSHA, append([]ghubtest.DeploymentStatus{seededStatus("in_progress")}, tc.ours...)...)}
			if diff := cmp.Diff(want, got.Deployments); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
			if len(warns) != 0 || len(created) != 0 || r.DeploymentID() != id {
				t.Errorf("warnings %q, created %v, DeploymentID() = %d, want none, none, %d", warns, created, r.DeploymentID(), id)
			}
		})
	}
}

func TestFindDeployment(t *testing.T) {
	t.Parallel()
	const otherSHA = "0123456aaaabbbbccccddddeeeeffff000011112"
	f := ghubtest.New(t)
	seedRamp(f, "production", "web", headSHA, "failure")
	web := seedRamp(f, "production", "web", headSHA, "in_progress")
	api := seedRamp(f, "production", "api", headSHA, "in_progress")
	f.SeedDeployment("production", headSHA, "in_progress") // another tool's, the newest
	seedRamp(f, "staging", "web", headSHA, "in_progress")
	old := seedRamp(f, "production", "web", oldSHA, "success")
	cases := []struct {
		name, env, sha string
		service        []string
		want           int64
	}{
		{"the latest of the service's at the commit in the environment", "production", headSHA, []string{"web"}, web},
		{"another service's at the same commit", "production", headSHA, []string{"api"}, api},
		{"an earlier commit of the service", "production", oldSHA, []string{"web"}, old},
		{"none for a service never deployed", "production", headSHA, []string{"worker"}, 0},
		{"none for another commit", "production", otherSHA, []string{"web"}, 0},
		{"none for another environment", "preview", headSHA, []string{"web"}, 0},
		{"none without a commit", "production", "", []string{"web"}, 0},
		{"without a service, ramp's latest of any", "production", headSHA, nil, api},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := FindDeployment(t.Context(), newClient(t, f), "acme", "shop", tc.env, tc.sha, tc.service...)
			if err != nil || got != tc.want {
				t.Errorf("FindDeployment = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	t.Run("two services", func(t *testing.T) {
		t.Parallel()
		if _, err := FindDeployment(t.Context(), newClient(t, f), "acme", "shop", "production", headSHA, "web", "api"); err == nil {
			t.Error("FindDeployment with two services succeeded")
		}
	})
}

// TestFindDeploymentTimesOut checks that FindDeployment gives up on an API
// that never answers, after its own timeouts, though its context has no
// deadline.
func TestFindDeploymentTimesOut(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ctx  func(context.Context) (context.Context, context.CancelFunc)
		took time.Duration
		err  error
	}{{
		name: "no deadline",
		ctx:  func(ctx context.Context) (context.Context, context.CancelFunc) { return ctx, func() {} },
		took: 2*DefaultTimeout + 500*time.Millisecond, // two tries and the pause between
		err:  context.DeadlineExceeded,
	}, {
		name: "a shorter deadline",
		ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Second)
		},
		took: time.Second,
		err:  context.DeadlineExceeded,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, err := NewClient(&http.Client{Transport: hangingTransport{}}, testToken, "")
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := tc.ctx(t.Context())
				defer cancel()
				start := time.Now()
				id, err := FindDeployment(ctx, c, "acme", "shop", "production", headSHA, "web")
				if id != 0 || !errors.Is(err, tc.err) {
					t.Errorf("FindDeployment = %d, %v; want 0 and %v", id, err, tc.err)
				}
				if got := time.Since(start); got != tc.took {
					t.Errorf("FindDeployment took %s, want %s", got, tc.took)
				}
			})
		})
	}
}

// hangingTransport never answers: every request waits for its context.
type hangingTransport struct{}

func (hangingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// TestReporterNeverBlocks runs against an API that never answers: the
// engine's events return at once, each capability gives up after its
// timeouts with one warning, and Close returns.
func TestReporterNeverBlocks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, err := NewClient(&http.Client{Transport: hangingTransport{}}, testToken, "https://ghes.example.com/api/v3")
		if err != nil {
			t.Fatal(err)
		}
		var w warnings
		r, err := New(Options{Client: c, Owner: "acme", Repo: "shop", SHA: headSHA, Environment: "production", Warn: w.add})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for _, ev := range promotedCanary() {
			r.Event(ev)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Event blocked for %s", d)
		}
		if err := r.Close(t.Context()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// A status: two tries and the pause between; a deployment: one try.
		if got, want := time.Since(start), 2*DefaultTimeout+500*time.Millisecond+DefaultTimeout; got != want {
			t.Errorf("reporting took %s, want %s", got, want)
		}
		warns := w.all()
		if len(warns) != 2 || !strings.Contains(warns[0], "unavailable (timed out)") || !strings.Contains(warns[1], "deployments") {
			t.Errorf("warnings = %q, want one for statuses and one for deployments, timed out", warns)
		}
	})
}

// TestReporterCloseGivesUp checks that Close returns when its context ends,
// abandoning what is left without warning about it.
func TestReporterCloseGivesUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, err := NewClient(&http.Client{Transport: hangingTransport{}}, testToken, "")
		if err != nil {
			t.Fatal(err)
		}
		var w warnings
		r, err := New(Options{Client: c, Owner: "acme", Repo: "shop", SHA: headSHA, Warn: w.add, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range promotedCanary() {
			r.Event(ev)
		}
		ctx, stop := context.WithTimeout(t.Context(), 2*time.Second)
		defer stop()
		start := time.Now()
		err = r.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "abandoned") {
			t.Errorf("Close = %v, want it abandoned on the deadline", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Close took %s, want 2s", d)
		}
		if warns := w.all(); len(warns) != 0 {
			t.Errorf("warnings after giving up: %q", warns)
		}
		r.Event(&engine.Finished{}) // after Close: ignored, no panic
	})
}
