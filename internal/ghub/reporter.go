package ghub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/engine"
)

// maxQueue bounds the writes waiting for GitHub; past it, intermediate
// statuses are dropped (final ones never are).
const maxQueue = 256

// Options configure a Reporter.
type Options struct {
	// Client talks to the GitHub API (see NewClient). Required.
	Client *github.Client
	// Owner and Repo name the repository. Required.
	Owner, Repo string
	// SHA is the deployed commit: statuses go on it and deployments use it
	// as their ref. Empty turns commit statuses and deployments off.
	SHA string
	// Context is the commit status context; empty means "ramp/<service>"
	// with the service the rollout's Started event names, or else Service
	// ("ramp" without either).
	Context string
	// Service names the service deployed when no Started event does (a
	// rollback, promote or pause command resumes no rollout). Set it: the
	// deployment of a service is told apart from the other services'
	// deployments to the same environment by the service in its payload,
	// and without one known the previous deployment is neither retired nor
	// restored.
	Service string
	// Environment is the deployment environment; empty creates no
	// deployment.
	Environment string
	// DeploymentID reports on this existing deployment instead of creating
	// one, e.g. from the action's post step or for a pull-request command
	// (see FindDeployment).
	DeploymentID int64
	// RolloutID identifies the rollout in the deployment's payload; empty
	// means the ID of the rollout's Started event.
	RolloutID string
	// RunURL links the CI run: the target URL of commit statuses and the
	// log URL of deployment statuses.
	RunURL string
	// ServiceURL returns the environment URL of a successful deployment;
	// nil, or an empty answer, uses the service URL the rollout reports. It
	// is called from the reporter's goroutine.
	ServiceURL func() string
	// OnDeployment receives the ID of the deployment the reporter created,
	// e.g. to save it to GITHUB_STATE for the post step. It is called from
	// the reporter's goroutine.
	OnDeployment func(id int64)
	// Warn receives warnings, at most one per capability, from the
	// reporter's goroutine; nil drops them.
	Warn func(string)
	// Timeout bounds each API call; zero means DefaultTimeout.
	Timeout time.Duration
}

// Reporter reports a rollout to GitHub as commit statuses and a deployment.
// Its Event method is an engine.Sink that never blocks on GitHub: writes
// are queued and sent in order by a goroutine of its own. Close flushes
// them. It is safe for concurrent use.
type Reporter struct {
	opts        Options
	calls       *caller
	statuses    *capability
	deployments *capability
	deployment  atomic.Int64

	mu      sync.Mutex
	wake    *sync.Cond
	queue   []action
	track   tracker
	closed  bool
	dropped bool // a full queue dropped an update (warned once)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// New starts a reporter; Close it when the rollout is over.
func New(opts Options) (*Reporter, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("ghub: no GitHub client")
	case opts.Owner == "" || opts.Repo == "":
		return nil, fmt.Errorf("ghub: repository %q/%q is incomplete", opts.Owner, opts.Repo)
	}
	r := &Reporter{
		opts:        opts,
		calls:       newCaller(opts.Timeout, opts.Warn),
		statuses:    statusesCap(),
		deployments: deploymentsCap(),
		track: tracker{context: opts.Context, rolloutID: opts.RolloutID, service: opts.Service,
			deployments: opts.Environment != "" && opts.SHA != ""},
		done: make(chan struct{}),
	}
	r.wake = sync.NewCond(&r.mu)
	r.deployment.Store(opts.DeploymentID)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.loop()
	return r, nil
}

// Event records ev and queues the GitHub writes it calls for; it is an
// engine.Sink and returns at once.
func (r *Reporter) Event(ev engine.Event) {
	if r.opts.SHA == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, a := range r.track.observe(ev) {
		if len(r.queue) >= maxQueue && !a.final {
			r.dropped = true
			continue
		}
		r.queue = append(r.queue, a)
	}
	r.wake.Signal()
}

// DeploymentID returns the ID of the deployment reported on: the one given
// in Options, or the one created, or 0 while there is none.
func (r *Reporter) DeploymentID() int64 { return r.deployment.Load() }

// Close stops taking events and waits until the queued writes are sent, or
// until ctx ends; then it abandons the rest and returns an error saying so.
// Failed writes were warned about and are not errors.
func (r *Reporter) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	left := len(r.queue)
	r.wake.Signal()
	r.mu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		r.cancel()
		<-r.done
		return fmt.Errorf("GitHub reporting abandoned with up to %d updates unsent: %w", left, context.Cause(ctx))
	}
}

// loop sends the queued writes in order until the reporter is closed.
func (r *Reporter) loop() {
	defer close(r.done)
	defer r.cancel()
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && !r.closed {
			r.wake.Wait()
		}
		if len(r.queue) == 0 || r.ctx.Err() != nil {
			r.mu.Unlock()
			return
		}
		a := r.queue[0]
		r.queue = r.queue[1:]
		dropped := r.dropped
		r.dropped = false
		r.mu.Unlock()
		if dropped {
			r.calls.warn("GitHub answers slowly: some intermediate commit statuses were skipped")
		}
		r.send(a)
	}
}

// send performs one action; failures were warned about by the caller.
func (r *Reporter) send(a action) {
	switch a.kind {
	case setStatus:
		_ = r.calls.call(r.ctx, r.statuses, "set the commit status", func(ctx context.Context) error {
			_, _, err := r.opts.Client.Repositories.CreateStatus(ctx, r.opts.Owner, r.opts.Repo, r.opts.SHA, &github.RepoStatus{
				State:       github.Ptr(a.state),
				Description: github.Ptr(a.desc),
				Context:     github.Ptr(a.context),
				TargetURL:   optional(r.opts.RunURL),
			})
			return err
		})
	case startDeployment:
		r.startDeployment(a)
	case setDeployment:
		if a.state == stateSuccess && r.opts.ServiceURL != nil {
			if u := r.opts.ServiceURL(); u != "" {
				a.envURL = u
			}
		}
		r.deploymentStatus(r.deployment.Load(), a)
	case retirePrevious:
		r.retirePrevious(a)
	case revivePrevious:
		r.revivePrevious(a)
	}
}

// optional is nil for an empty string, so that it is left out of requests.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
