package ecs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

func onECS(s *fake.Seed) { s.Controller = fake.ControllerECS }

// nativeProvider is a mode native process for the weights.
func (e *testEnv) nativeProvider(t *testing.T, weights ...int) *Provider {
	t.Helper()
	cfg := e.cfg
	cfg.Mode, cfg.Weights, cfg.HookTimeout, cfg.TargetGroups = modeNative, weights, time.Hour, nil
	p, err := NewWithConfig(cfg, e.awsConfig())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNativeStrategy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		weights  []int
		strategy types.DeploymentStrategy
		pct      float64
		problem  string // in the error; "" for none
	}{
		{[]int{100}, types.DeploymentStrategyBlueGreen, 100, ""},
		{[]int{10, 100}, types.DeploymentStrategyCanary, 10, ""},
		{[]int{25, 50, 75, 100}, types.DeploymentStrategyLinear, 25, ""},
		{[]int{30, 60, 90, 100}, types.DeploymentStrategyLinear, 30, ""},
		{[]int{10, 30, 100}, "", 0, "use mode tasksets"},
		{[]int{25, 50, 100}, "", 0, "stops short"},
		{[]int{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 84, 86, 88, 90, 92, 94, 96, 98, 100}, "", 0, "at least 3%"},
		{[]int{10, 50}, "", 0, "must end at 100"},
	} {
		t.Run(fmt.Sprint(tc.weights), func(t *testing.T) {
			t.Parallel()
			s, pct, err := nativeStrategy(tc.weights)
			if tc.problem != "" {
				var ie *input.Error
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), "steps") {
					t.Fatalf("error %v, want an input error on steps saying %q", err, tc.problem)
				}
				return
			}
			if err != nil || s != tc.strategy || pct != tc.pct {
				t.Fatalf("%s %g %v, want %s %g", s, pct, err, tc.strategy, tc.pct)
			}
		})
	}
}

// TestNativeModeInputs names every option mode native refuses at once.
func TestNativeModeInputs(t *testing.T) {
	t.Parallel()
	cfg := providers.Config{Service: "web", Listener: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
		Mode: modeNative, Weights: []int{10, 30, 100}, CandidateScale: 50, TaskDefinition: "td.json", HookTimeout: time.Second}
	_, err := New(cfg)
	for _, name := range []string{`"steps"`, `"candidate-scale"`, `"task-definition"`, `"hook-timeout"`} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	cfg = providers.Config{Service: "web", Listener: cfg.Listener, Mode: "rolling"}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), `"mode"`) {
		t.Errorf("mode rolling: %v", err)
	}
}

// TestNativeCanary deploys on ECS's own controller, shifts to 10% through
// the PAUSE hook and promotes; ECS's weights show on the listener and in
// Status at each step, and the hook's timeout action is shown while it
// waits.
func TestNativeCanary(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.nativeProvider(t, 10, 100)
		ctx := t.Context()
		rev, err := p.Deploy(ctx, providers.Artifact{Image: nextImage})
		if err != nil {
			t.Fatal(err)
		}
		if rev.ID != "web:2" || e.weights() != [2]int{1, 0} {
			t.Fatalf("deployed %+v, weights %v", rev, e.weights())
		}
		rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: "web:1", Candidate: rev.ID}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRecord})
		st, err := p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Candidate == nil || st.Candidate.ID != "web:2" || st.Stable.ID != "web:1" || st.Weight != 0 ||
			len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "timeout action ROLLBACK") {
			t.Fatalf("status at the first hook: %+v", st)
		}
		rec.Weight = 10
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "web:2", Weight: 10})
		if st, _ := p.Status(ctx); st.Weight != 10 || e.weights() != [2]int{90, 10} {
			t.Fatalf("after shift 10: status weight %d, listener %v", st.Weight, e.weights())
		}
		rec.Phase, rec.Weight = providers.PhasePromoted, 100
		apply(t, p, &rec, providers.Transition{Action: providers.ActionPromote, Revision: "web:2"})
		st, err = p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Stable == nil || st.Stable.ID != "web:2" || st.Candidate != nil || e.weights() != [2]int{0, 100} {
			t.Fatalf("after promotion: %+v, weights %v", st, e.weights())
		}
		if _, err := p.Apply(ctx, providers.Transition{Action: providers.ActionRevert, Revision: "web:2", Record: rec}); !errors.Is(err, providers.ErrInvalid) {
			t.Fatalf("revert in mode native: %v", err)
		}
	}, onECS)
}

