// Package providertest is an in-memory providers.Provider for engine, CLI
// and strategy tests. Several Fakes can share one Platform, the way several
// processes share one cloud service, and every call is logged.
package providertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// Platform is the state of one fake service, shared by the Fakes bound to it.
type Platform struct {
	mu        sync.Mutex
	url       string
	stable    *providers.Revision
	candidate *providers.Revision
	previous  *providers.Revision
	weight    int
	rollout   providers.Rollout
	calls     []string
	failures  map[string][]error
	metrics   map[string]map[string]gates.Sample
	hooks     map[string]func()
	deployed  int
}

// NewPlatform returns a service at url; stable is its running revision
// ("" for a service never deployed).
func NewPlatform(url, stable string) *Platform {
	p := &Platform{url: url, failures: map[string][]error{}, metrics: map[string]map[string]gates.Sample{}, hooks: map[string]func(){}}
	if stable != "" {
		p.stable = &providers.Revision{ID: stable, URL: url + "/" + stable, Ready: true}
	}
	return p
}

// Fake is one process's view of a Platform.
type Fake struct{ P *Platform }

var (
	_ providers.Provider = Fake{}
	_ gates.MetricSource = Fake{}
)

// FailNext makes the next calls of method return errs, one per call.
func (p *Platform) FailNext(method string, errs ...error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures[method] = append(p.failures[method], errs...)
}

// OnCall runs f (outside the lock) each time method is called, before it acts.
func (p *Platform) OnCall(method string, f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks[method] = f
}

// SetMetric makes Measure answer s for metric of revision.
func (p *Platform) SetMetric(revision, metric string, s gates.Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.metrics[revision] == nil {
		p.metrics[revision] = map[string]gates.Sample{}
	}
	p.metrics[revision][metric] = s
}

// Calls returns the call log, e.g. "SetWeight 25".
func (p *Platform) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Snapshot returns the platform's state as Status would.
func (p *Platform) Snapshot() providers.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status()
}

// enter logs the call, runs its hook and returns an injected failure.
func (p *Platform) enter(call, method string) error {
	p.mu.Lock()
	hook := p.hooks[method]
	p.mu.Unlock()
	if hook != nil {
		hook()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call)
	if q := p.failures[method]; len(q) > 0 {
		p.failures[method] = q[1:]
		return q[0]
	}
	return nil
}

func (p *Platform) status() providers.Status {
	clone := func(r *providers.Revision) *providers.Revision {
		if r == nil {
			return nil
		}
		c := *r
		return &c
	}
	return providers.Status{URL: p.url, Stable: clone(p.stable), Candidate: clone(p.candidate),
		Previous: clone(p.previous), Weight: p.weight, Rollout: p.rollout}
}

// Preflight logs the call.
func (f Fake) Preflight(context.Context) error { return f.P.enter("Preflight", "Preflight") }

// Status returns the shared state.
func (f Fake) Status(context.Context) (providers.Status, error) {
	if err := f.P.enter("Status", "Status"); err != nil {
		return providers.Status{}, err
	}
	return f.P.Snapshot(), nil
}

// Deploy adds a candidate at 0%; images containing "broken" never get ready.
func (f Fake) Deploy(_ context.Context, a providers.Artifact) (providers.Revision, error) {
	if err := f.P.enter("Deploy "+a.Image, "Deploy"); err != nil {
		return providers.Revision{}, err
	}
	p := f.P
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.candidate != nil && p.weight > 0 {
		return providers.Revision{}, fmt.Errorf("deploy %q: candidate %q holds %d%%: %w", a.Image, p.candidate.ID, p.weight, providers.ErrConflict)
	}
	p.deployed++
	id := a.Revision
	if id == "" {
		id = fmt.Sprintf("rev-%d", p.deployed)
	}
	if strings.Contains(a.Image, "broken") {
		return providers.Revision{}, fmt.Errorf("deploy %q: revision %q: health check failed: %w", a.Image, id, providers.ErrNotReady)
	}
	p.candidate = &providers.Revision{ID: id, Image: a.Image, URL: p.url + "/" + id, Ready: true}
	p.weight = 0
	return *p.candidate, nil
}

// SetWeight moves the split.
func (f Fake) SetWeight(_ context.Context, w int) error {
	if err := f.P.enter(fmt.Sprintf("SetWeight %d", w), "SetWeight"); err != nil {
		return err
	}
	p := f.P
	p.mu.Lock()
	defer p.mu.Unlock()
	if w < 0 || w > 100 {
		return fmt.Errorf("set weight %d: %w", w, providers.ErrInvalid)
	}
	if p.candidate == nil && w > 0 {
		return fmt.Errorf("set weight %d: %w", w, providers.ErrNoCandidate)
	}
	p.weight = w
	return nil
}

// Promote makes the candidate stable and keeps the old one as previous.
func (f Fake) Promote(_ context.Context, keep time.Duration) error {
	if err := f.P.enter(fmt.Sprintf("Promote keep=%s", keep), "Promote"); err != nil {
		return err
	}
	p := f.P
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.candidate == nil {
		return fmt.Errorf("promote: %w", providers.ErrNoCandidate)
	}
	p.previous, p.stable, p.candidate, p.weight = p.stable, p.candidate, nil, 0
	if keep == 0 {
		p.previous = nil
	}
	return nil
}

// Rollback restores the stable revision, or the previous one after a promotion.
func (f Fake) Rollback(context.Context) error {
	if err := f.P.enter("Rollback", "Rollback"); err != nil {
		return err
	}
	p := f.P
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.candidate != nil:
		p.candidate, p.weight = nil, 0
	case p.previous != nil:
		p.stable, p.previous = p.previous, nil
	default:
		return fmt.Errorf("rollback: %w", providers.ErrNoCandidate)
	}
	return nil
}

// Record stores the rollout record.
func (f Fake) Record(_ context.Context, r providers.Rollout) error {
	if err := f.P.enter(fmt.Sprintf("Record %s step=%d weight=%d", r.Phase, r.Step, r.Weight), "Record"); err != nil {
		return err
	}
	f.P.mu.Lock()
	defer f.P.mu.Unlock()
	next, err := providers.NextRecord(f.P.rollout, r)
	if err != nil {
		return err
	}
	f.P.rollout = next
	return nil
}

// Measure answers what SetMetric set; an unset metric has no requests.
func (f Fake) Measure(_ context.Context, q gates.Query) (gates.Sample, error) {
	if err := f.P.enter("Measure "+q.Metric, "Measure"); err != nil {
		return gates.Sample{}, err
	}
	f.P.mu.Lock()
	defer f.P.mu.Unlock()
	return f.P.metrics[q.Revision][q.Metric], nil
}
