package local

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// replica is one process of a revision, on its own port, behind its own
// backend; the proxy takes a version's replicas in turn.
type replica struct {
	port    int
	url     string
	proc    *process
	backend *backend
}

// url is where the revision's first replica answers alone: its URL for
// probes; "" while it runs none.
func (r *revision) url() string {
	if len(r.replicas) == 0 {
		return ""
	}
	return r.replicas[0].url
}

// pool is the revision's replicas for the routing table; empty for nil.
func (r *revision) pool() pool {
	if r == nil || len(r.replicas) == 0 {
		return pool{}
	}
	p := pool{backends: make([]*backend, len(r.replicas)), next: &r.next}
	for i, rp := range r.replicas {
		p.backends[i] = rp.backend
	}
	return p
}

// count is how many replicas r runs; 0 for nil.
func (r *revision) count() int {
	if r == nil {
		return 0
	}
	return len(r.replicas)
}

// startReplicas starts n more replicas of r together, each on its own
// port, and waits until every one answers its health path. On any failure
// it stops those it started and returns why; none is added to r, which the
// caller does under a.mu.
func (a *Agent) startReplicas(ctx context.Context, r *revision, n int) ([]*replica, error) {
	if n <= 0 {
		return nil, nil
	}
	if r.envLost {
		return nil, fmt.Errorf("start %d more replicas of %s: an earlier agent started it with an environment, which is never "+
			"kept on disk (it may hold secrets); deploy it again: %w", n, r.id, providers.ErrConflict)
	}
	out := make([]*replica, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], errs[i] = a.startReplica(ctx, r) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, rp := range out {
			if rp != nil {
				a.stopReplica(r.id, rp)
			}
		}
		return nil, fmt.Errorf("start revision %s: %w", r.id, err)
	}
	return out, nil
}

// startReplica starts one process of r on a port of its own and waits
// until it is ready; on failure it stops the process and frees the port.
func (a *Agent) startReplica(ctx context.Context, r *revision) (*replica, error) {
	a.mu.Lock()
	port, err := a.reservePortLocked()
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	free := func() {
		a.mu.Lock()
		delete(a.ports, port)
		releasePort(port)
		a.mu.Unlock()
	}
	logPath := filepath.Join(a.cfg.StateDir, r.id+".log")
	a.log.Printf("start %s on port %d: %q", r.id, port, r.image)
	proc, logStart, err := startProcess(procSpec{image: r.image, dir: r.dir, env: r.env, port: port, logPath: logPath})
	if err != nil {
		free()
		a.log.Printf("start %s: %v", r.id, err)
		return nil, err
	}
	u := "http://127.0.0.1:" + strconv.Itoa(port)
	target, err := url.Parse(u)
	if err == nil {
		err = waitReady(ctx, a.health, proc, u+r.healthPath, r.readyTimeout, logPath, logStart)
	}
	if err != nil {
		a.log.Printf("start %s on port %d: %v", r.id, port, err)
		if serr := proc.stop(a.grace); serr != nil {
			a.log.Printf("start %s: %v", r.id, serr)
		}
		free()
		return nil, err
	}
	a.log.Printf("start %s: ready at %s (pid %d)", r.id, u, proc.pid)
	return &replica{port: port, url: u, proc: proc, backend: newBackend(r.id, target, r.metrics, a.log, r.timeout)}, nil
}

// stopReplica stops a replica that never served and frees its port.
func (a *Agent) stopReplica(id string, rp *replica) {
	if err := rp.proc.stop(a.grace); err != nil {
		a.log.Printf("stop %s on port %d: %v", id, rp.port, err)
	}
	a.mu.Lock()
	delete(a.ports, rp.port)
	releasePort(rp.port)
	a.mu.Unlock()
}

// retire drains every replica of r in the background (already out of the
// routing table), then stops them.
func (a *Agent) retire(r *revision, why string) {
	for _, rp := range r.replicas {
		a.retireReplica(r.id, rp, why)
	}
}

// retireReplica drains rp in the background (already out of the routing
// table), then closes its connections and stops its process.
func (a *Agent) retireReplica(id string, rp *replica, why string) {
	a.log.Printf("retire %s on port %d (%s): draining", id, rp.port, why)
	a.retiring.Go(func() {
		t := time.NewTimer(a.drainTimeout)
		select {
		case <-rp.backend.retire():
		case <-t.C:
			a.log.Printf("retire %s on port %d: %d requests still in flight after %v; stopping anyway",
				id, rp.port, rp.backend.inflight.Load(), a.drainTimeout)
		}
		t.Stop()
		rp.backend.transport.CloseIdleConnections()
		rp.backend.h2c.CloseIdleConnections()
		rp.backend.fast.CloseIdleConnections()
		if err := rp.proc.stop(a.grace); err != nil {
			a.log.Printf("retire %s: %v", id, err)
		}
		a.mu.Lock()
		delete(a.ports, rp.port)
		releasePort(rp.port)
		a.mu.Unlock()
		a.log.Printf("retire %s on port %d: stopped", id, rp.port)
	})
}

// health checks every replica of r now: ready when it runs at least one
// and each answers 2xx.
func (a *Agent) healthy(ctx context.Context, r *revision) bool {
	if len(r.replicas) == 0 {
		return false
	}
	ok := make([]bool, len(r.replicas))
	var wg sync.WaitGroup
	for i, rp := range r.replicas {
		wg.Go(func() {
			if rp.proc.alive() {
				code, err := checkHealth(ctx, a.health, rp.url+r.healthPath)
				ok[i] = err == nil && code >= 200 && code < 300
			}
		})
	}
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

// adopt takes over a revision recorded in state.json with those of its
// replicas whose process still runs and answers its health check; nil when
// none does.
func (a *Agent) adopt(ctx context.Context, rs *revState) *revision {
	if rs == nil {
		return nil
	}
	r := &revision{id: rs.ID, image: rs.Image, healthPath: rs.HealthPath, timeout: rs.Timeout, dir: rs.Dir,
		readyTimeout: rs.ReadyTimeout, envLost: rs.EnvSet, want: max(rs.Want, 1), metrics: a.metrics.fresh(rs.ID)}
	if r.readyTimeout <= 0 {
		r.readyTimeout = a.cfg.ReadyTimeout
	}
	for _, rep := range rs.running() {
		u := "http://127.0.0.1:" + strconv.Itoa(rep.Port)
		code, err := checkHealth(ctx, a.health, u+rs.HealthPath)
		target, perr := url.Parse(u)
		if err != nil || perr != nil || code < 200 || code > 299 || rep.PID <= 0 || !processAlive(rep.PID) {
			a.log.Printf("forget replica of %s on port %d from the last agent: not running (health %d, %v)", rs.ID, rep.Port, code, err)
			continue
		}
		a.ports[rep.Port] = true
		claimPort(rep.Port)
		a.log.Printf("adopt revision %s (pid %d, port %d) from the last agent", rs.ID, rep.PID, rep.Port)
		r.replicas = append(r.replicas, &replica{port: rep.Port, url: u, proc: adoptProcess(rep.PID),
			backend: newBackend(rs.ID, target, r.metrics, a.log, rs.Timeout)})
	}
	if len(r.replicas) == 0 && len(rs.running()) > 0 {
		return nil
	}
	return r
}
