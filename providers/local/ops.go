package local

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// deployRequest is the body of a deploy call to the control API.
type deployRequest struct {
	Artifact providers.Artifact `json:"artifact"`
	// Dir is the directory the command runs in (the caller's).
	Dir string `json:"dir,omitempty"`
	// HealthPath and ReadyTimeout override the agent's defaults.
	HealthPath   string        `json:"health_path,omitempty"`
	ReadyTimeout time.Duration `json:"ready_timeout,omitempty"`
}

// deploy starts a candidate revision with no traffic and waits until it is
// ready, replacing a candidate that has no traffic.
func (a *Agent) deploy(ctx context.Context, req deployRequest) (providers.Revision, error) {
	if err := a.checkDeploy(&req); err != nil {
		return providers.Revision{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	id, port, err := a.beginDeploy(req.Artifact.Revision, cancel)
	if err != nil {
		return providers.Revision{}, err
	}
	rev, err := a.startRevision(ctx, id, port, req)
	if err != nil {
		a.endDeploy(nil, port)
		return providers.Revision{}, err
	}
	if err := a.endDeploy(rev, port); err != nil {
		rev.proc.stop(a.grace)
		return providers.Revision{}, err
	}
	return rev.status(true), nil
}

// checkDeploy validates req and fills in the agent's defaults.
func (a *Agent) checkDeploy(req *deployRequest) error {
	if id := req.Artifact.Revision; id != "" && !namePattern.MatchString(id) {
		return fmt.Errorf("deploy revision %q: the name must start with a letter or digit and hold at most 63 letters, digits, '.', '_' or '-': %w",
			id, providers.ErrInvalid)
	}
	for _, kv := range req.Artifact.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("deploy revision: environment entry %q is not KEY=VALUE: %w", kv, providers.ErrInvalid)
		}
	}
	if req.HealthPath == "" {
		req.HealthPath = a.cfg.HealthPath
	}
	if !strings.HasPrefix(req.HealthPath, "/") {
		return fmt.Errorf("deploy revision: health path %q does not start with /: %w", req.HealthPath, providers.ErrInvalid)
	}
	if req.ReadyTimeout <= 0 {
		req.ReadyTimeout = a.cfg.ReadyTimeout
	}
	return nil
}

// beginDeploy checks that a deploy may start, retires a candidate without
// traffic, picks the revision ID and reserves a port.
func (a *Agent) beginDeploy(id string, cancel context.CancelFunc) (string, int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closing:
		return "", 0, fmt.Errorf("deploy revision: %w", errClosing)
	case a.deployCancel != nil:
		return "", 0, fmt.Errorf("deploy revision: another deploy is in progress: %w", providers.ErrConflict)
	case a.candidate != nil && a.weight > 0:
		return "", 0, fmt.Errorf("deploy revision: candidate %s serves %d%% of the traffic; promote it or roll it back first: %w",
			a.candidate.id, a.weight, providers.ErrConflict)
	}
	for _, r := range []*revision{a.stable, a.previous} {
		if r != nil && r.id == id {
			return "", 0, fmt.Errorf("deploy revision %s: it already runs as a stable or previous revision: %w", id, providers.ErrInvalid)
		}
	}
	if c := a.candidate; c != nil {
		a.candidate, a.weight = nil, 0
		a.routeLocked()
		a.retire(c, "replaced by a new deploy")
	}
	if id == "" {
		id = a.newRevisionID()
	}
	port, err := a.reservePortLocked()
	if err != nil {
		return "", 0, fmt.Errorf("deploy revision %s: %w", id, err)
	}
	a.deployCancel = cancel
	if err := a.persistLocked(); err != nil {
		a.log.Printf("deploy %s: %v", id, err)
	}
	return id, port, nil
}

// newRevisionID returns the next free rev-<n> name; a.mu must be held.
func (a *Agent) newRevisionID() string {
	for {
		a.nextRev++
		id := "rev-" + strconv.Itoa(a.nextRev)
		if (a.stable == nil || a.stable.id != id) && (a.previous == nil || a.previous.id != id) {
			return id
		}
	}
}

// reservePortLocked finds a free loopback port no revision uses (see
// pickPort); a.mu must be held.
func (a *Agent) reservePortLocked() (int, error) {
	port, err := pickPort(func(p int) bool { return a.ports[p] })
	if err != nil {
		return 0, err
	}
	a.ports[port] = true
	return port, nil
}

