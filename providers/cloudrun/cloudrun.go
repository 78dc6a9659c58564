// Package cloudrun rolls Cloud Run services out progressively through the
// Admin API v2: it starts a candidate revision with no traffic behind a tag,
// shifts traffic between the stable and the candidate revisions with the
// service's etag guarding every write, keeps the rollout record in the
// service's annotations so any later process can drive it, and measures
// revisions through Cloud Monitoring.
//
// Everything a later process needs lives on the service itself: the traffic
// tags "stable", "candidate" and "previous" name the revisions taking part
// (and give each its own URL), and the annotations ramp.dev/rollout (the
// record), ramp.dev/previous-until and ramp.dev/images hold the rest. Tags
// the user set on other revisions are kept at 0%. A transition (Apply) is
// one write of the traffic and the record together, so the two never
// disagree on the service.
//
// Credentials are Application Default Credentials (so Workload Identity
// Federation in GitHub Actions works); nothing connects before the first call.
// RAMP_CLOUDRUN_ENDPOINT and RAMP_MONITORING_ENDPOINT send the clients to a
// fake on loopback instead, without credentials (endpoint.go).
package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	// defaultReadyTimeout bounds Deploy's wait when the config gives none.
	defaultReadyTimeout = 10 * time.Minute
	// defaultPollInterval spaces the polls of operations and revisions.
	defaultPollInterval = 2 * time.Second
	// maxAttempts bounds the re-read and retry rounds after etag conflicts.
	maxAttempts = 5
)

// Provider is the Cloud Run adapter for one service. The zero value is not
// usable; build one with New or NewWithOptions.
type Provider struct {
	cfg  providers.Config
	name string // projects/P/locations/R/services/S
	opts []option.ClientOption
	// adminOpts and metricsOpts follow opts for the Admin API and the
	// Cloud Monitoring clients: the endpoint overrides (endpoint.go).
	adminOpts, metricsOpts []option.ClientOption

	// poll spaces the polls of operations and revisions; now is the clock.
	poll time.Duration
	now  func() time.Time

	mu      sync.Mutex
	admin   adminAPI
	metrics metricsAPI
	// last is the service as the server last returned it; its etag guards
	// the next write, so a transition needs no read before it writes.
	last *runpb.Service

	// createMu orders creating the service with keeping the record of a
	// service that does not exist yet (see first.go): pending is that
	// record, created says this provider created the service, lost is the
	// version of a pending record that never landed because another
	// deploy created the service first (0: none).
	createMu sync.Mutex
	pending  *providers.Rollout
	created  bool
	lost     int64
}

var (
	_ providers.Provider  = (*Provider)(nil)
	_ gates.MetricSource  = (*Provider)(nil)
	_ gates.AccessChecker = (*Provider)(nil)
)

// New builds a provider for cfg.Service in cfg.Project and cfg.Region that
// authenticates with Application Default Credentials, or talks to the
// loopback endpoints RAMP_CLOUDRUN_ENDPOINT and RAMP_MONITORING_ENDPOINT
// name (see endpoint.go). It calls nothing.
func New(cfg providers.Config) (providers.Provider, error) {
	p, err := newFromEnv(cfg, os.Getenv)
	if err != nil {
		return nil, err // not a nil *Provider in a non-nil interface
	}
	return p, nil
}

// NewWithOptions is New with client options for every Google API client it
// creates (an endpoint, credentials, gRPC dial options). It calls nothing.
func NewWithOptions(cfg providers.Config, opts ...option.ClientOption) (*Provider, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	return &Provider{
		cfg:  cfg,
		name: fmt.Sprintf("projects/%s/locations/%s/services/%s", cfg.Project, cfg.Region, cfg.Service),
		opts: opts,
		poll: defaultPollInterval,
		now:  time.Now,
	}, nil
}

// Close releases the connections opened so far.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	if p.admin != nil {
		errs = append(errs, p.admin.Close())
		p.admin = nil
	}
	if p.metrics != nil {
		errs = append(errs, p.metrics.Close())
		p.metrics = nil
	}
	return errors.Join(errs...)
}

// adminClient connects to the Admin API on first use; a failed connection
// is tried again on the next call.
func (p *Provider) adminClient(ctx context.Context) (adminAPI, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.admin == nil {
		a, err := newAdmin(context.WithoutCancel(ctx), slices.Concat(p.opts, p.adminOpts))
		if err != nil {
			return nil, clientError(err)
		}
		p.admin = a
	}
	return p.admin, nil
}

// Preflight reads the service, which proves the credentials, the project,
// the region and the service name, then has the server validate (without
// making it) the write of the traffic as ramp routes it, under the etag
// read: that proves the credentials may update the service (and act as
// its runtime service account). A service that does not exist passes: the
// first deploy creates it. It changes nothing.
func (p *Provider) Preflight(ctx context.Context) error {
	svc, err := p.read(ctx, "read")
	switch {
	case isMissing(err):
		return nil
	case err != nil:
		return err
	}
	r := rolesOf(svc)
	if r.stable == "" {
		return nil // no traffic of ramp's to write yet
	}
	next := proto.Clone(svc).(*runpb.Service)
	next.Traffic = split{stable: r.stable, candidate: r.candidate, previous: r.warmPrevious(svc, p.now()),
		weight: int32(candidateWeight(svc, r))}.targets(svc.GetTraffic())
	admin, err := p.adminClient(ctx)
	if err == nil {
		err = admin.ValidateUpdate(ctx, next, []string{"traffic"})
	}
	if err != nil {
		return p.fail("validate an update of the traffic of", err)
	}
	return nil
}

