package local

import (
	"context"
	"fmt"
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
	// Replicas is how many processes the revision runs at full strength
	// (0 is 1).
	Replicas int `json:"replicas,omitempty"`
	// Stage registers the revision with no replica running (strategy
	// rolling starts them batch by batch).
	Stage bool `json:"stage,omitempty"`
}

// deploy starts a candidate revision with no traffic and waits until it is
// ready, replacing a candidate that has no traffic.
func (a *Agent) deploy(ctx context.Context, req deployRequest) (providers.Revision, error) {
	if err := a.checkDeploy(&req); err != nil {
		return providers.Revision{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	id, err := a.beginDeploy(req.Artifact.Revision, cancel)
	if err != nil {
		return providers.Revision{}, err
	}
	rev := a.newRevision(id, req)
	if !req.Stage {
		a.log.Printf("deploy %s: %d replicas of %q", id, rev.want, rev.image)
		rev.replicas, err = a.startReplicas(ctx, rev, rev.want)
	} else {
		a.log.Printf("stage %s: %q, no replica running", id, rev.image)
	}
	if err != nil {
		a.endDeploy(nil)
		return providers.Revision{}, err
	}
	if err := a.endDeploy(rev); err != nil {
		for _, rp := range rev.replicas {
			a.stopReplica(id, rp)
		}
		return providers.Revision{}, err
	}
	return rev.status(!req.Stage), nil
}

// newRevision is the revision req deploys, running no replica yet.
func (a *Agent) newRevision(id string, req deployRequest) *revision {
	return &revision{
		id: id, image: req.Artifact.Image, healthPath: req.HealthPath, dir: req.Dir, env: req.Artifact.Env,
		readyTimeout: req.ReadyTimeout, timeout: req.Artifact.Settings.Timeout, want: max(req.Replicas, 1),
		metrics: a.metrics.fresh(id),
	}
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
	if req.Replicas < 0 || req.Replicas > MaxReplicas {
		return fmt.Errorf("deploy revision: %d replicas, want 1..%d: %w", req.Replicas, MaxReplicas, providers.ErrInvalid)
	}
	return nil
}

// beginDeploy checks that a deploy may start, retires a candidate without
// traffic and picks the revision ID.
func (a *Agent) beginDeploy(id string, cancel context.CancelFunc) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closing:
		return "", fmt.Errorf("deploy revision: %w", errClosing)
	case a.deployCancel != nil:
		return "", fmt.Errorf("deploy revision: another deploy is in progress: %w", providers.ErrConflict)
	case a.candidate != nil && (a.weight > 0 || a.candidate.count() > 0 && a.rollout.Replaces()):
		return "", fmt.Errorf("deploy revision: candidate %s serves %d%% of the traffic on %d replicas; promote it or roll it back first: %w",
			a.candidate.id, a.weight, a.candidate.count(), providers.ErrConflict)
	}
	for _, r := range []*revision{a.stable, a.previous} {
		if r != nil && r.id == id {
			return "", fmt.Errorf("deploy revision %s: it already runs as a stable or previous revision: %w", id, providers.ErrInvalid)
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
	a.deployCancel = cancel
	if err := a.persistLocked(); err != nil {
		a.log.Printf("deploy %s: %v", id, err)
	}
	return id, nil
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

// endDeploy installs rev as the candidate with no traffic, or with a nil rev
// just ends the deploy. An error means rev was not installed.
func (a *Agent) endDeploy(rev *revision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deployCancel = nil
	if rev == nil || a.closing {
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
// While a rolling batch has taken every replica of the stable revision
// out and the candidate runs some, the candidate takes the whole traffic:
// the stable share has nowhere else to go. (A first deploy, with no stable
// revision, serves nothing until its promotion.)
func (a *Agent) routeLocked() {
	if a.candidate == nil { // request routing ends with its candidate
		a.routing = nil
	}
	t := table{weight: a.weight, stable: a.stable.pool(), candidate: a.candidate.pool(),
		routes: newRoutes(a.routing, a.candidate.name(), a.stable.name())}
	if a.stable != nil && len(t.stable.backends) == 0 && len(t.candidate.backends) > 0 {
		t.weight = 100
	}
	a.router.set(t)
}

// status reports the revisions, checking each one's health now, the weight
// the proxy routes and the rollout record.
func (a *Agent) status(ctx context.Context) providers.Status {
	a.mu.Lock()
	revs := []*revision{a.stable, a.candidate, a.previous}
	st := providers.Status{URL: a.proxyURL, Rollout: a.rollout, Routing: a.routing,
		Instances: &providers.Instances{Stable: a.stable.count(), Candidate: a.candidate.count()}}
	a.mu.Unlock()
	st.Warnings = a.warnings()
	if revs[1] != nil {
		st.Weight = a.router.current().weight
	}
	out := make([]*providers.Revision, len(revs))
	var wg sync.WaitGroup
	for i, r := range revs {
		if r == nil {
			continue
		}
		wg.Go(func() {
			rev := r.status(a.healthy(ctx, r))
			out[i] = &rev
		})
	}
	wg.Wait()
	st.Stable, st.Candidate, st.Previous = out[0], out[1], out[2]
	return st
}

// status describes r.
func (r *revision) status(ready bool) providers.Revision {
	return providers.Revision{ID: r.id, Image: r.image, URL: r.url(), Ready: ready}
}
