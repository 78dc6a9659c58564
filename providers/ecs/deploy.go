package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// Deploy registers a task definition from the stable task set's with a's
// image (in the container the container input names, or the only one) and
// env, starts the candidate task set with it behind the target group the
// stable does not use, at the stable's scale and with its network, and
// waits until the set reaches STEADY_STATE and its targets are healthy.
// The traffic does not move. Task sets left on that target group at 0% (a
// candidate replaced, a previous set kept warm, a retired set) are deleted
// first; one that takes traffic is an ErrConflict.
func (p *Provider) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	const action = "deploy a candidate to"
	if err := CheckArtifact(p.cfg, a); err != nil {
		return providers.Revision{}, err
	}
	if a.Image == "" {
		return providers.Revision{}, input.Missing("image")
	}
	if p.native() {
		return p.deployNative(ctx, a)
	}
	v, err := p.read(ctx, action, true)
	if err != nil {
		return providers.Revision{}, err
	}
	r, err := p.rolesOf(v)
	if err == nil {
		err = p.clear(ctx, r)
	}
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	rev := p.revisionFor(a, v)
	td, err := p.register(ctx, aws.ToString(r.stable.TaskDefinition), a)
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	ts, err := p.createSet(ctx, r, td, rev)
	p.forget()
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	p.mu.Lock()
	p.images[rev] = a.Image
	p.mu.Unlock()
	if err := p.waitReady(ctx, ts, r.candTG); err != nil {
		return providers.Revision{}, p.fail("wait for candidate "+rev+" of", err)
	}
	return providers.Revision{ID: rev, Image: a.Image, Ready: true}, nil
}

// clear deletes the task sets in the candidate's way.
func (p *Provider) clear(ctx context.Context, r roles) error {
	var gone []types.TaskSet
	if r.candidate != nil {
		gone = append(gone, *r.candidate)
	}
	if r.previous != nil {
		gone = append(gone, *r.previous)
	}
	gone = append(append(gone, r.strays...), r.retired...)
	if len(gone) > 0 && r.wc > 0 {
		return fmt.Errorf("%w: target group %s, the candidate's, takes %d%% of the traffic (task set %s); promote or roll back first",
			providers.ErrConflict, r.candTG, r.weight(), aws.ToString(gone[0].Id))
	}
	for i := range gone {
		if err := p.deleteSet(ctx, &gone[i]); err != nil {
			return err
		}
	}
	return nil
}

// revisionFor is the revision name: the one a asks for, or a new one, with
// a suffix when a task set of the service already has it.
func (p *Provider) revisionFor(a providers.Artifact, v *view) string {
	rev := a.Revision
	if rev == "" {
		return newRevision(p.cfg.Service)
	}
	for _, ts := range v.svc.TaskSets {
		if revisionOf(&ts) == rev {
			return newRevision(rev)
		}
	}
	return rev
}

// register registers the stable task definition again (or the one the
// task-definition file holds) with the new image and env in the chosen
// container.
func (p *Provider) register(ctx context.Context, stableTD string, a providers.Artifact) (string, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return "", err
	}
	in, from, err := p.template(ctx, c, stableTD)
	if err != nil {
		return "", err
	}
	defs := slices.Clone(in.ContainerDefinitions)
	i, err := p.containerIndex(defs, from)
	if err != nil {
		return "", err
	}
	defs[i].Image = aws.String(a.Image)
	defs[i].Environment = withEnv(defs[i].Environment, a.Env)
	in.ContainerDefinitions = defs
	reg, err := c.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(reg.TaskDefinition.TaskDefinitionArn), nil
}

// template is what register starts from: the task-definition file, or the
// stable task definition as ECS describes it; from names it.
func (p *Provider) template(ctx context.Context, c *clients, stableTD string) (*ecs.RegisterTaskDefinitionInput, string, error) {
	if p.cfg.TaskDefinition != "" {
		in, err := readTaskDefinition(p.cfg.TaskDefinition)
		return in, "file " + p.cfg.TaskDefinition, err
	}
	out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(stableTD),
		Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		return nil, "", err
	}
	td := out.TaskDefinition
	return &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: td.ContainerDefinitions, Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities, ExecutionRoleArn: td.ExecutionRoleArn, TaskRoleArn: td.TaskRoleArn,
		Volumes: td.Volumes, PlacementConstraints: td.PlacementConstraints, RuntimePlatform: td.RuntimePlatform,
		ProxyConfiguration: td.ProxyConfiguration, EphemeralStorage: td.EphemeralStorage, IpcMode: td.IpcMode, PidMode: td.PidMode,
		InferenceAccelerators: td.InferenceAccelerators, EnableFaultInjection: td.EnableFaultInjection,
		TrustedExecutionConfiguration: td.TrustedExecutionConfiguration, Tags: out.Tags,
	}, aws.ToString(td.TaskDefinitionArn), nil
}

// containerIndex finds the container whose image a deploy replaces.
func (p *Provider) containerIndex(defs []types.ContainerDefinition, td string) (int, error) {
	var names []string
	for i, d := range defs {
		if aws.ToString(d.Name) == p.cfg.Container {
			return i, nil
		}
		names = append(names, aws.ToString(d.Name))
	}
	switch {
	case p.cfg.Container != "":
		return 0, errors.Join(providers.ErrInvalid, input.Invalid("container", p.cfg.Container, "is not a container of task definition %s (it has %q)", td, names))
	case len(defs) == 1:
		return 0, nil
	}
	return 0, errors.Join(providers.ErrInvalid, input.Invalid("container", "", "is required: task definition %s has %d containers (%q); name the one whose image a deploy replaces", td, len(defs), names))
}

// withEnv is env with the KEY=VALUE pairs set (replacing the same names).
func withEnv(env []types.KeyValuePair, set []string) []types.KeyValuePair {
	out := slices.Clone(env)
	for _, kv := range set {
		k, val, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(p types.KeyValuePair) bool { return aws.ToString(p.Name) == k })
		if i >= 0 {
			out[i].Value = aws.String(val)
		} else {
			out = append(out, types.KeyValuePair{Name: aws.String(k), Value: aws.String(val)})
		}
	}
	return out
}

// createSet starts the candidate task set behind the candidate's target
// group, with the stable set's container, port, network, launch type or
// capacity providers, platform version and scale.
func (p *Provider) createSet(ctx context.Context, r roles, td, rev string) (*types.TaskSet, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return nil, err
	}
	s := r.stable
	lb := types.LoadBalancer{TargetGroupArn: aws.String(r.candTG)}
	if len(s.LoadBalancers) > 0 {
		lb.ContainerName, lb.ContainerPort = s.LoadBalancers[0].ContainerName, s.LoadBalancers[0].ContainerPort
	}
	scale := &types.Scale{Unit: types.ScaleUnitPercent, Value: 100}
	switch {
	case p.cfg.CandidateScale > 0:
		scale.Value = float64(p.cfg.CandidateScale)
	case s.Scale != nil:
		scale.Value = s.Scale.Value
	}
	in := &ecs.CreateTaskSetInput{Cluster: aws.String(p.cluster), Service: aws.String(p.cfg.Service), TaskDefinition: aws.String(td),
		ExternalId: aws.String(rev), LoadBalancers: []types.LoadBalancer{lb}, NetworkConfiguration: s.NetworkConfiguration,
		PlatformVersion: s.PlatformVersion, Scale: scale}
	if len(s.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = s.CapacityProviderStrategy
	} else {
		in.LaunchType = s.LaunchType
	}
	out, err := c.ecs.CreateTaskSet(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.TaskSet, nil
}
