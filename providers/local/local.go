// Package local is the embedded local provider: it runs the stable and the
// candidate revisions of a service as local processes, each on its own
// loopback port, behind a built-in weighted reverse proxy, so a full canary
// rollout runs on a laptop with no cloud.
//
// A long-lived agent (RunAgent, or StartAgent in-process) owns the proxy,
// the revision processes, their per-revision metrics and the rollout state,
// which it keeps in <state-dir>/state.json. It writes <state-dir>/agent.json
// once it serves; the Provider returned by New finds it there and drives it
// through a small JSON control API on another loopback port, starting a
// detached agent (`<executable> local-agent ...`) when none runs. On unix,
// RunAgent runs a small supervisor that holds the listeners and runs the
// agent as its child, restarting it when it dies and handing the sockets
// over on `ramp local-upgrade`. With shared-agent set, one process runs
// the agents of many services, under a supervisor of its own that restarts
// it the same way and hands it over to a new executable on upgrade (see
// host.go). With metrics-listen set, the agent also
// serves the proxy's metrics for Prometheus there (see metricsserve.go).
// The agent logs to <state-dir>/agent.log, and each revision's output goes
// to <state-dir>/<revision>.log.
//
// Traffic shifts never drop a request: the proxy picks a revision and counts
// the request in flight under one read lock, so once the routing table is
// swapped no new request reaches a retired revision, which is stopped only
// after its last request ended.
package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Replacer = (*Provider)(nil)
	_ gates.MetricSource = (*Provider)(nil)
)

// Provider drives the local agent of one service. It is safe for
// concurrent use.
type Provider struct {
	cfg   providers.Config
	fixed *agentInfo // set by Connect: call this agent, never look or start
	hc    *http.Client

	mu  sync.Mutex
	cur *agentInfo // the agent found or started, once known
}

// New returns the local provider for cfg, the registry constructor. It only
// checks cfg and applies the defaults (state directory .ramp/local/<service>,
// health path /healthz, ready timeout 60s, listen 127.0.0.1:8080); a bad
// value is an *input.Error naming it. The agent is found or started on first
// use.
func New(cfg providers.Config) (providers.Provider, error) {
	cfg, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, hc: newControlClient()}, nil
}

// Connect returns a provider driving the agent whose control API is at
// controlAddr, authenticated with token (see Agent.Client). It never starts
// an agent.
func Connect(controlAddr, token string) *Provider {
	return &Provider{fixed: &agentInfo{Control: controlAddr, Token: token}, hc: newControlClient()}
}

// Preflight checks that the state directory can be read or created and that
// the agent named by agent.json, if any still listens, answers. It changes
// nothing and starts no agent.
func (p *Provider) Preflight(ctx context.Context) error {
	if p.fixed != nil {
		if _, err := ping(ctx, p.hc, *p.fixed, ""); err != nil {
			return fmt.Errorf("reach the local agent at %s: %w", p.fixed.Control, err)
		}
		return nil
	}
	if err := checkStateDir(p.cfg.StateDir); err != nil {
		return err
	}
	if _, err := p.findAgent(ctx); err != nil && !errors.Is(err, errNoAgent) {
		return err
	}
	return nil
}

// checkStateDir checks that dir is a readable directory or, if it does not
// exist yet, that its nearest existing parent is a directory.
func checkStateDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("check state directory %s: it is not a directory", dir)
	case err == nil:
		if _, err := os.ReadDir(dir); err != nil {
			return fmt.Errorf("check state directory: %w", err)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("check state directory: %w", err)
	}
	for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
		fi, err := os.Stat(parent)
		if err == nil && fi.IsDir() {
			return nil
		}
		if err == nil || !errors.Is(err, os.ErrNotExist) || parent == filepath.Dir(parent) {
			return fmt.Errorf("check state directory %s: cannot create it under %s", dir, parent)
		}
	}
}

// Status reads the revisions, the weight the proxy routes now and the
// rollout record. With no agent running it reports what state.json holds,
// every revision not ready, and a warning that the agent is gone.
func (p *Provider) Status(ctx context.Context) (providers.Status, error) {
	var st providers.Status
	err := p.call(ctx, false, http.MethodGet, "/v1/status", nil, &st)
	if errors.Is(err, errNoAgent) {
		st, err := offlineStatus(p.cfg.StateDir)
		if err == nil && p.cfg.SharedAgent {
			st.Warnings = append(st.Warnings, hostSupervisorWarnings(hostDir(p.cfg))...)
		}
		return st, err
	}
	if err != nil {
		return providers.Status{}, wrap("read status", err)
	}
	return st, nil
}

