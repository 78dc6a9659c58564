package fly

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// revisionName is what ramp takes as a revision name (a metadata value).
var revisionName = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$`)

// CheckArtifact checks, without calling anything, what a asks the Fly
// provider for: a revision name, KEY=VALUE env, and no service setting
// (the candidate's machines copy the stable ones' config). Every problem
// is an *input.Error naming the input, all of them at once.
func CheckArtifact(_ providers.Config, a providers.Artifact) error {
	var errs []error
	if a.Revision != "" && !revisionName.MatchString(a.Revision) {
		errs = append(errs, input.Invalid("revision", a.Revision, "must be 1 to 63 letters, digits, hyphens, underscores and dots"))
	}
	for _, name := range a.Settings.Set() {
		errs = append(errs, input.Invalid(a.Settings.InputOf(name), "", "is not supported by the fly provider: the candidate's machines copy the stable machines' config, with the new image and env"))
	}
	if a.Settings.EnvMode == providers.EnvReplace {
		errs = append(errs, input.Invalid("env-mode", a.Settings.EnvMode, "is not supported by the fly provider: env is added to the stable machines' environment"))
	}
	for _, kv := range a.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, input.Invalid("env", kv, "must be KEY=VALUE"))
		}
	}
	return errors.Join(errs...)
}

// Deploy starts one candidate machine beside each stable one, from its
// config with a's image and env, in its region, created without service
// registration (cordoned: it takes no traffic), and waits until each is
// started with its checks passing. A candidate left at 0% (every machine
// cordoned) is destroyed first; one taking traffic is an ErrConflict. A
// candidate whose checks do not pass within the ready timeout is
// destroyed and the deploy is an ErrNotReady: nothing was shifted.
func (p *Provider) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	const action = "deploy a candidate to"
	if err := CheckArtifact(p.cfg, a); err != nil {
		return providers.Revision{}, err
	}
	if a.Image == "" {
		return providers.Revision{}, input.Missing("image")
	}
	api, err := p.client()
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	v, err := p.read(ctx, action)
	if err != nil {
		return providers.Revision{}, err
	}
	r := p.rolesOf(v)
	if err := p.canRun(r); err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	// The plan's weights, when the caller gave them, are checked before
	// any machine is made: the machine count decides which it can give.
	if ws := between(p.cfg.Weights); len(ws) > 0 {
		if err := checkWeights(groupsOf(machinesOf(r.stable), nil), ws...); err != nil {
			return providers.Revision{}, p.fail(action, err)
		}
	}
	if err := p.clear(ctx, api, r); err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	rev := a.Revision
	if rev == "" || rev == r.stable.id {
		rev = strings.TrimSuffix(p.app[:min(len(p.app), 50)]+"-"+strings.ToLower(rand.Text()[:8]), "-")
	}
	var created []Machine
	for _, m := range r.stable.machines {
		in := LaunchInput{Config: candidateConfig(m.Config, a, rev), Region: m.Region, SkipServiceRegistration: true}
		c, err := api.Create(ctx, p.app, in)
		if err != nil {
			p.destroyAll(ctx, api, created)
			return providers.Revision{}, p.fail(action, err)
		}
		created = append(created, c)
	}
	if err := p.waitReady(ctx, api, created); err != nil {
		p.destroyAll(ctx, api, created)
		return providers.Revision{}, p.fail("wait for candidate "+rev+" of", err)
	}
	return providers.Revision{ID: rev, Image: a.Image, URL: p.appURL(), Ready: true}, nil
}

// candidateConfig is the stable machine's config with the new image, env
// and ramp's metadata, and no record or window of the stable's.
func candidateConfig(stable Config, a providers.Artifact, rev string) Config {
	c := stable.Clone()
	c["image"] = a.Image
	if len(a.Env) > 0 {
		env, _ := c["env"].(map[string]any)
		if env == nil {
			env = map[string]any{}
		}
		for _, kv := range a.Env {
			k, val, _ := strings.Cut(kv, "=")
			env[k] = val
		}
		c["env"] = env
	}
	if md, ok := c["metadata"].(map[string]any); ok {
		delete(md, keyRecord)
		delete(md, keyPreviousUntil)
	}
	c.SetMetadata(keyRevision, rev)
	c.SetMetadata(keyRole, roleCandidate)
	return c
}

// clear destroys the machines in the candidate's way: a candidate at 0%
// and retired revisions; a candidate taking traffic is an ErrConflict.
func (p *Provider) clear(ctx context.Context, api machinesAPI, r roles) error {
	if r.candidate != nil {
		for _, m := range r.candidate.machines {
			if !m.Cordoned {
				return fmt.Errorf("%w: candidate %s takes traffic (machine %s is routable); promote or roll back first", providers.ErrConflict, r.candidate.id, m.ID)
			}
		}
	}
	gone := machinesOf(r.candidate)
	for _, x := range r.retired {
		gone = append(gone, x.machines...)
	}
	for _, m := range gone {
		if err := api.Destroy(ctx, p.app, m.ID, ""); err != nil {
			return err
		}
	}
	return nil
}

// destroyAll destroys the machines, on a context that outlives a cancel;
// a failure leaves them for the next deploy's clear.
func (p *Provider) destroyAll(ctx context.Context, api machinesAPI, ms []Machine) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, m := range ms {
		_ = api.Destroy(ctx, p.app, m.ID, "") // left behind: the next deploy destroys it
	}
}

// waitReady waits for each machine to start, then polls until all their
// checks pass, or until the ready timeout, which is an ErrNotReady saying
// what was seen last.
func (p *Provider) waitReady(ctx context.Context, api machinesAPI, ms []Machine) error {
	timeout := p.cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = defaultReadyTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, m := range ms {
		if err := api.Wait(wctx, p.app, m.ID, m.InstanceID, "started"); err != nil {
			if ctx.Err() == nil && wctx.Err() != nil {
				return fmt.Errorf("%w: machine %s did not start within %s (ready-timeout); no traffic was moved", providers.ErrNotReady, m.ID, timeout)
			}
			return err
		}
	}
	deadline := p.now().Add(timeout)
	for {
		why := ""
		for _, m := range ms {
			cur, err := api.Get(ctx, p.app, m.ID)
			if err != nil {
				return err
			}
			if w := failingChecks(cur); w != "" {
				why = w
				break
			}
		}
		switch {
		case why == "":
			return nil
		case !p.now().Add(p.poll).Before(deadline):
			return fmt.Errorf("%w: the candidate's checks did not pass within %s (ready-timeout): %s; no traffic was moved", providers.ErrNotReady, timeout, why)
		}
		if err := sleep(ctx, p.poll); err != nil {
			return err
		}
	}
}

// failingChecks says why the machine is not ready, or "" when it is.
func failingChecks(m Machine) string {
	if m.State != "started" {
		return fmt.Sprintf("machine %s is %s", m.ID, m.State)
	}
	for _, c := range m.Checks {
		if c.Status != "passing" {
			return fmt.Sprintf("machine %s check %s is %s (%s)", m.ID, c.Name, c.Status, c.Output)
		}
	}
	return ""
}

// between is the weights strictly between 0 and 100: those a machine
// ratio must express (0 and 100 route one version only).
func between(weights []int) []int {
	var out []int
	for _, w := range weights {
		if w > 0 && w < 100 {
			out = append(out, w)
		}
	}
	return out
}
