package ghub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v75/github"
)

// scanDeployments bounds the deployments looked at, newest first, for the
// previous deployment of a service to the environment, and for the
// deployment of a commit in FindDeployment: one page.
const scanDeployments = 50

// rampTool is the tool the payload of ramp's deployments names.
const rampTool = "ramp"

// deployTask is the task of a deployment of service: "deploy:<service>",
// or "deploy" when the service is unknown.
func deployTask(service string) string {
	if service == "" {
		return "deploy"
	}
	return "deploy:" + service
}

// startDeployment creates the deployment, unless the reporter resumes one,
// and marks it in progress.
func (r *Reporter) startDeployment(a action) {
	id := r.deployment.Load()
	if id == 0 {
		err := r.calls.callN(r.ctx, r.deployments, "create the deployment", 1, func(ctx context.Context) error {
			d, _, err := r.opts.Client.Repositories.CreateDeployment(ctx, r.opts.Owner, r.opts.Repo, &github.DeploymentRequest{
				Ref:              github.Ptr(r.opts.SHA),
				Task:             github.Ptr(deployTask(a.service)),
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

// deploymentStatus posts a status on deployment id. A success does not
// retire earlier deployments (auto_inactive is off, for GitHub would retire
// those of every service in the environment): retirePrevious does, for the
// service only, once the rollout is over.
func (r *Reporter) deploymentStatus(id int64, a action) {
	if id == 0 {
		return // no deployment was created or given
	}
	_ = r.calls.call(r.ctx, r.deployments, "set the deployment status", func(ctx context.Context) error {
		_, _, err := r.opts.Client.Repositories.CreateDeploymentStatus(ctx, r.opts.Owner, r.opts.Repo, id,
			&github.DeploymentStatusRequest{
				State:          github.Ptr(a.state),
				LogURL:         optional(r.opts.RunURL),
				Description:    github.Ptr(a.desc),
				EnvironmentURL: optional(a.envURL),
				AutoInactive:   noAutoInactive(a.state),
			})
		return err
	})
}

// noAutoInactive turns GitHub's auto_inactive off for a success.
func noAutoInactive(state string) *bool {
	if state != stateSuccess {
		return nil
	}
	return github.Ptr(false)
}

// supersededPrefix starts the description of the inactive status
// retirePrevious gives the previous deployment for deployment current; it
// is how revivePrevious knows which deployment it may restore.
func supersededPrefix(current int64) string {
	return fmt.Sprintf("superseded by deployment %d ", current)
}

// retirePrevious marks inactive the latest earlier ramp deployment of the
// service to the environment whose last status is success: the rollout is
// over and promoted, so it no longer serves. One already inactive (retired
// before, or by GitHub's auto_inactive) ends the search.
func (r *Reporter) retirePrevious(a action) {
	current := r.deployment.Load()
	if current == 0 {
		return
	}
	earlier, err := r.earlier(current, a.service)
	if err != nil {
		return
	}
	for _, d := range earlier {
		st, err := r.lastStatus(d.GetID())
		switch {
		case err != nil || st.GetState() == stateInactive:
			return
		case st.GetState() != stateSuccess:
			continue // never went live
		}
		desc := clip(fmt.Sprintf("%sof %s", supersededPrefix(current), short(r.opts.SHA)), maxDescription)
		_ = r.calls.call(r.ctx, r.deployments, "mark the previous deployment inactive", func(ctx context.Context) error {
			_, _, err := r.opts.Client.Repositories.CreateDeploymentStatus(ctx, r.opts.Owner, r.opts.Repo, d.GetID(),
				&github.DeploymentStatusRequest{State: github.Ptr(stateInactive), Description: github.Ptr(desc)})
			return err
		})
		return
	}
}

// revivePrevious marks successful again the earlier ramp deployment of the
// service that retirePrevious retired for the current one: the current
// deployment had been promoted and was rolled back, so the previous version
// is live again. A deployment retired by anyone else, or live already, is
// left as it is.
func (r *Reporter) revivePrevious(a action) {
	current := r.deployment.Load()
	if current == 0 {
		return
	}
	earlier, err := r.earlier(current, a.service)
	if err != nil {
		return
	}
	for _, d := range earlier {
		st, err := r.lastStatus(d.GetID())
		switch {
		case err != nil:
			return
		case st.GetState() == stateInactive && strings.HasPrefix(st.GetDescription(), supersededPrefix(current)):
			// retired for this deployment: restore it below
		case st.GetState() == stateSuccess || st.GetState() == stateInactive:
			return // live already, or not retired by us for this deployment
		default:
			continue // never went live
		}
		desc := clip(fmt.Sprintf("live again: deployment %d of %s was rolled back", current, short(r.opts.SHA)), maxDescription)
		_ = r.calls.call(r.ctx, r.deployments, "mark the previous deployment live again", func(ctx context.Context) error {
			_, _, err := r.opts.Client.Repositories.CreateDeploymentStatus(ctx, r.opts.Owner, r.opts.Repo, d.GetID(),
				&github.DeploymentStatusRequest{State: github.Ptr(stateSuccess), Description: github.Ptr(desc),
					LogURL: optional(r.opts.RunURL), EnvironmentURL: optional(a.envURL), AutoInactive: noAutoInactive(stateSuccess)})
			return err
		})
		return
	}
}

// earlier lists the ramp deployments of service to the environment made
// before deployment current, newest first. An unknown service is read from
// the current deployment's payload; if it stays unknown, no deployment is
// listed, for none can be told to be the service's.
func (r *Reporter) earlier(current int64, service string) ([]*github.Deployment, error) {
	var list []*github.Deployment
	err := r.calls.call(r.ctx, r.deployments, "list the environment's deployments", func(ctx context.Context) error {
		var err error
		list, _, err = r.opts.Client.Repositories.ListDeployments(ctx, r.opts.Owner, r.opts.Repo,
			&github.DeploymentsListOptions{Environment: r.opts.Environment, ListOptions: github.ListOptions{PerPage: scanDeployments}})
		return err
	})
	if err != nil {
		return nil, err
	}
	if service == "" {
		for _, d := range list {
			if p, ok := rampPayload(d.Payload); ok && d.GetID() == current {
				service = p.Service
			}
		}
	}
	if service == "" {
		return nil, nil
	}
	var out []*github.Deployment
	for _, d := range list {
		if d.GetID() < current && isRampDeployment(d, service) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *github.Deployment) int { return cmp.Compare(b.GetID(), a.GetID()) })
	return out, nil
}

// lastStatus returns a deployment's latest status, or nil if it has none.
func (r *Reporter) lastStatus(id int64) (*github.DeploymentStatus, error) {
	var sts []*github.DeploymentStatus
	err := r.calls.call(r.ctx, r.deployments, "read a deployment's statuses", func(ctx context.Context) error {
		var err error
		sts, _, err = r.opts.Client.Repositories.ListDeploymentStatuses(ctx, r.opts.Owner, r.opts.Repo, id,
			&github.ListOptions{PerPage: 1})
		return err
	})
	if err != nil || len(sts) == 0 {
		return nil, err
	}
	return sts[0], nil
}

// rampPayload reads the payload of a deployment ramp made: a JSON object,
// or a string holding one, naming ramp as its tool.
func rampPayload(raw json.RawMessage) (deploymentPayload, bool) {
	var p deploymentPayload
	if json.Unmarshal(raw, &p) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &p) != nil {
			return deploymentPayload{}, false
		}
	}
	return p, p.Tool == rampTool
}

// isRampDeployment reports whether ramp made d for service ("" is any
// service).
func isRampDeployment(d *github.Deployment, service string) bool {
	p, ok := rampPayload(d.Payload)
	return ok && (service == "" || p.Service == service)
}

// FindDeployment returns the ID of the latest deployment ramp made of sha
// to environment for service, or 0 when there is none (or sha is empty), so
// that a later process (a pull-request command, a post step that lost its
// state) can report on it through Options.DeploymentID, with
// Options.Service set to the same service.
//
// Deployments of other tools are never returned, nor of other services
// when service is given. Pass it: service is variadic only so that callers
// written before it still build, and without it the latest of ramp's
// deployments of sha to environment, whatever its service, is returned.
//
// Each try is bounded by DefaultTimeout, whatever ctx allows, and a
// transient failure is tried once more, so that a hung GitHub API cannot
// hold up the rollback that follows.
func FindDeployment(ctx context.Context, c *github.Client, owner, repo, environment, sha string, service ...string) (int64, error) {
	if len(service) > 1 {
		return 0, fmt.Errorf("ghub: FindDeployment takes one service, not %d", len(service))
	}
	if sha == "" {
		return 0, nil
	}
	svc := ""
	if len(service) == 1 {
		svc = service[0]
	}
	var list []*github.Deployment
	err := newCaller(0, nil).read(ctx, func(ctx context.Context) error {
		var err error
		list, _, err = c.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{
			SHA: sha, Environment: environment, ListOptions: github.ListOptions{PerPage: scanDeployments}})
		return err
	})
	if err != nil {
		return 0, redactErr(fmt.Errorf("list the deployments of %s to %q: %w", short(sha), environment, err))
	}
	var found int64
	for _, d := range list {
		if isRampDeployment(d, svc) {
			found = max(found, d.GetID())
		}
	}
	return found, nil
}
