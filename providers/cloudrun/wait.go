package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ramp-deploy/ramp/providers"
)

// wait polls op until it is done and keeps the service it returns. It
// sleeps before each poll: an operation not done in the response is never
// done a moment later, so an immediate poll would be a wasted call. A poll
// that fails on the way (transient) is polled again after the same pause;
// ctx bounds it all.
func (p *Provider) wait(ctx context.Context, op updateOp) (*runpb.Service, error) {
	for !op.Done() {
		if err := sleep(ctx, p.poll); err != nil {
			return nil, fmt.Errorf("wait for operation: %w", err)
		}
		if _, err := op.Poll(ctx); err != nil && (op.Done() || !transient(ctx, err)) {
			return nil, err
		}
	}
	svc, err := op.Poll(ctx) // done: read from the last answer, no call
	if err != nil {
		return nil, err
	}
	p.remember(svc)
	return svc, nil
}

// transient reports whether err failed one call on the way rather than
// answering it: the server unavailable, or that call's own deadline (not
// ctx's) exceeded. The next poll may well get through.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// accepted keeps the service an accepted operation reports, for its etag,
// without waiting for it: a finished one carries its result, an unfinished
// one the service as the server took it.
func (p *Provider) accepted(ctx context.Context, op updateOp) {
	svc, err := op.Metadata()
	if op.Done() {
		svc, err = op.Poll(ctx) // done: read from the response, no call
	}
	if err != nil || svc.GetEtag() == "" {
		p.forget()
		return
	}
	p.remember(svc)
}

// awaitReady returns once rev is ready: at once when the service says it is
// the latest ready revision, else by polling the revision until its Ready
// condition succeeds, fails or ctx ends. A transient failure of a poll is
// polled again.
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
		switch c := readyCondition(r); {
		case err != nil && !transient(ctx, err):
			return err
		case err != nil:
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
// ReadyTimeout). Only a revision whose Ready condition failed, or that was
// still not ready when the time ran out, is an ErrNotReady carrying its
// condition; its candidate tag then comes off and the template goes back
// to the stable revision's, so nothing points at it or starts from it (a
// first deploy's is retired: see first.go). Any
// other failure (a call refused, the process cancelled) is reported as it
// is, and the candidate stays for the next deploy to replace.
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
	failed := c.GetState() == runpb.Condition_CONDITION_FAILED
	if c.GetState() == runpb.Condition_CONDITION_SUCCEEDED && !r.GetReconciling() || !failed && !timedOut {
		return p.fail(action, cause)
	}
	msg := strings.TrimRight(c.GetMessage(), ". ")
	if msg == "" {
		msg = "its Ready condition is " + c.GetState().String()
	}
	if timedOut {
		msg += fmt.Sprintf(" (gave up after %s)", p.readyTimeout())
	}
	if stable != "" {
		msg += fmt.Sprintf("; the traffic stays on %q", stable)
	}
	notReady := p.fail(action, fmt.Errorf("%w: %s", providers.ErrNotReady, msg))
	_, err = p.apply(ctx, "take the failed candidate's tag off", []string{"template", "traffic", "annotations"}, func(svc *runpb.Service) error {
		r := rolesOf(svc)
		switch {
		case r.candidate != rev: // someone else moved on already
		case r.stable == "": // a first deploy: nothing can take its place
			retire(svc, rev)
		default:
			svc.Traffic = split{stable: r.stable, previous: r.warmPrevious(svc, p.now())}.targets(svc.GetTraffic())
			restoreTemplate(svc, r.stable)
		}
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
