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
	routing   *providers.Routing // set by a shift; a Routing fake routes by it
	rollout   providers.Rollout
	calls     []string
	failures  map[string][]error
	rps       float64
	health    map[string]Health
	hooks     map[string]func()
	deployed  int
	stepwise  bool
	// n is how many instances a Replacing fake runs at full strength;
	// stableN and candN how many run each version now.
	n, stableN, candN int
}

// NewPlatform returns a service at url; stable is its running revision
// ("" for a service never deployed).
func NewPlatform(url, stable string) *Platform {
	p := &Platform{url: url, failures: map[string][]error{}, health: map[string]Health{}, hooks: map[string]func(){}}
	if stable != "" {
		p.stable = &providers.Revision{ID: stable, URL: url + "/" + stable, Ready: true}
	}
	return p
}

// Stepwise makes the platform one whose traffic and record are written
// apart, so Apply goes through providers.ApplyStepwise (as ECS and Fly do).
func (p *Platform) Stepwise() *Platform {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stepwise = true
	return p
}

// SetWeight moves the split by hand, as someone editing the service outside
// ramp would.
func (p *Platform) SetWeight(w int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.weight = w
}

// WithInstances makes the platform one that runs n instances, all of the
// stable version, which a Replacing fake replaces in batches.
func (p *Platform) WithInstances(n int) *Platform {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.stableN = n, n
	return p
}

// SetInstances makes k instances run the candidate and the rest the
// stable version, by hand, as someone editing the service outside ramp
// would; the weight stays.
func (p *Platform) SetInstances(k int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.candN, p.stableN = k, p.n-k
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
	st := providers.Status{URL: p.url, Stable: clone(p.stable), Candidate: clone(p.candidate),
		Previous: clone(p.previous), Weight: p.weight, Routing: p.routing, Rollout: p.rollout}
	if p.n > 0 {
		st.Instances = &providers.Instances{Stable: p.stableN, Candidate: p.candN}
	}
	return st
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
	p.weight, p.candN = 0, p.n
	return *p.candidate, nil
}

// Apply makes the transition: in one step under the platform's lock (one
// logged call, "Apply <transition> <phase>", whose method for FailNext and
// OnCall is "Apply <action>", e.g. "Apply shift"), or, on a Stepwise
// platform, as ApplyStepwise does it ("Record ...", "Traffic ...",
// "Record ...", methods "Record" and "Traffic").
func (f Fake) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	if f.P.stepwise {
		return providers.ApplyStepwise(ctx, stepper(f), t)
	}
	if err := f.P.enter(fmt.Sprintf("Apply %s %s", t, t.Record.Phase), "Apply "+string(t.Action)); err != nil {
		return providers.Rollout{}, err
	}
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, err
	}
	p := f.P
	p.mu.Lock()
	defer p.mu.Unlock()
	next, err := providers.NextRecord(p.rollout, t.Record)
	if err != nil {
		return providers.Rollout{}, err
	}
	if err := p.traffic(t); err != nil {
		return providers.Rollout{}, err
	}
	p.rollout = next
	return next, nil
}

// stepper is a Fake as a providers.Stepwise platform.
type stepper Fake

// Record stores the record alone ("Record <phase> step=<n> weight=<w>").
func (s stepper) Record(_ context.Context, r providers.Rollout) (providers.Rollout, error) {
	call := fmt.Sprintf("Record %s step=%d weight=%d", r.Phase, r.Step, r.Weight)
	if r.Intent != nil {
		call += " intent=" + string(r.Intent.Action)
	}
	if err := s.P.enter(call, "Record"); err != nil {
		return providers.Rollout{}, err
	}
	s.P.mu.Lock()
	defer s.P.mu.Unlock()
	next, err := providers.NextRecord(s.P.rollout, r)
	if err != nil {
		return providers.Rollout{}, err
	}
	s.P.rollout = next
	return next, nil
}

// Traffic makes the traffic change alone ("Traffic <transition>").
func (s stepper) Traffic(_ context.Context, t providers.Transition) error {
	if err := s.P.enter("Traffic "+t.String(), "Traffic"); err != nil {
		return err
	}
	s.P.mu.Lock()
	defer s.P.mu.Unlock()
	return s.P.traffic(t)
}

// traffic makes t's traffic change, or nothing when the platform already
// shows it; p.mu must be held.
func (p *Platform) traffic(t providers.Transition) error {
	st := p.status()
	if t.Done(st) {
		return nil
	}
	if err := t.Check(st); err != nil {
		return err
	}
	switch t.Action {
	case providers.ActionShift:
		p.weight, p.routing = t.Weight, t.Routing
	case providers.ActionReplace:
		if p.n == 0 {
			return fmt.Errorf("%s: the platform runs no instances to replace: %w", t, providers.ErrInvalid)
		}
		p.weight, p.candN, p.stableN = t.Weight, t.Instances, p.n-t.Instances
	case providers.ActionPromote:
		p.previous, p.stable, p.candidate, p.weight, p.routing = p.stable, p.candidate, nil, 0, nil
		p.stableN, p.candN = p.n, 0
		if t.KeepPrevious == 0 {
			p.previous = nil
		}
	case providers.ActionRollback:
		p.candidate, p.weight, p.routing = nil, 0, nil
		p.stableN, p.candN = p.n, 0
	case providers.ActionRevert:
		p.stable, p.previous = p.previous, nil
	}
	return nil
}

// Replacing is a Fake of a platform that runs instances (WithInstances):
// it is a providers.Replacer, as the local provider is.
type Replacing struct{ Fake }

var _ providers.Replacer = Replacing{}

// Instances reports the platform's full strength ("Instances").
func (r Replacing) Instances(context.Context) (int, error) {
	if err := r.P.enter("Instances", "Instances"); err != nil {
		return 0, err
	}
	r.P.mu.Lock()
	defer r.P.mu.Unlock()
	return r.P.n, nil
}

// Stage adds a candidate with no instances and no traffic ("Stage <image>").
func (r Replacing) Stage(_ context.Context, a providers.Artifact) (providers.Revision, error) {
	if err := r.P.enter("Stage "+a.Image, "Stage"); err != nil {
		return providers.Revision{}, err
	}
	p := r.P
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.candidate != nil && p.weight > 0 {
		return providers.Revision{}, fmt.Errorf("stage %q: candidate %q holds %d%%: %w", a.Image, p.candidate.ID, p.weight, providers.ErrConflict)
	}
	p.deployed++
	id := a.Revision
	if id == "" {
		id = fmt.Sprintf("rev-%d", p.deployed)
	}
	p.candidate = &providers.Revision{ID: id, Image: a.Image, URL: p.url + "/" + id, Ready: true}
	p.weight, p.candN, p.stableN = 0, 0, p.n
	return *p.candidate, nil
}

// Routing is a Fake of a platform that routes by request (strategy ab):
// it is a providers.RequestRouter, as the local provider is. Its traffic
// is still split by weight alone.
type Routing struct{ Fake }

var _ providers.RequestRouter = Routing{}

// RoutesBy names every match kind and sticky sessions.
func (Routing) RoutesBy(context.Context) ([]string, bool) { return providers.MatchKinds, true }
