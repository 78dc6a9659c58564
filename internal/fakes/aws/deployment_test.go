package aws_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

// nativeConfig is a deployment configuration of strategy with a PAUSE hook
// before each production traffic shift.
func nativeConfig(strategy types.DeploymentStrategy, pct float64, timeout int32, stage types.DeploymentLifecycleHookStage) *types.DeploymentConfiguration {
	c := &types.DeploymentConfiguration{Strategy: strategy, BakeTimeInMinutes: aws.Int32(0),
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages:      []types.DeploymentLifecycleHookStage{stage},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(timeout), Action: types.DeploymentLifecycleHookActionRollback}}}}
	switch strategy {
	case types.DeploymentStrategyCanary:
		c.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(pct), CanaryBakeTimeInMinutes: aws.Int32(0)}
	case types.DeploymentStrategyLinear:
		c.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(pct), StepBakeTimeInMinutes: aws.Int32(0)}
	}
	return c
}

// TestServiceDeploymentPauses drives a service on the ECS controller
// through the real ECS client: each strategy stops at its PAUSE hook
// before every production traffic shift, ContinueServiceDeployment moves
// the listener's weights by the configured step, ROLLBACK and a timed out
// hook put them back.
func TestServiceDeploymentPauses(t *testing.T) {
	t.Parallel()
	pre := types.DeploymentLifecycleHookStagePreProductionTrafficShift
	for _, tc := range []struct {
		name     string
		cfg      *types.DeploymentConfiguration
		answers  []types.DeploymentLifecycleHookAction // "" waits for the timeout
		weights  []int                                 // the green weight after each answer
		final    types.ServiceDeploymentStatus
		finalTD  string
		rollback bool
	}{
		{"canary continued", nativeConfig(types.DeploymentStrategyCanary, 10, 60, pre),
			[]types.DeploymentLifecycleHookAction{"CONTINUE", "CONTINUE"}, []int{10, 100}, types.ServiceDeploymentStatusSuccessful, "web:2", false},
		{"linear continued", nativeConfig(types.DeploymentStrategyLinear, 25, 60, pre),
			[]types.DeploymentLifecycleHookAction{"CONTINUE", "CONTINUE", "CONTINUE", "CONTINUE"}, []int{25, 50, 75, 100}, types.ServiceDeploymentStatusSuccessful, "web:2", false},
		{"canary rolled back at 10%", nativeConfig(types.DeploymentStrategyCanary, 10, 60, pre),
			[]types.DeploymentLifecycleHookAction{"CONTINUE", "ROLLBACK"}, []int{10, 0}, types.ServiceDeploymentStatusRollbackSuccessful, "web:1", true},
		{"hook timed out", nativeConfig(types.DeploymentStrategyCanary, 10, 5, pre),
			[]types.DeploymentLifecycleHookAction{"CONTINUE", ""}, []int{10, 0}, types.ServiceDeploymentStatusRollbackSuccessful, "web:1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				w := fake.NewWorld(nil)
				s := seed(t, w, func(s *fake.Seed) { s.Controller = fake.ControllerECS; s.RulePath = "" })
				c := newClients(config(fake.Doer{W: w}), "http://fake.invalid")
				ctx := t.Context()
				reg, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
					ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("registry.example/web:v2")}}})
				if err != nil {
					t.Fatal(err)
				}
				up, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
					TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, DeploymentConfiguration: tc.cfg})
				if err != nil {
					t.Fatal(err)
				}
				arn := aws.ToString(up.Service.CurrentServiceDeployment)
				describe := func() types.ServiceDeployment {
					out, err := c.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
					if err != nil || len(out.ServiceDeployments) != 1 {
						t.Fatalf("DescribeServiceDeployments %s: %v %+v", arn, err, out)
					}
					return out.ServiceDeployments[0]
				}
				awaiting := func() (types.ServiceDeployment, string) {
					for range 20 {
						d := describe()
						for _, h := range d.LifecycleHookDetails {
							if h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
								if d.LifecycleStage != "PRE_PRODUCTION_TRAFFIC_SHIFT" || h.TargetType != types.DeploymentLifecycleHookTargetTypePause || h.TimeoutAction != "ROLLBACK" {
									t.Fatalf("awaiting hook %+v at %s", h, d.LifecycleStage)
								}
								return d, aws.ToString(h.HookId)
							}
						}
					}
					t.Fatalf("no hook awaiting action: %+v", describe())
					return types.ServiceDeployment{}, ""
				}
				d, hook := awaiting()
				if got := aws.ToFloat64(d.TargetServiceRevision.RequestedProductionTrafficWeight); got != 0 || weight(w, s, 1) != 0 {
					t.Fatalf("at the first hook: target weight %v, listener %v", got, w.Weights(s.Listener))
				}
				for i, a := range tc.answers {
					if a == "" {
						time.Sleep(6 * time.Minute)
					} else if _, err := c.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String(hook), Action: a}); err != nil {
						t.Fatal(err)
					}
					if i+1 < len(tc.answers) {
						d, hook = awaiting()
					} else {
						describe()
					}
					if got := weight(w, s, 1); got != tc.weights[i] {
						t.Fatalf("after answer %d (%s): green weight %d, want %d", i, a, got, tc.weights[i])
					}
				}
				for range 10 {
					d = describe()
				}
				svc, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
				if err != nil {
					t.Fatal(err)
				}
				if d.Status != tc.final || !strings.HasSuffix(aws.ToString(svc.Services[0].TaskDefinition), tc.finalTD) || (d.Rollback != nil) != tc.rollback {
					t.Fatalf("final: %s, task definition %s, rollback %+v", d.Status, aws.ToString(svc.Services[0].TaskDefinition), d.Rollback)
				}
			})
		})
	}
}

