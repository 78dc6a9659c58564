package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ramp-deploy/ramp/providers"
)

// Deploy writes the new template (image, env, revision name) and a traffic
// list that keeps 100% on the stable revision and 0% on the candidate, tagged
// "candidate" so it gets its own URL, all in one write. It then waits for the
// operation and for the revision to be ready; a revision that never gets
// ready is an ErrNotReady carrying its condition, and its tag is taken off
// again, so the traffic never moved.
//
// A first deploy (no service yet, or none of its revisions stable) creates
// the service, or updates it, with the candidate as its only revision
// behind the "candidate" tag (see first.go).
func (p *Provider) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	rev, err := revisionName(p.cfg.Service, a.Revision)
	if err != nil {
		err = fmt.Errorf("%w: %w", providers.ErrInvalid, err)
	} else if a.Image == "" {
		err = fmt.Errorf("%w: the artifact has no image", providers.ErrInvalid)
	}
	action := fmt.Sprintf("deploy revision %q to", rev)
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	env, err := parseEnv(a.Env)
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	var stable string
	fields := append([]string{"template", "traffic", "annotations"}, settingsFields(a.Settings)...)
	op, err := p.write(ctx, action, fields, func(svc *runpb.Service) error {
		if err := p.keptLanded(nil); err != nil {
			return err
		}
		var err error
		if stable, err = p.deployEdit(svc, rev, a.Image, env); err != nil {
			return err
		}
		return applySettings(svc, a, p.cfg)
	})
	if errors.Is(err, providers.ErrNotFound) { // no service yet: a first deploy
		op, err = p.create(ctx, action, rev, a, env)
	}
	if err != nil {
		return providers.Revision{}, err
	}
	svc := p.cached()
	waitCtx, cancel := context.WithTimeout(ctx, p.readyTimeout())
	defer cancel()
	if op != nil {
		svc, err = p.wait(waitCtx, op)
	}
	if err == nil {
		err = p.awaitReady(waitCtx, rev, svc)
	}
	if err != nil {
		// The server may enforce the deadline a moment before ctx notices.
		timedOut := waitCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
		return providers.Revision{}, p.notReady(ctx, action, rev, stable, err, timedOut)
	}
	return providers.Revision{ID: rev, Image: a.Image, URL: tagURL(svc, tagCandidate, rev), Ready: true}, nil
}

// deployEdit makes svc start rev running image with env beside the stable
// revision, which it returns ("" on a first deploy), at 0% behind the
// "candidate" tag, or refuses.
func (p *Provider) deployEdit(svc *runpb.Service, rev, image string, env []*runpb.EnvVar) (string, error) {
	r := rolesOf(svc)
	switch w := candidateWeight(svc, r); {
	case w > 0:
		return "", fmt.Errorf("%w: a rollout is in flight: candidate %q serves %d%% of the traffic; promote or roll it back first",
			providers.ErrConflict, r.candidate, w)
	case r.stable == "":
		firstDeployEdit(svc, rev, image, env)
		return "", nil
	case r.stable == rev:
		return "", fmt.Errorf("%w: revision %q already is the stable revision", providers.ErrInvalid, rev)
	case r.others > 0:
		return "", fmt.Errorf("%w: the traffic is split between %q and %d other revision(s); route it to one revision first",
			providers.ErrInvalid, r.stable, r.others)
	}
	images := imagesOf(svc)
	if _, ok := images[r.stable]; !ok && shortName(svc.GetLatestCreatedRevision()) == r.stable {
		images = withImage(images, r.stable, ingress(svc.GetTemplate()).GetImage())
	}
	previous := r.warmPrevious(svc, p.now())
	saveTemplate(svc, r.stable)
	svc.Template = candidateTemplate(svc.GetTemplate(), rev, image, env)
	svc.Traffic = split{stable: r.stable, candidate: rev, previous: previous}.targets(svc.GetTraffic())
	setImages(svc, withImage(images, rev, image), r.stable, rev, previous)
	setAnnotation(svc, legacyAnnotationLastAction, "")
	return r.stable, nil
}

func (p *Provider) readyTimeout() time.Duration {
	if p.cfg.ReadyTimeout > 0 {
		return p.cfg.ReadyTimeout
	}
	return defaultReadyTimeout
}

// parseEnv reads KEY=VALUE pairs.
func parseEnv(pairs []string) ([]*runpb.EnvVar, error) {
	out := make([]*runpb.EnvVar, 0, len(pairs))
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: env %q is not KEY=VALUE", providers.ErrInvalid, kv)
		}
		out = append(out, &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: v}})
	}
	return out, nil
}

// candidateTemplate is tmpl running image with env, named rev. The env
// replaces variables of the same name and keeps the others.
func candidateTemplate(tmpl *runpb.RevisionTemplate, rev, image string, env []*runpb.EnvVar) *runpb.RevisionTemplate {
	t := &runpb.RevisionTemplate{}
	if tmpl != nil {
		t = proto.Clone(tmpl).(*runpb.RevisionTemplate)
	}
	t.Revision = rev
	c := ingress(t)
	if c == nil {
		c = &runpb.Container{}
		t.Containers = append(t.Containers, c)
	}
	c.Image = image
	for _, e := range env {
		i := 0
		for i < len(c.Env) && c.Env[i].GetName() != e.GetName() {
			i++
		}
		if i == len(c.Env) {
			c.Env = append(c.Env, e)
		} else {
			c.Env[i] = e
		}
	}
	return t
}

// ingress is the container that serves requests: the one with a port, or
// the only one.
func ingress(t *runpb.RevisionTemplate) *runpb.Container {
	for _, c := range t.GetContainers() {
		if len(c.GetPorts()) > 0 {
			return c
		}
	}
	if len(t.GetContainers()) > 0 {
		return t.GetContainers()[0]
	}
	return nil
}
