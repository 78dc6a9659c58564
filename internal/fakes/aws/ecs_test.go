package aws_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

// TestTaskSetLifecycle walks a blue/green release the way the provider
// makes it, through the real ECS and ELBv2 clients: register a task
// definition from the stable one, start a task set on the green target
// group, poll it to STEADY_STATE and its targets to healthy, make it
// primary and delete the old set.
func TestTaskSetLifecycle(t *testing.T) {
	t.Parallel()
	w, s, c := world(t)
	ctx := t.Context()
	svc, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(svc.Services); n != 1 || svc.Services[0].DeploymentController.Type != types.DeploymentControllerTypeExternal || len(svc.Services[0].TaskSets) != 1 {
		t.Fatalf("DescribeServices: %+v", svc.Services)
	}
	stable := svc.Services[0].TaskSets[0]
	td, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: stable.TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	defs := td.TaskDefinition.ContainerDefinitions
	defs[0].Image = aws.String("registry.example/web:v2")
	reg, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: td.TaskDefinition.Family, ContainerDefinitions: defs,
		Cpu: td.TaskDefinition.Cpu, Memory: td.TaskDefinition.Memory, NetworkMode: td.TaskDefinition.NetworkMode})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(reg.TaskDefinition.TaskDefinitionArn); !strings.HasSuffix(got, "task-definition/web:2") || reg.TaskDefinition.Revision != 2 {
		t.Fatalf("registered %s revision %d", got, reg.TaskDefinition.Revision)
	}
	created, err := c.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, ExternalId: aws.String("r1"),
		LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String(s.TargetGroups[1]), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
		Scale:         &types.Scale{Unit: types.ScaleUnitPercent, Value: 100}})
	if err != nil {
		t.Fatal(err)
	}
	cand := created.TaskSet
	if cand.StabilityStatus != types.StabilityStatusStabilizing || aws.ToString(cand.Status) != "ACTIVE" {
		t.Fatalf("new task set: %s %s", aws.ToString(cand.Status), cand.StabilityStatus)
	}
	polls := 0
	for ; polls < 10; polls++ {
		out, err := c.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSets: []string{aws.ToString(cand.Id)}})
		if err != nil {
			t.Fatal(err)
		}
		if out.TaskSets[0].StabilityStatus == types.StabilityStatusSteadyState {
			break
		}
	}
	if polls+1 != fake.DefaultStabilizePolls {
		t.Errorf("STEADY_STATE after %d polls, want %d", polls+1, fake.DefaultStabilizePolls)
	}
	health, err := c.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(s.TargetGroups[1])})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(health.TargetHealthDescriptions); n != 2 || health.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
		t.Errorf("targets of a steady set: %d, %+v", n, health.TargetHealthDescriptions)
	}
	if _, err := c.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), PrimaryTaskSet: cand.TaskSetArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: stable.Id}); err != nil {
		t.Fatal(err)
	}
	sets := w.TaskSets("prod", "web")
	if len(sets) != 1 || sets[0].Status != "PRIMARY" || sets[0].Image != "registry.example/web:v2" {
		t.Errorf("after the swap: %+v", sets)
	}
}

// TestECSRejects checks that the fake answers what ECS answers to calls
// it refuses, as the typed errors the SDK decodes.
func TestECSRejects(t *testing.T) {
	t.Parallel()
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	for _, tc := range []struct {
		name string
		call func(c clients, s fake.Seeded) error
		want any
	}{
		{"unknown cluster", func(c clients, _ fake.Seeded) error {
			_, err := c.ecs.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
			return err
		}, new(*types.ClusterNotFoundException)},
		{"unknown service", func(c clients, _ fake.Seeded) error {
			_, err := c.ecs.DescribeTaskSets(t.Context(), &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("nope")})
			return err
		}, new(*types.ServiceNotFoundException)},
		{"scale over 100", func(c clients, s fake.Seeded) error {
			_, err := c.ecs.UpdateTaskSet(t.Context(), &ecs.UpdateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				TaskSet: aws.String(s.PrimaryTaskSet), Scale: &types.Scale{Unit: types.ScaleUnitPercent, Value: 101}})
			return err
		}, new(*types.InvalidParameterException)},
		{"negative scale", func(c clients, s fake.Seeded) error {
			_, err := c.ecs.CreateTaskSet(t.Context(), &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				TaskDefinition: aws.String("web:1"), Scale: &types.Scale{Unit: types.ScaleUnitPercent, Value: -1}})
			return err
		}, new(*types.InvalidParameterException)},
		{"unknown task set", func(c clients, _ fake.Seeded) error {
			_, err := c.ecs.UpdateServicePrimaryTaskSet(t.Context(), &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), PrimaryTaskSet: aws.String("ecs-svc/1")})
			return err
		}, new(*types.TaskSetNotFoundException)},
		{"51 tags", func(c clients, s fake.Seeded) error {
			_, err := c.ecs.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(s.Service), Tags: manyTags})
			return err
		}, new(*types.InvalidParameterException)},
		{"a tag value of 257 characters", func(c clients, s fake.Seeded) error {
			_, err := c.ecs.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(s.Service),
				Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("x", 257))}}})
			return err
		}, new(*types.InvalidParameterException)},
		{"tags of an unknown resource", func(c clients, s fake.Seeded) error {
			_, err := c.ecs.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(s.Service + "x")})
			return err
		}, new(*types.ResourceNotFoundException)},
		{"unknown task definition", func(c clients, _ fake.Seeded) error {
			_, err := c.ecs.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:9")})
			return err
		}, new(*types.ClientException)},
		{"denied", func(c clients, _ fake.Seeded) error {
			_, err := c.ecs.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("denied:1")})
			return err
		}, new(*types.AccessDeniedException)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, s, c := world(t)
			if tc.name == "denied" {
				w.Deny("ecs", "DescribeTaskDefinition")
			}
			err := tc.call(c, s)
			if err == nil || !errors.As(err, tc.want) {
				t.Fatalf("got %v (%T), want %T", err, err, tc.want)
			}
		})
	}
}

// TestTaskSetsNeedTheExternalController checks the refusal of every
// task-set call on a service on the ECS deployment controller.
func TestTaskSetsNeedTheExternalController(t *testing.T) {
	t.Parallel()
	_, _, c := world(t, func(s *fake.Seed) { s.Controller = fake.ControllerECS })
	_, err := c.ecs.CreateTaskSet(t.Context(), &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:1")})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) || !strings.Contains(ipe.ErrorMessage(), "external deployment controller") {
		t.Fatalf("CreateTaskSet on an ECS-controlled service: %v", err)
	}
	out, err := c.ecs.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("a missing service is a failure, not an error: %+v %+v", out.Services, out.Failures)
	}
}