// Status reads the service once and derives the revisions and the weight
// from the traffic it reports routing now. A service that does not exist
// has no revisions and the record kept for its first deploy, if any.
func (p *Provider) Status(ctx context.Context) (providers.Status, error) {
	svc, err := p.read(ctx, "read the status of")
	if isMissing(err) {
		return p.missingStatus(), nil
	}
	if err != nil {
		return providers.Status{}, err
	}
	p.createMu.Lock()
	p.lost = 0 // the caller holds the record as stored now
	p.createMu.Unlock()
	st, err := statusOf(svc, p.now())
	if err != nil {
		return providers.Status{}, p.fail("read the rollout record of", err)
	}
	return st, nil
}

// read gets the service and keeps it for the next write.
func (p *Provider) read(ctx context.Context, action string) (*runpb.Service, error) {
	admin, err := p.adminClient(ctx)
	if err != nil {
		return nil, p.fail(action, err)
	}
	svc, err := admin.GetService(ctx, p.name)
	if err != nil {
		return nil, p.fail(action, err)
	}
	p.remember(svc)
	return svc, nil
}

// write applies edit to the service and sends it with the service's etag,
// re-reading and editing again when someone else changed the service in
// between. The update mask is those of fields that edit changed; write
// returns a nil operation when it changed none. An edit refused on the
// service kept from an earlier call is tried again on a fresh read, since
// that copy may be behind the service.
func (p *Provider) write(ctx context.Context, action string, fields []string, edit func(*runpb.Service) error) (updateOp, error) {
	admin, err := p.adminClient(ctx)
	if err != nil {
		return nil, p.fail(action, err)
	}
	for attempt := 1; ; attempt++ {
		cur, fresh := p.cached(), false
		if cur == nil {
			if cur, err = p.read(ctx, action); err != nil {
				return nil, err
			}
			fresh = true
		}
		next := proto.Clone(cur).(*runpb.Service)
		if err := edit(next); err != nil {
			if !fresh {
				p.forget()
				continue
			}
			return nil, p.fail(action, err)
		}
		mask := changed(cur, next, fields)
		if len(mask) == 0 {
			return nil, nil
		}
		op, err := admin.UpdateService(ctx, next, mask)
		p.forget() // the etag changed, or is in doubt
		if err == nil {
			return op, nil
		}
		if !conflict(err) || attempt >= maxAttempts {
			return nil, p.fail(action, err)
		}
		if err := sleep(ctx, jitter(attempt)); err != nil {
			return nil, p.fail(action, err)
		}
	}
}

// jitter is the pause before the retry after the attempt-th conflict:
// random up to 100 ms doubled each time, so writers that collided do not
// collide again in step.
func jitter(attempt int) time.Duration {
	return rand.N(100*time.Millisecond<<min(attempt-1, 4)) + time.Millisecond
}

// changed lists the fields among fields (update mask paths: template,
// traffic, annotations) whose value next changes from cur.
func changed(cur, next *runpb.Service, fields []string) []string {
	var out []string
	for _, f := range fields {
		var same bool
		switch f {
		case "template":
			same = proto.Equal(cur.GetTemplate(), next.GetTemplate())
		case "traffic":
			same = slices.EqualFunc(cur.GetTraffic(), next.GetTraffic(), func(a, b *runpb.TrafficTarget) bool { return proto.Equal(a, b) })
		case "annotations":
			same = maps.Equal(cur.GetAnnotations(), next.GetAnnotations())
		}
		if !same {
			out = append(out, f)
		}
	}
	return out
}

// apply is write followed by a wait for the operation to finish.
func (p *Provider) apply(ctx context.Context, action string, mask []string, edit func(*runpb.Service) error) (*runpb.Service, error) {
	op, err := p.write(ctx, action, mask, edit)
	if err != nil || op == nil {
		return p.cached(), err
	}
	svc, err := p.wait(ctx, op)
	if err != nil {
		return nil, p.fail(action, err)
	}
	return svc, nil
}

func (p *Provider) remember(svc *runpb.Service) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = svc
}

func (p *Provider) forget() { p.remember(nil) }

func (p *Provider) cached() *runpb.Service {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// conflict reports whether err is the server refusing a stale etag
// (ABORTED): another writer changed the service since it was read.
func conflict(err error) bool {
	return status.Code(err) == codes.Aborted
}

// fail wraps err with the action and the service's location, adding the
// providers sentinel that matches its gRPC code.
func (p *Provider) fail(action string, err error) error {
	where := fmt.Sprintf("cloudrun: %s service %q (project %q, region %q)", action, p.cfg.Service, p.cfg.Project, p.cfg.Region)
	var kind error
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unauthenticated:
		kind = providers.ErrPermission
	case codes.NotFound:
		kind = providers.ErrNotFound
	case codes.InvalidArgument, codes.OutOfRange, codes.AlreadyExists:
		kind = providers.ErrInvalid
	case codes.FailedPrecondition:
		// The service is not in a state the call needs (an operation
		// failed: a revision that cannot serve, a service being deleted);
		// err's message says why. Not a conflict: reading the service
		// again and retrying cannot help.
		kind = providers.ErrInvalid
	case codes.Aborted:
		kind = providers.ErrConflict
	default:
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %w: %w", where, kind, err)
}
