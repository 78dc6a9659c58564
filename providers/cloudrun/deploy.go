package cloudrun

import (
	"context"
	"crypto/rand"
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

// maxRevisionName is the longest revision name Cloud Run accepts.
const maxRevisionName = 63

// Deploy writes the new template (image, env, revision name) and a traffic
// list that keeps 100% on the stable revision and 0% on the candidate, tagged
// "candidate" so it gets its own URL, all in one write. It then waits for the
// operation and for the revision to be ready; a revision that never gets
// ready is an ErrNotReady carrying its condition, and its tag is taken off
// again, so the traffic never moved.
func (p *Provider) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	rev, err := revisionName(p.cfg.Service, a.Revision)
	if err == nil && a.Image == "" {
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
		r := rolesOf(svc)
		switch {
		case r.candidate != "" && (planned(svc, r.candidate) > 0 || routed(svc, r.candidate) > 0):
			return fmt.Errorf("%w: a rollout is in flight: candidate %q serves %d%% of the traffic; promote or roll it back first",
				providers.ErrConflict, r.candidate, max(planned(svc, r.candidate), routed(svc, r.candidate)))
		case r.stable == "":
			return fmt.Errorf("%w: the service has no ready revision to keep the traffic on", providers.ErrInvalid)
		case r.stable == rev:
			return fmt.Errorf("%w: revision %q already is the stable revision", providers.ErrInvalid, rev)
		case r.others > 0:
			return fmt.Errorf("%w: the traffic is split between %q and %d other revision(s); route it to one revision first",
				providers.ErrInvalid, r.stable, r.others)
		}
		images := imagesOf(svc)
		if _, ok := images[r.stable]; !ok && shortName(svc.GetLatestCreatedRevision()) == r.stable {
			images = withImage(images, r.stable, ingress(svc.GetTemplate()).GetImage())
		}
		previous := r.warmPrevious(svc, p.now())
		svc.Template = candidateTemplate(svc.GetTemplate(), rev, a.Image, env)
		if err := applySettings(svc, a, p.cfg); err != nil {
			return err
		}
		svc.Traffic = split{stable: r.stable, candidate: rev, previous: previous}.targets(svc.GetTraffic())
		setImages(svc, withImage(images, rev, a.Image), r.stable, rev, previous)
		setAnnotation(svc, legacyAnnotationLastAction, "")
		stable = r.stable
		return nil
	})
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

func (p *Provider) readyTimeout() time.Duration {
	if p.cfg.ReadyTimeout > 0 {
		return p.cfg.ReadyTimeout
	}
	return defaultReadyTimeout
}

// awaitReady returns once rev is ready: at once when the service says it is
// the latest ready revision, else by polling the revision until its Ready
// condition succeeds, fails or ctx ends.
func (p *Provider) awaitReady(ctx context.Context, rev string, svc *runpb.Service) error {
	if shortName(svc.GetLatestReadyRevision()) == rev {
		return nil
	}
	admin, err := p.adminClient(ctx)
	if err != nil {
		return err
	}
	for {
		r, err := admin.GetRevision(ctx, p.name+"/revisions/"+rev)
		if err != nil {
			return err
		}
		switch c := readyCondition(r); {
		case c.GetState() == runpb.Condition_CONDITION_SUCCEEDED && !r.GetReconciling():
			return nil
		case c.GetState() == runpb.Condition_CONDITION_FAILED:
			return fmt.Errorf("revision %q failed: %s", rev, c.GetMessage())
		}
		if err := sleep(ctx, p.poll); err != nil {
			return err
		}
	}
}

// notReady explains why Deploy gave up on rev (timedOut: it ran out of
// ReadyTimeout). When rev exists and is not ready, the error wraps
// providers.ErrNotReady with the revision's Ready condition, and the
// candidate tag comes off so nothing points at it.
func (p *Provider) notReady(ctx context.Context, action, rev, stable string, cause error, timedOut bool) error {
	if ctx.Err() != nil {
		return p.fail(action, cause)
	}
	admin, err := p.adminClient(ctx)
	if err != nil {
		return p.fail(action, errors.Join(cause, err))
	}
	r, err := admin.GetRevision(ctx, p.name+"/revisions/"+rev)
	switch {
	case status.Code(err) == codes.NotFound:
		return p.fail(action, cause) // never created: the cause says why
	case err != nil:
		return p.fail(action, errors.Join(cause, err))
	}
	c := readyCondition(r)
	if c.GetState() == runpb.Condition_CONDITION_SUCCEEDED && !r.GetReconciling() {
		return p.fail(action, cause)
	}
	msg := strings.TrimRight(c.GetMessage(), ". ")
	if msg == "" {
		msg = "its Ready condition is " + c.GetState().String()
	}
	if timedOut {
		msg += fmt.Sprintf(" (gave up after %s)", p.readyTimeout())
	}
	notReady := p.fail(action, fmt.Errorf("%w: %s; the traffic stays on %q", providers.ErrNotReady, msg, stable))
	_, err = p.apply(ctx, "take the failed candidate's tag off", []string{"traffic"}, func(svc *runpb.Service) error {
		r := rolesOf(svc)
		if r.candidate != rev || r.stable == "" {
			return nil // someone else moved on already
		}
		svc.Traffic = split{stable: r.stable, previous: r.warmPrevious(svc, p.now())}.targets(svc.GetTraffic())
		return nil
	})
	return errors.Join(notReady, err)
}

// readyCondition is the revision's Ready condition.
func readyCondition(r *runpb.Revision) *runpb.Condition {
	for _, c := range r.GetConditions() {
		if c.GetType() == "Ready" {
			return c
		}
	}
	return nil
}

// revisionName turns want (derived from the commit SHA) into a name Cloud
// Run accepts: lowercase letters, digits and hyphens, at most 63 characters,
// prefixed with the service name. An empty want gets a random suffix.
func revisionName(service, want string) (string, error) {
	if want == "" {
		want = strings.ToLower(rand.Text()[:8])
	}
	var b strings.Builder
	for _, r := range strings.ToLower(want) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-") && b.Len() > 0:
			b.WriteByte('-')
		}
	}
	name := strings.TrimRight(b.String(), "-")
	if name == "" {
		return "", fmt.Errorf("%w: revision %q has no letters or digits", providers.ErrInvalid, want)
	}
	if !strings.HasPrefix(name, service+"-") {
		name = service + "-" + name
	}
	if len(name) > maxRevisionName {
		name = strings.TrimRight(name[:maxRevisionName], "-")
	}
	return name, nil
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
