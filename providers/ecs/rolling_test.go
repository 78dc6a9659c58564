package ecs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// rollingService is a service of 4 tasks on the ECS controller behind one
// target group, its circuit breaker (with rollback) on when breaker is
// set.
func rollingService(breaker bool) func(*fake.Seed) {
	return func(s *fake.Seed) {
		s.Controller, s.DesiredCount, s.TargetGroups, s.CircuitBreaker = fake.ControllerECS, 4, s.TargetGroups[:1], breaker
	}
}

// rollingProvider is a mode native process running strategy rolling.
func (e *testEnv) rollingProvider(t *testing.T) *Provider {
	t.Helper()
	cfg := e.cfg
	cfg.Mode, cfg.Strategy, cfg.TargetGroups, cfg.ReadyTimeout = modeNative, strategyRolling, nil, 5*time.Minute
	p, err := NewWithConfig(cfg, e.awsConfig())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rollingPlan replaces n tasks 25% surge and 25% unavailable at a time.
func rollingPlan(t *testing.T, n int) strategies.Plan {
	t.Helper()
	plan, err := strategies.New(strategies.Spec{Strategy: strategies.Rolling, Instances: n, MaxSurge: "25%", MaxUnavailable: "25%",
		Interval: time.Minute, FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestRollingEngine runs the real engine with strategy rolling on ECS's
// own rolling update: promoted once ECS replaced every task (max-surge
// and max-unavailable as maximumPercent and minimumHealthyPercent, the
// circuit breaker kept); a failing gate stopped with ECS's rollback while
// the update runs, or undone by deploying the stable task definition
// again once ECS completed it; a candidate whose tasks never pass their
// health checks rolled back by ECS's circuit breaker, which ramp reports
// as rolled back; without a circuit breaker, stopped by ramp when
// ready-timeout runs out.
func TestRollingEngine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		image   string
		breaker bool
		polls   int // describes a batch takes to turn healthy
		failAt  int
		outcome engine.Outcome
		stable  string
		says    string
		calls   map[string]int // the UpdateService and StopServiceDeployment calls made
	}{
		{"promoted", nextImage, true, 2, 0, engine.OutcomePromoted, "web:2", "every step passed", map[string]int{"UpdateService": 1}},
		{"gate fails while ECS replaces", nextImage, true, 40, 50, engine.OutcomeRolledBack, "web:1", "probe",
			map[string]int{"UpdateService": 1, "StopServiceDeployment": 1}},
		{"gate fails after ECS completed", nextImage, true, 1, 50, engine.OutcomeRolledBack, "web:1", "probe", map[string]int{"UpdateService": 2}},
		{"circuit breaker", "registry.example/web:unhealthy", true, 2, 0, engine.OutcomeRolledBack, "web:1", "Circuit breaker", map[string]int{"UpdateService": 1}},
		{"never healthy, no circuit breaker", "registry.example/web:unhealthy", false, 2, 0, engine.OutcomeRolledBack, "web:1", "ready-timeout",
			map[string]int{"UpdateService": 1, "StopServiceDeployment": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.w.SetPolls(fake.DefaultStabilizePolls, tc.polls)
				p := e.rollingProvider(t)
				ctx := t.Context()
				n, err := p.Instances(ctx)
				if err != nil || n != 4 {
					t.Fatalf("instances %d, %v", n, err)
				}
				eng := &engine.Engine{Provider: p, Service: "web", Gates: []gates.Gate{stepGate{failAt: tc.failAt}},
					Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute,
					Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second}}
				res := eng.Deploy(ctx, rollingPlan(t, n), providers.Artifact{Image: tc.image}, providers.Rollout{ID: "r1", Commit: "c0ffee1"})
				if res.Outcome != tc.outcome || !strings.Contains(res.Reason, tc.says) {
					t.Fatalf("outcome %s (%s), want %s saying %q", res.Outcome, res.Reason, tc.outcome, tc.says)
				}
				st, err := p.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if st.Stable == nil || st.Stable.ID != tc.stable || st.Candidate != nil || st.Rollout.Intent != nil {
					t.Fatalf("after %s: %+v", tc.outcome, st)
				}
				v, err := p.readNative(ctx, "read")
				if err != nil {
					t.Fatal(err)
				}
				c := v.svc.DeploymentConfiguration
				if c == nil || c.Strategy != "ROLLING" || aws.ToInt32(c.MaximumPercent) != 125 || aws.ToInt32(c.MinimumHealthyPercent) != 75 ||
					tc.breaker && (c.DeploymentCircuitBreaker == nil || !c.DeploymentCircuitBreaker.Rollback) {
					t.Fatalf("deployment configuration %+v", c)
				}
				if nativeRevision(aws.ToString(v.svc.TaskDefinition)) != tc.stable {
					t.Fatalf("the service runs %s", aws.ToString(v.svc.TaskDefinition))
				}
				calls := e.w.Calls()
				for _, op := range []string{"UpdateService", "StopServiceDeployment"} {
					if calls["ecs:"+op] != tc.calls[op] {
						t.Errorf("%s called %d times, want %d", op, calls["ecs:"+op], tc.calls[op])
					}
				}
			}, rollingService(tc.breaker))
		})
	}
}

// TestRollingRefusals: strategy rolling in mode tasksets is an input
// error naming mode native; a rolling update on a service that runs no
// task is refused; a deploy while a service deployment runs is a conflict.
func TestRollingRefusals(t *testing.T) {
	t.Parallel()
	cfg := providers.Config{Service: "web", Listener: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
		Strategy: strategyRolling}
	var ie *input.Error
	if _, err := New(cfg); !errors.As(err, &ie) || !strings.Contains(err.Error(), "set mode native") {
		t.Errorf("rolling in mode tasksets: %v", err)
	}
	cfg.Mode, cfg.TaskDefinition = modeNative, "testdata/missing.json"
	if _, err := New(cfg); err == nil || strings.Contains(err.Error(), "applies to mode tasksets") {
		t.Errorf("rolling takes a task-definition file (this one is missing): %v", err)
	}
	bubble(t, func(t *testing.T, e *testEnv) {
		e.w.SetPolls(fake.DefaultStabilizePolls, 20)
		p := e.rollingProvider(t)
		ctx := t.Context()
		cand, err := p.Stage(ctx, providers.Artifact{Image: nextImage})
		if err != nil || cand.ID != "web:2" {
			t.Fatalf("stage: %+v %v", cand, err)
		}
		rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Strategy: strategyRolling, Stable: "web:1", Candidate: cand.ID}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRecord})
		st, err := p.Status(ctx)
		if err != nil || st.Candidate == nil || st.Candidate.ID != "web:2" || st.Instances == nil || st.Instances.Candidate != 0 || st.Weight != 0 {
			t.Fatalf("status of a staged candidate: %+v %v", st, err)
		}
		rec.Weight, rec.Instances = 50, 2
		apply(t, p, &rec, providers.Transition{Action: providers.ActionReplace, Revision: cand.ID, Weight: 50, Instances: 2, Surge: 1})
		if st, err = p.Status(ctx); err != nil || st.Instances == nil || !st.Instances.Ahead(2) {
			t.Fatalf("status after the first replace: %+v %v", st, err)
		}
		if _, err := e.rollingProvider(t).Stage(ctx, providers.Artifact{Image: "registry.example/web:v3"}); !errors.Is(err, providers.ErrConflict) {
			t.Fatalf("stage while ECS replaces tasks: %v", err)
		}
	}, rollingService(true))
}
