package crashtest

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// When says where a stop falls around the call it is set at.
type When string

// The places of a stop.
const (
	// Before: the call never reaches the platform.
	Before When = "before"
	// After: the call lands on the platform and its answer is lost (a
	// kill), or waits until the command from another process is done.
	After When = "after"
)

// Call is one call a process made, in order: a provider call, or a write
// the platform made inside one (a tap, see Proc.Tap).
type Call struct {
	// Name says what was called, e.g. "Apply shift v2 to 10% (progressing)".
	Name string
	// Tap marks a write inside a provider call; a stop there is Before only
	// (after it is before the next one).
	Tap bool
}

// Proc is the provider of one process: it passes every call to the
// provider it wraps and numbers them, and at call StopAt it stops the
// process or runs a command from another process instead.
//
// A kill marks the process dead and ends the calling goroutine with
// runtime.Goexit, so the engine never gets an answer and never makes
// another call; the deferred functions of the engine still run, but any
// provider call they (or any other goroutine of the process) make through
// a dead Proc is recorded in Late and ends its goroutine too before
// reaching the platform, and the answer of a call still in flight is lost
// the same way. The engine must therefore run in a goroutine of its own
// (see drive).
type Proc struct {
	inner  providers.Provider
	stopAt int
	when   When
	// act, when set, runs at the stop instead of a kill, in the goroutine
	// of the call, which resumes once it returns (see Suite.CommandHold).
	act func()

	mu      sync.Mutex
	calls   []Call
	inCall  int // provider calls in progress
	acting  bool
	stopped bool
	at      string // the call stopped at
	dead    bool
	late    []string
}

var (
	_ providers.Provider = (*Proc)(nil)
	_ gates.MetricSource = (*Proc)(nil)
)

// NewProc wraps inner; it stops nothing until Stop sets where.
func NewProc(inner providers.Provider) *Proc { return &Proc{inner: inner} }

// Stop makes the k-th call (1-based) stop the process, at when; act, if
// set, runs there instead of a kill.
func (p *Proc) Stop(k int, when When, act func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopAt, p.when, p.act = k, when, act
}

// Calls returns the calls made so far, in order.
func (p *Proc) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.calls...)
}

// Stopped reports whether the stop was reached, and at which call.
func (p *Proc) Stopped() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped, p.at
}

// Late returns the calls attempted after the process was killed; none ever
// reached the platform.
func (p *Proc) Late() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.late...)
}

// begin numbers a provider call, stopping before it when it is the stop.
func (p *Proc) begin(name string) int {
	p.mu.Lock()
	if p.dead {
		p.late = append(p.late, name)
		p.mu.Unlock()
		runtime.Goexit()
	}
	p.calls = append(p.calls, Call{Name: name})
	k := len(p.calls)
	p.mu.Unlock()
	if k == p.stopAt && p.when == Before {
		p.stop(name)
	}
	p.mu.Lock()
	p.inCall++
	p.mu.Unlock()
	return k
}

// end closes call k, stopping after it when it is the stop. The answer of
// a call in flight when the process was killed (by another of its
// goroutines) is lost: its goroutine ends here.
func (p *Proc) end(k int) {
	p.mu.Lock()
	p.inCall--
	name, dead := p.calls[k-1].Name, p.dead
	p.mu.Unlock()
	if dead {
		runtime.Goexit()
	}
	if k == p.stopAt && p.when == After {
		p.stop(name)
	}
}

// Tap numbers a write the platform makes inside a provider call of this
// process, such as each step of providers.ApplyStepwise, and stops the
// process before it when it is the stop. The platform must call it from
// the goroutine making the provider call (providertest's OnCall hooks do),
// before the write. Writes made by other processes, or while a command
// from another process runs at the stop, are not counted.
func (p *Proc) Tap(name string) {
	p.mu.Lock()
	if p.inCall == 0 || p.acting || p.dead {
		p.mu.Unlock()
		return
	}
	p.calls = append(p.calls, Call{Name: name, Tap: true})
	k := len(p.calls)
	p.mu.Unlock()
	if k == p.stopAt {
		p.stop(name)
	}
}

// stop kills the process at call name, or runs the command from another
// process there.
func (p *Proc) stop(name string) {
	p.mu.Lock()
	p.stopped, p.at = true, name
	act := p.act
	if act == nil {
		p.dead = true
		p.mu.Unlock()
		runtime.Goexit()
	}
	p.acting = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.acting = false
		p.mu.Unlock()
	}()
	act()
}

// Preflight passes the call on.
func (p *Proc) Preflight(ctx context.Context) error {
	k := p.begin("Preflight")
	err := p.inner.Preflight(ctx)
	p.end(k)
	return err
}

// Status passes the call on.
func (p *Proc) Status(ctx context.Context) (providers.Status, error) {
	k := p.begin("Status")
	st, err := p.inner.Status(ctx)
	p.end(k)
	return st, err
}

// Deploy passes the call on.
func (p *Proc) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	k := p.begin("Deploy " + a.Revision)
	rev, err := p.inner.Deploy(ctx, a)
	p.end(k)
	return rev, err
}

// Apply passes the call on.
func (p *Proc) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	k := p.begin(fmt.Sprintf("Apply %s (%s)", t, t.Record.Phase))
	rec, err := p.inner.Apply(ctx, t)
	p.end(k)
	return rec, err
}

// Observe passes the call on to the wrapped provider's gates.MetricSource.
func (p *Proc) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	src, ok := p.inner.(gates.MetricSource)
	if !ok {
		return gates.Observation{}, fmt.Errorf("observe %s: the provider measures nothing: %w", q.Candidate, providers.ErrInvalid)
	}
	k := p.begin("Observe")
	o, err := src.Observe(ctx, q)
	p.end(k)
	return o, err
}

// source is p as the metric source of gates, or nil when the wrapped
// provider measures nothing.
func (p *Proc) source() gates.MetricSource {
	if _, ok := p.inner.(gates.MetricSource); ok {
		return p
	}
	return nil
}

// drive runs fn, an engine command, in a goroutine of its own and waits
// until it returns or its process is killed (ended false).
func drive(fn func() engine.Result) (res engine.Result, ended bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		res = fn()
		ended = true
	}()
	<-done
	return res, ended
}

// Provider is p as the engine takes it: a providers.Replacer when the
// wrapped provider is one (strategy rolling), p otherwise.
func (p *Proc) Provider() providers.Provider {
	if _, ok := p.inner.(providers.Replacer); ok {
		return replacerProc{p}
	}
	return p
}

// replacerProc is a Proc over a providers.Replacer, passing its
// Instances and Stage on as calls of their own.
type replacerProc struct{ *Proc }

// Instances passes the call on.
func (r replacerProc) Instances(ctx context.Context) (int, error) {
	k := r.begin("Instances")
	n, err := r.inner.(providers.Replacer).Instances(ctx)
	r.end(k)
	return n, err
}

// Stage passes the call on; it is held like a Deploy.
func (r replacerProc) Stage(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	k := r.begin("Deploy (stage) " + a.Revision)
	rev, err := r.inner.(providers.Replacer).Stage(ctx, a)
	r.end(k)
	return rev, err
}
