package ecs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ecsAPI is the part of Amazon ECS the adapter calls; *ecs.Client
// implements it.
type ecsAPI interface {
	// DescribeServices reads services with their task sets (and tags,
	// when asked); a missing service is a failure in the answer.
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	// DescribeTaskDefinition reads a task definition, the template of the
	// candidate's.
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	// RegisterTaskDefinition registers the candidate's task definition.
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	// CreateTaskSet starts the candidate's tasks behind a target group.
	CreateTaskSet(ctx context.Context, in *ecs.CreateTaskSetInput, opts ...func(*ecs.Options)) (*ecs.CreateTaskSetOutput, error)
	// DescribeTaskSets reads task sets: their stability and task counts.
	DescribeTaskSets(ctx context.Context, in *ecs.DescribeTaskSetsInput, opts ...func(*ecs.Options)) (*ecs.DescribeTaskSetsOutput, error)
	// UpdateTaskSet changes a task set's scale.
	UpdateTaskSet(ctx context.Context, in *ecs.UpdateTaskSetInput, opts ...func(*ecs.Options)) (*ecs.UpdateTaskSetOutput, error)
	// UpdateServicePrimaryTaskSet makes a task set the service's primary.
	UpdateServicePrimaryTaskSet(ctx context.Context, in *ecs.UpdateServicePrimaryTaskSetInput, opts ...func(*ecs.Options)) (*ecs.UpdateServicePrimaryTaskSetOutput, error)
	// DeleteTaskSet drains and removes a task set.
	DeleteTaskSet(ctx context.Context, in *ecs.DeleteTaskSetInput, opts ...func(*ecs.Options)) (*ecs.DeleteTaskSetOutput, error)
	// TagResource sets tags of the service: the rollout record.
	TagResource(ctx context.Context, in *ecs.TagResourceInput, opts ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	// UntagResource removes tags of the service: a record's stale chunks.
	UntagResource(ctx context.Context, in *ecs.UntagResourceInput, opts ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error)
	// ListTagsForResource reads the service's tags: a write's check that
	// no other write of its version overlapped it.
	ListTagsForResource(ctx context.Context, in *ecs.ListTagsForResourceInput, opts ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error)
}

// deploymentsAPI is the part of Amazon ECS mode native calls: a service
// deployment on ECS's own controller, started, watched and answered;
// *ecs.Client implements it.
type deploymentsAPI interface {
	// UpdateService sets the deployment configuration and starts a service
	// deployment of a new task definition.
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opts ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	// DescribeServiceDeployments reads a deployment: its status, stage,
	// the weights of its revisions and its lifecycle hooks.
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, opts ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	// ContinueServiceDeployment answers a paused hook: CONTINUE or ROLLBACK.
	ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
	// StopServiceDeployment stops a deployment with a rollback.
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
}

// elbAPI is the part of Elastic Load Balancing v2 the adapter calls;
// *elbv2.Client implements it.
type elbAPI interface {
	// DescribeListeners reads a listener and its default actions.
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	// DescribeRules reads a listener rule and its actions.
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	// ModifyListener replaces a listener's default actions.
	ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
	// ModifyRule replaces a rule's actions (and the A/B rule's conditions).
	ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
	// CreateRule adds the A/B rule that sends a cohort to the candidate.
	CreateRule(ctx context.Context, in *elbv2.CreateRuleInput, opts ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error)
	// DeleteRule removes the A/B rule.
	DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
	// DescribeTargetHealth reads the health of a target group's targets.
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// metricsAPI is the part of CloudWatch the adapter calls;
// *cloudwatch.Client implements it.
type metricsAPI interface {
	// GetMetricData reads datapoints of several metrics at once (one page).
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var (
	_ ecsAPI         = (*ecs.Client)(nil)
	_ deploymentsAPI = (*ecs.Client)(nil)
	_ elbAPI         = (*elbv2.Client)(nil)
	_ metricsAPI     = (*cloudwatch.Client)(nil)
)