// startRevision starts the revision process and waits until it is ready;
// on failure it stops the process.
func (a *Agent) startRevision(ctx context.Context, id string, port int, req deployRequest) (*revision, error) {
	logPath := filepath.Join(a.cfg.StateDir, id+".log")
	a.log.Printf("deploy %s on port %d: %q", id, port, req.Artifact.Image)
	proc, logStart, err := startProcess(procSpec{
		image: req.Artifact.Image, dir: req.Dir, env: req.Artifact.Env, port: port, logPath: logPath,
	})
	if err != nil {
		a.log.Printf("deploy %s: %v", id, err)
		return nil, fmt.Errorf("start revision %s: %w", id, err)
	}
	u := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitReady(ctx, a.health, proc, u+req.HealthPath, req.ReadyTimeout, logPath, logStart); err != nil {
		a.log.Printf("deploy %s: %v", id, err)
		if serr := proc.stop(a.grace); serr != nil {
			a.log.Printf("deploy %s: %v", id, serr)
		}
		return nil, fmt.Errorf("start revision %s: %w", id, err)
	}
	target, err := url.Parse(u)
	if err != nil {
		proc.stop(a.grace)
		return nil, fmt.Errorf("start revision %s: %w", id, err)
	}
	a.log.Printf("deploy %s: ready at %s (pid %d)", id, u, proc.pid)
	return &revision{
		id: id, image: req.Artifact.Image, url: u, healthPath: req.HealthPath, port: port, proc: proc,
		timeout: req.Artifact.Settings.Timeout,
		backend: newBackend(id, target, a.metrics.fresh(id), a.log, req.Artifact.Settings.Timeout),
	}, nil
}

// endDeploy installs rev as the candidate with no traffic, or with a nil rev
// just ends the deploy. An error means rev was not installed.
func (a *Agent) endDeploy(rev *revision, port int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deployCancel = nil
	if rev == nil || a.closing {
		delete(a.ports, port)
		releasePort(port)
		if rev != nil {
			return fmt.Errorf("deploy revision %s: %w", rev.id, errClosing)
		}
		return nil
	}
	a.candidate, a.weight = rev, 0
	a.routeLocked()
	if err := a.persistLocked(); err != nil {
		a.log.Printf("deploy %s: %v", rev.id, err)
	}
	return nil
}

// routeLocked swaps the proxy's routing table to match the revisions and
// weight; a.mu must be held. Callers retire a revision only after this.
func (a *Agent) routeLocked() {
	t := table{weight: a.weight}
	if a.stable != nil {
		t.stable = a.stable.backend
	}
	if a.candidate != nil {
		t.candidate = a.candidate.backend
	}
	a.router.set(t)
}

// retire drains r in the background (already out of the routing table),
// then closes its connections and stops its process.
func (a *Agent) retire(r *revision, why string) {
	a.log.Printf("retire %s (%s): draining", r.id, why)
	a.retiring.Go(func() {
		t := time.NewTimer(a.drainTimeout)
		select {
		case <-r.backend.retire():
		case <-t.C:
			a.log.Printf("retire %s: %d requests still in flight after %v; stopping anyway",
				r.id, r.backend.inflight.Load(), a.drainTimeout)
		}
		t.Stop()
		r.backend.transport.CloseIdleConnections()
		r.backend.h2c.CloseIdleConnections()
		if err := r.proc.stop(a.grace); err != nil {
			a.log.Printf("retire %s: %v", r.id, err)
		}
		a.mu.Lock()
		delete(a.ports, r.port)
		releasePort(r.port)
		a.mu.Unlock()
		a.log.Printf("retire %s: stopped", r.id)
	})
}

// status reports the revisions, checking each one's health now, the weight
// the proxy routes and the rollout record.
func (a *Agent) status(ctx context.Context) providers.Status {
	a.mu.Lock()
	revs := []*revision{a.stable, a.candidate, a.previous}
	st := providers.Status{URL: a.proxyURL, Rollout: a.rollout}
	a.mu.Unlock()
	st.Warnings = a.warnings()
	if t := a.router.current(); t.candidate != nil {
		st.Weight = t.weight
	}
	out := make([]*providers.Revision, len(revs))
	var wg sync.WaitGroup
	for i, r := range revs {
		if r == nil {
			continue
		}
		wg.Go(func() {
			ready := false
			if r.proc.alive() {
				code, err := checkHealth(ctx, a.health, r.url+r.healthPath)
				ready = err == nil && code >= 200 && code < 300
			}
			rev := r.status(ready)
			out[i] = &rev
		})
	}
	wg.Wait()
	st.Stable, st.Candidate, st.Previous = out[0], out[1], out[2]
	return st
}

// status describes r.
func (r *revision) status(ready bool) providers.Revision {
	return providers.Revision{ID: r.id, Image: r.image, URL: r.url, Ready: ready}
}
