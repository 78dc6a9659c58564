package ghub

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v75/github"
)

// retireScan bounds the earlier deployments looked at for the one to mark
// inactive after a promotion.
const retireScan = 10

// startDeployment creates the deployment, unless the reporter resumes one,
// and marks it in progress.
func (r *Reporter) startDeployment(a action) {
	id := r.deployment.Load()
	if id == 0 {
		err := r.calls.callN(r.ctx, r.deployments, "create the deployment", 1, func(ctx context.Context) error {
			d, _, err := r.opts.Client.Repositories.CreateDeployment(ctx, r.opts.Owner, r.opts.Repo, &github.DeploymentRequest{
				Ref:              github.Ptr(r.opts.SHA),
				Task:             github.Ptr("deploy"),
				AutoMerge:        github.Ptr(false),
				RequiredContexts: &[]string{},
				Payload:          a.payload,
				Environment:      github.Ptr(r.opts.Environment),
				Description:      github.Ptr(a.desc),
			})
			if err != nil {
				return err
			}
			if id = d.GetID(); id == 0 {
				return errors.New("GitHub returned no deployment ID")
			}
			return nil
		})
		if err != nil {
			return
		}
		r.deployment.Store(id)
		if r.opts.OnDeployment != nil {
			r.opts.OnDeployment(id)
		}
	}
	if a.resumed {
		a.desc = clip("resumed: "+a.desc, maxDescription)
	}
	r.deploymentStatus(id, a)
}

// deploymentStatus posts a status on deployment id; a success then retires
// the previous successful deployment of the environment.
func (r *Reporter) deploymentStatus(id int64, a action) {
	if id == 0 {
		return // no deployment was created or given
	}
	err := r.calls.call(r.ctx, r.deployments, "set the deployment status", func(ctx context.Context) error {
		_, _, err := r.opts.Client.Repositories.CreateDeploymentStatus(ctx, r.opts.Owner, r.opts.Repo, id,
			&github.DeploymentStatusRequest{
				State:          github.Ptr(a.state),
				LogURL:         optional(r.opts.RunURL),
				Description:    github.Ptr(a.desc),
				EnvironmentURL: optional(a.envURL),
			})
		return err
	})
	if err == nil && a.state == stateSuccess {
		r.retirePrevious(id)
	}
}

// retirePrevious marks inactive the latest earlier deployment of the
// environment whose last status is success. GitHub may have done it already
// (auto_inactive); then its last status is inactive and nothing is posted.
func (r *Reporter) retirePrevious(current int64) {
	var list []*github.Deployment
	err := r.calls.call(r.ctx, r.deployments, "list the environment's deployments", func(ctx context.Context) error {
		var err error
		list, _, err = r.opts.Client.Repositories.ListDeployments(ctx, r.opts.Owner, r.opts.Repo,
			&github.DeploymentsListOptions{Environment: r.opts.Environment, ListOptions: github.ListOptions{PerPage: retireScan}})
		return err
	})
	if err != nil {
		return
	}
	for _, d := range list {
		if d.GetID() >= current {
			continue // this one, or a newer one
		}
		state, err := r.lastState(d.GetID())
		switch {
		case err != nil || state == stateInactive:
			return
		case state != stateSuccess:
			continue
		}
		desc := fmt.Sprintf("superseded by deployment %d of %s", current, short(r.opts.SHA))
		_ = r.calls.call(r.ctx, r.deployments, "mark the previous deployment inactive", func(ctx context.Context) error {
			_, _, err := r.opts.Client.Repositories.CreateDeploymentStatus(ctx, r.opts.Owner, r.opts.Repo, d.GetID(),
				&github.DeploymentStatusRequest{State: github.Ptr(stateInactive), Description: github.Ptr(desc)})
			return err
		})
		return
	}
}

// lastState returns the state of a deployment's latest status, or "".
func (r *Reporter) lastState(id int64) (string, error) {
	var sts []*github.DeploymentStatus
	err := r.calls.call(r.ctx, r.deployments, "read a deployment's statuses", func(ctx context.Context) error {
		var err error
		sts, _, err = r.opts.Client.Repositories.ListDeploymentStatuses(ctx, r.opts.Owner, r.opts.Repo, id,
			&github.ListOptions{PerPage: 1})
		return err
	})
	if err != nil || len(sts) == 0 {
		return "", err
	}
	return sts[0].GetState(), nil
}

// FindDeployment returns the ID of the latest deployment of sha to
// environment, or 0 when there is none, so that a later process (a
// pull-request command, a post step that lost its state) can report on it
// through Options.DeploymentID.
func FindDeployment(ctx context.Context, c *github.Client, owner, repo, environment, sha string) (int64, error) {
	list, _, err := c.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{
		SHA: sha, Environment: environment, ListOptions: github.ListOptions{PerPage: 1}})
	if err != nil {
		return 0, fmt.Errorf("list the deployments of %s to %q: %w", short(sha), environment, err)
	}
	if len(list) == 0 {
		return 0, nil
	}
	return list[0].GetID(), nil
}
