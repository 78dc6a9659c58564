package ecs

import (
	"errors"
	"strings"
	"testing"
	"time"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
)

// modeCase is one way of running the provider: a seed of the service and
// a process for it.
type modeCase struct {
	name    string
	seed    func(*fake.Seed)
	process func(*testEnv, *testing.T) *Provider
}

// modes are the provider's three ways: mode tasksets, mode native (ECS's
// CANARY at 10%) and strategy rolling (ECS's rolling update).
var modes = []modeCase{
	{"tasksets", func(*fake.Seed) {}, (*testEnv).provider},
	{"native", onECS, func(e *testEnv, t *testing.T) *Provider { return e.nativeProvider(t, 10, 100) }},
	{"rolling", rollingService(true), (*testEnv).rollingProvider},
}

// TestErrorsNameTheLocationEachMode checks, in every mode, that a call
// AWS denies and a cluster or service that does not exist are errors
// naming the cluster, the service and the region, wrapping the sentinel
// their code means: for Status, and for the calls only mode native and
// strategy rolling make (DescribeServiceDeployments, UpdateService).
func TestErrorsNameTheLocationEachMode(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		for _, tc := range []struct {
			name    string
			cfg     func(*providers.Config)
			deny    string // SERVICE:OPERATION
			want    error
			cluster string
			call    string
		}{
			{"permission denied", nil, "ecs:DescribeServices", providers.ErrPermission, "prod", "Status"},
			{"no such cluster", func(c *providers.Config) { c.Cluster = "staging" }, "", providers.ErrNotFound, "staging", "Status"},
			{"no such service", func(c *providers.Config) { c.Service = "api" }, "", providers.ErrNotFound, "prod", "Status"},
			{"deploy denied", nil, "ecs:RegisterTaskDefinition", providers.ErrPermission, "prod", "Deploy"},
		} {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				bubble(t, func(t *testing.T, e *testEnv) {
					if tc.cfg != nil {
						tc.cfg(&e.cfg)
					}
					if svc, op, ok := strings.Cut(tc.deny, ":"); ok {
						e.w.Deny(svc, op)
					}
					p := m.process(e, t)
					var err error
					switch {
					case tc.call == "Status":
						_, err = p.Status(t.Context())
					case m.name == "rolling":
						_, err = p.Stage(t.Context(), providers.Artifact{Image: nextImage})
					default:
						_, err = p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
					}
					if !errors.Is(err, tc.want) {
						t.Fatalf("%s: %v, want %v", tc.call, err, tc.want)
					}
					for _, want := range []string{`service "` + e.cfg.Service + `"`, `cluster "` + tc.cluster + `"`, `region "us-east-1"`} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not name %s", err, want)
						}
					}
				}, m.seed)
			})
		}
	}
	for _, op := range []string{"DescribeServiceDeployments", "UpdateService"} {
		t.Run("native/"+op+" denied", func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.w.Deny("ecs", op)
				if op == "DescribeServiceDeployments" { // a deployment to describe
					if _, err := e.nativeProvider(t, 10, 100).Deploy(t.Context(), providers.Artifact{Image: nextImage}); err == nil {
						t.Fatal("deploy with DescribeServiceDeployments denied succeeded")
					}
				}
				_, err := e.nativeProvider(t, 10, 100).Deploy(t.Context(), providers.Artifact{Image: nextImage})
				if !errors.Is(err, providers.ErrPermission) || !strings.Contains(err.Error(), `service "web" (cluster "prod", region "us-east-1")`) {
					t.Fatalf("deploy: %v, want ErrPermission naming the service", err)
				}
			}, onECS)
		})
	}
}

// TestPausedPromotedFromSecondProcess pauses a rollout in every mode
// after its first step, lets the process go, and promotes it from a
// second process, which reads the record on the service: mode tasksets
// at 10% of the weights, mode native at ECS's PAUSE hook. Strategy
// rolling refuses the pause (ECS's rolling update has none and goes on
// replacing tasks): its rollout, left by its process after the first
// batch, is promoted from a second process, which waits for ECS's end.
func TestPausedPromotedFromSecondProcess(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				ctx := t.Context()
				first := m.process(e, t)
				rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: "web:1"}
				step := providers.Transition{Action: providers.ActionShift, Weight: 10}
				var rev providers.Revision
				var err error
				if m.name == "rolling" {
					rec.Strategy = strategyRolling
					rev, err = first.Stage(ctx, providers.Artifact{Image: nextImage})
					rec.Instances, step = 2, providers.Transition{Action: providers.ActionReplace, Weight: 50, Instances: 2, Surge: 1}
				} else {
					rev, err = first.Deploy(ctx, providers.Artifact{Image: nextImage, Revision: "v2"})
				}
				if err != nil {
					t.Fatal(err)
				}
				if m.name == "tasksets" {
					rec.Stable = e.w.TaskSets("prod", "web")[0].ID
				}
				rec.Candidate = rev.ID
				apply(t, first, &rec, providers.Transition{Action: providers.ActionRecord})
				rec.Weight, step.Revision = step.Weight, rev.ID
				apply(t, first, &rec, step)
				paused := rec
				paused.Phase = providers.PhasePaused
				if m.name == "rolling" { // ECS's rolling update has no pause: the rollout stays progressing
					if _, err := first.Apply(ctx, providers.Transition{Action: providers.ActionRecord, Record: paused}); !errors.Is(err, providers.ErrInvalid) ||
						!strings.Contains(err.Error(), "cannot be paused") {
						t.Fatalf("pause of a rolling update: %v, want it refused", err)
					}
				} else {
					rec = paused
					apply(t, first, &rec, providers.Transition{Action: providers.ActionRecord})
				}
				time.Sleep(30 * time.Minute) // the first process is gone

				second := m.process(e, t)
				st, err := second.Status(ctx)
				if err != nil || st.Rollout.Phase != rec.Phase || st.Candidate == nil || st.Candidate.ID != rev.ID || st.Weight < step.Weight {
					t.Fatalf("status from a second process: %+v %v", st, err)
				}
				rec = st.Rollout
				rec.Phase, rec.Weight = providers.PhasePromoted, 100
				apply(t, second, &rec, providers.Transition{Action: providers.ActionPromote, Revision: rev.ID, KeepPrevious: time.Hour})
				if st, err = second.Status(ctx); err != nil || st.Stable == nil || st.Stable.ID != rev.ID || st.Candidate != nil || st.Rollout.Phase != providers.PhasePromoted {
					t.Fatalf("after the promotion from a second process: %+v %v", st, err)
				}
			}, m.seed)
		})
	}
}