// Deploy starts the artifact's command line (Image, split into words with
// simple quoting, no shell) with Env and PORT set, as revision a.Revision
// (rev-<n> if empty), and waits until it answers its health path. A
// candidate with no traffic is replaced; one with traffic is a conflict.
// Service settings it cannot honour are refused (see CheckArtifact).
//
// It starts replicas processes (see providers.Config.Replicas), each with
// its own PORT, and waits for every one.
func (p *Provider) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	return p.deploy(ctx, a, false)
}

// Stage registers the artifact as the candidate with no process running
// and no traffic: the replace transitions of strategy rolling start its
// replicas batch by batch. A candidate with no traffic is replaced.
func (p *Provider) Stage(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	return p.deploy(ctx, a, true)
}

// Instances is the replicas setting: how many processes each version runs
// at full strength. It calls nothing.
func (p *Provider) Instances(context.Context) (int, error) { return max(p.cfg.Replicas, 1), nil }

// deploy makes the deploy call, staging the revision when stage is set.
func (p *Provider) deploy(ctx context.Context, a providers.Artifact, stage bool) (providers.Revision, error) {
	if err := CheckArtifact(a); err != nil {
		return providers.Revision{}, wrap("deploy revision", fmt.Errorf("%w: %w", providers.ErrInvalid, err))
	}
	req := deployRequest{Artifact: a, HealthPath: p.cfg.HealthPath, ReadyTimeout: p.cfg.ReadyTimeout, Replicas: p.cfg.Replicas, Stage: stage}
	if wd, err := os.Getwd(); err == nil {
		req.Dir = wd
	}
	var rev providers.Revision
	if err := p.call(ctx, true, http.MethodPost, "/v1/deploy", req, &rev); err != nil {
		return providers.Revision{}, wrap("deploy revision", err)
	}
	return rev, nil
}

// Apply makes one transition with one control call: the agent checks the
// record's version, swaps the routing table and saves both under one lock.
// With no agent running, one is started first; it re-adopts the revisions
// still running, so a repair after the agent died acts on them.
func (p *Provider) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, err
	}
	var stored providers.Rollout
	if err := p.call(ctx, true, http.MethodPost, "/v1/apply", t, &stored); err != nil {
		return providers.Rollout{}, wrap(t.String(), err)
	}
	return stored, nil
}

// Observe returns the traffic of the candidate and the stable over
// q.Window (at most the last 10 minutes), as measured at the proxy:
// requests, errors (answered 5xx or not at all) and latency histograms,
// counted by whole seconds (a second belongs to the window its end falls
// in, so consecutive windows never count a request twice).
func (p *Provider) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	var o gates.Observation
	req := observeRequest{Candidate: q.Candidate, Stable: q.Stable, Window: q.Window}
	err := p.call(ctx, false, http.MethodPost, "/v1/observe", req, &o)
	if errors.Is(err, errNoAgent) {
		err = fmt.Errorf("%w: %w", err, providers.ErrNotFound)
	}
	if err != nil {
		return gates.Observation{}, wrap("observe the traffic of "+q.Candidate, err)
	}
	return o, nil
}

// Shutdown asks the agent to drain and stop every revision and exit, and
// waits until it is gone. With no agent running it does nothing.
func (p *Provider) Shutdown(ctx context.Context) error {
	info, err := p.requestShutdown(ctx)
	if errors.Is(err, errNoAgent) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shut down local agent: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, agentStopTimeout)
	defer cancel()
	for {
		p.hc.CloseIdleConnections()
		if _, err := ping(ctx, p.hc, info, ""); isDialError(err) {
			break
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("shut down local agent (pid %d): %w", info.PID, ctx.Err())
		case <-t.C:
		}
	}
	if p.fixed == nil {
		p.forget()
	}
	return nil
}

// requestShutdown asks the agent to shut down and returns which one it
// asked; errNoAgent means none runs (any more).
func (p *Provider) requestShutdown(ctx context.Context) (agentInfo, error) {
	for attempt := 0; ; attempt++ {
		info, err := p.agent(ctx, false)
		if err != nil {
			return info, err
		}
		err = do(ctx, p.hc, info, http.MethodPost, "/v1/shutdown", nil, nil)
		switch {
		case err == nil:
			return info, nil
		case !isDialError(err):
			return info, err
		case p.fixed != nil || attempt > 0:
			return info, errNoAgent
		}
		p.forget() // the cached agent is gone; look again
	}
}

// wrap prefixes err with op unless the agent reported it, since the agent's
// messages already say what failed.
func wrap(op string, err error) error {
	if _, ok := errors.AsType[*agentError](err); ok {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
