package aws_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

// TestRollingDeployment drives ROLLING service deployments through the
// real ECS client: tasks are replaced in batches that keep within
// minimumHealthyPercent and maximumPercent; an image whose tasks never
// pass their health checks trips the circuit breaker, which rolls the
// deployment back (or only stops it, without its rollback); without a
// circuit breaker it runs until StopServiceDeployment rolls it back.
func TestRollingDeployment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		image            string
		breaker          *types.DeploymentCircuitBreaker
		stop             bool
		final            types.ServiceDeploymentStatus
		finalTD, reason  string
		breakerTriggered bool
	}{
		{"replaced in batches", "registry.example/web:v2", &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			false, types.ServiceDeploymentStatusSuccessful, "web:2", "", false},
		{"circuit breaker rolls back", "registry.example/web:unhealthy", &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			false, types.ServiceDeploymentStatusRollbackSuccessful, "web:1", "Circuit breaker", true},
		{"circuit breaker without rollback stops", "registry.example/web:unhealthy", &types.DeploymentCircuitBreaker{Enable: true},
			false, types.ServiceDeploymentStatusStopped, "web:1", "Circuit breaker", true},
		{"stopped with a rollback", "registry.example/web:unhealthy", nil,
			true, types.ServiceDeploymentStatusRollbackSuccessful, "web:1", "StopServiceDeployment", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				w := fake.NewWorld(nil)
				seed(t, w, func(s *fake.Seed) { s.Controller, s.RulePath, s.DesiredCount = fake.ControllerECS, "", 4 })
				c := newClients(config(fake.Doer{W: w}), "http://fake.invalid")
				ctx := t.Context()
				reg, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
					ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(tc.image)}}})
				if err != nil {
					t.Fatal(err)
				}
				up, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
					TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, DeploymentConfiguration: &types.DeploymentConfiguration{
						Strategy: types.DeploymentStrategyRolling, MinimumHealthyPercent: aws.Int32(75), MaximumPercent: aws.Int32(125),
						DeploymentCircuitBreaker: tc.breaker}})
				if err != nil {
					t.Fatal(err)
				}
				arn := aws.ToString(up.Service.CurrentServiceDeployment)
				var d types.ServiceDeployment
				for i := range 60 {
					out, err := c.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
					if err != nil {
						t.Fatal(err)
					}
					d = out.ServiceDeployments[0]
					if d.Status == types.ServiceDeploymentStatusInProgress {
						running := d.TargetServiceRevision.RunningTaskCount + d.TargetServiceRevision.PendingTaskCount + d.SourceServiceRevisions[0].RunningTaskCount
						if healthy := d.TargetServiceRevision.RunningTaskCount + d.SourceServiceRevisions[0].RunningTaskCount; running > 5 || healthy < 3 {
							t.Fatalf("describe %d: %d tasks running or pending, %d healthy; want at most 5 (125%%) and at least 3 (75%%): %+v", i, running, healthy, d)
						}
					}
					if tc.stop && i == 5 {
						if _, err := c.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn),
							StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
							t.Fatal(err)
						}
					}
				}
				svc, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
				if err != nil {
					t.Fatal(err)
				}
				reason := aws.ToString(d.StatusReason)
				if d.Rollback != nil {
					reason = aws.ToString(d.Rollback.Reason)
				}
				if d.Status != tc.final || !strings.HasSuffix(aws.ToString(svc.Services[0].TaskDefinition), tc.finalTD) || !strings.Contains(reason, tc.reason) {
					t.Fatalf("final: %s (%q), task definition %s", d.Status, reason, aws.ToString(svc.Services[0].TaskDefinition))
				}
				if cb := d.DeploymentCircuitBreaker; (cb != nil && cb.Status == types.ServiceDeploymentRollbackMonitorsStatusTriggered) != tc.breakerTriggered {
					t.Fatalf("circuit breaker %+v, want triggered %v", cb, tc.breakerTriggered)
				}
				if tc.stop {
					_, err := c.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)})
					var ae smithy.APIError
					if !errors.As(err, &ae) || ae.ErrorCode() != "ConflictException" {
						t.Fatalf("stopping a finished deployment again: %v", err)
					}
				}
			})
		})
	}
}