// TestNativeEngine runs the real engine in mode native: a LINEAR rollout
// promoted, and one whose gate fails at 50% rolled back by ECS through
// the hook, the listener back at the stable's target group.
func TestNativeEngine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failAt  int
		outcome engine.Outcome
		weights [2]int
		stable  string
	}{
		{"promoted", 0, engine.OutcomePromoted, [2]int{0, 100}, "web:2"},
		{"rolled back at 50%", 50, engine.OutcomeRolledBack, [2]int{100, 0}, "web:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.nativeProvider(t, 25, 50, 75, 100)
				var shifted []int
				eng := &engine.Engine{Provider: p, Service: "web", Gates: []gates.Gate{stepGate{failAt: tc.failAt}},
					Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute,
					Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second},
					Events: func(ev engine.Event) {
						if _, ok := ev.(*engine.Shifted); ok {
							shifted = append(shifted, e.weights()[1])
						}
					}}
				res := eng.Deploy(t.Context(), canary(t, 0, 25, 50, 75, 100), providers.Artifact{Image: nextImage}, providers.Rollout{ID: "r1", Commit: "c0ffee1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
				}
				st, err := p.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if st.Stable == nil || st.Stable.ID != tc.stable || st.Candidate != nil || e.weights() != tc.weights {
					t.Fatalf("after %s: %+v, weights %v", tc.outcome, st, e.weights())
				}
				if len(shifted) == 0 || shifted[0] != 25 {
					t.Fatalf("listener weights at each shift: %v", shifted)
				}
			}, onECS)
		})
	}
}

// TestNativePausedOutlivesProcess leaves a deploy paused at 10%, and a
// second process promotes it; a third deploy left alone past the hook's
// timeout is rolled back by ECS itself, which Status reports.
func TestNativePausedOutlivesProcess(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		ctx := t.Context()
		first := e.nativeProvider(t, 10, 100)
		rev, err := first.Deploy(ctx, providers.Artifact{Image: nextImage})
		if err != nil {
			t.Fatal(err)
		}
		rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Stable: "web:1", Candidate: rev.ID}
		apply(t, first, &rec, providers.Transition{Action: providers.ActionRecord})
		rec.Weight = 10
		apply(t, first, &rec, providers.Transition{Action: providers.ActionShift, Revision: rev.ID, Weight: 10})
		rec.Phase = providers.PhasePaused
		apply(t, first, &rec, providers.Transition{Action: providers.ActionRecord})
		time.Sleep(30 * time.Minute) // the process is gone; the hook still waits
		second := e.nativeProvider(t)
		st, err := second.Status(ctx)
		if err != nil || st.Weight != 10 || st.Rollout.Phase != providers.PhasePaused {
			t.Fatalf("status from a second process: %+v %v", st, err)
		}
		rec = st.Rollout
		rec.Phase, rec.Weight = providers.PhasePromoted, 100
		apply(t, second, &rec, providers.Transition{Action: providers.ActionPromote, Revision: rev.ID})
		if e.weights() != [2]int{0, 100} {
			t.Fatalf("promoted from a second process: weights %v", e.weights())
		}

		third := e.nativeProvider(t, 10, 100)
		if _, err := third.Deploy(ctx, providers.Artifact{Image: "registry.example/web:v3"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(61 * time.Minute) // past the hour of hook-timeout
		st, err = third.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Candidate != nil || st.Stable == nil || st.Stable.ID != "web:2" {
			t.Fatalf("after the hook timed out: %+v", st)
		}
	}, onECS)
}

// TestNativeRefusals: a service on the EXTERNAL controller, and one with
// no alternate target group, are refused naming why; a candidate that
// never gets healthy is stopped with a rollback and the traffic untouched.
func TestNativeRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		mod   func(*fake.Seed)
		image string
		want  error
		says  string
	}{
		{"EXTERNAL controller", func(s *fake.Seed) {}, nextImage, providers.ErrInvalid, "use mode tasksets"},
		{"no alternate target group", func(s *fake.Seed) { onECS(s); s.TargetGroups = s.TargetGroups[:1] }, nextImage, providers.ErrInvalid, "alternateTargetGroupArn"},
		{"never healthy", onECS, "registry.example/web:unhealthy", providers.ErrNotReady, "no traffic was moved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.nativeProvider(t, 10, 100)
				_, err := p.Deploy(t.Context(), providers.Artifact{Image: tc.image})
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), `cluster "prod"`) {
					t.Fatalf("deploy: %v, want %v saying %q", err, tc.want, tc.says)
				}
				if w := e.w.Weights(e.s.Listener); len(e.s.TargetGroups) > 1 && w[e.s.TargetGroups[1]] != 0 {
					t.Fatalf("traffic moved: %v", w)
				}
			}, tc.mod)
		})
	}
}