func weight(w *fake.World, s fake.Seeded, i int) int { return w.Weights(s.Listener)[s.TargetGroups[i]] }

// TestServiceDeploymentRefusals pins what ECS refuses in a deployment
// configuration and its calls.
func TestServiceDeploymentRefusals(t *testing.T) {
	t.Parallel()
	pre := types.DeploymentLifecycleHookStagePreProductionTrafficShift
	for _, tc := range []struct {
		name string
		mod  func(*fake.Seed)
		cfg  *types.DeploymentConfiguration
		code string
	}{
		{"PAUSE at PRODUCTION_TRAFFIC_SHIFT", nil, nativeConfig(types.DeploymentStrategyCanary, 10, 60, types.DeploymentLifecycleHookStageProductionTrafficShift), "InvalidParameterException"},
		{"linear step of 2%", nil, nativeConfig(types.DeploymentStrategyLinear, 2, 60, pre), "InvalidParameterException"},
		{"canary without an alternate target group", func(s *fake.Seed) { s.TargetGroups = s.TargetGroups[:1] },
			nativeConfig(types.DeploymentStrategyCanary, 10, 60, pre), "InvalidParameterException"},
		{"on the EXTERNAL controller", func(s *fake.Seed) { s.Controller = fake.ControllerExternal },
			nativeConfig(types.DeploymentStrategyCanary, 10, 60, pre), "InvalidParameterException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, c := world(t, func(s *fake.Seed) {
				s.Controller, s.RulePath = fake.ControllerECS, ""
				if tc.mod != nil {
					tc.mod(s)
				}
			})
			_, err := c.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				TaskDefinition: aws.String("web:1"), ForceNewDeployment: true, DeploymentConfiguration: tc.cfg})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("UpdateService: %v, want %s", err, tc.code)
			}
		})
	}
	_, _, c := world(t, func(s *fake.Seed) { s.Controller = fake.ControllerECS })
	_, err := c.ecs.ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/x"), HookId: aws.String("h")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceDeploymentNotFoundException" {
		t.Fatalf("ContinueServiceDeployment of an unknown deployment: %v", err)
	}
}
