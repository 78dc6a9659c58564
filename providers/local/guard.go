package local

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

const (
	// kindUpgrading is the error kind of a control call refused because the
	// agent is handing over to a new one; the client retries it.
	kindUpgrading = "upgrading"
	// freezeWait bounds the wait for the control calls already changing
	// state when an upgrade starts.
	freezeWait = 10 * time.Second
)

// handover is what the agent knows about its supervisor and the upgrade
// gate in front of its control API.
type handover struct {
	sup   *supervision // nil for an agent run in-process, without a supervisor
	gate  gate
	conns [2]connCount // of the control and the metrics servers (the proxy's frontend drains itself)
}

// gate counts the control calls that may change state, and refuses new
// ones once frozen, so an agent handing over to a new one changes nothing
// the new one restored.
type gate struct {
	mu       sync.Mutex
	frozen   bool
	inflight int // calls that may change state, running now
	deploys  int // of which deploys, which may take ReadyTimeout
}

// enter counts a call that may change state; false means the gate is
// frozen and the call must be refused.
func (g *gate) enter(path string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.frozen {
		return false
	}
	g.inflight++
	if path == "/v1/deploy" {
		g.deploys++
	}
	return true
}

// leave ends a call enter counted.
func (g *gate) leave(path string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if path == "/v1/deploy" {
		g.deploys--
	}
}

// freeze refuses new calls and waits up to wait for the running ones to
// end. It fails with providers.ErrConflict, leaving the gate open, during a
// deploy, during another upgrade, or if the running calls do not end.
func (g *gate) freeze(wait time.Duration) error {
	g.mu.Lock()
	switch {
	case g.frozen:
		g.mu.Unlock()
		return fmt.Errorf("upgrade: another upgrade is in progress: %w", providers.ErrConflict)
	case g.deploys > 0:
		g.mu.Unlock()
		return fmt.Errorf("upgrade: a deploy is in progress; upgrade once it ended: %w", providers.ErrConflict)
	}
	g.frozen = true
	g.mu.Unlock()
	deadline := time.Now().Add(wait)
	for {
		g.mu.Lock()
		n := g.inflight
		g.mu.Unlock()
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			g.thaw()
			return fmt.Errorf("upgrade: %d control calls still running after %v: %w", n, wait, providers.ErrConflict)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isFrozen reports whether the gate refuses calls.
func (g *gate) isFrozen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.frozen
}

// thaw lets calls through again.
func (g *gate) thaw() {
	g.mu.Lock()
	g.frozen = false
	g.mu.Unlock()
}

// readOnly reports whether a control call changes nothing, so an agent
// handing over may still answer it.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead ||
		(r.Method == http.MethodPost && r.URL.Path == "/v1/observe")
}

// guard wraps the control API: it serves the upgrade call and refuses the calls that may change
// state (503, kind "upgrading") while the agent hands over to a new one.
// Calls without the token go straight to next, which refuses them.
func (a *Agent) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		switch {
		case subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+a.token)) != 1:
			next.ServeHTTP(w, r)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/upgrade":
			rpc(a.upgrade).ServeHTTP(w, r)
		case readOnly(r):
			next.ServeHTTP(w, r)
		case !a.ho.gate.enter(r.URL.Path):
			w.Header().Set("Connection", "close") // the retry may reach the new agent
			writeJSON(w, http.StatusServiceUnavailable, errorBody{
				Error: "the local agent is handing over to a new one; retry", Kind: kindUpgrading})
		default:
			defer a.ho.gate.leave(r.URL.Path)
			next.ServeHTTP(w, r)
		}
	})
}

// isUpgrading reports whether a failed control answer means the agent is
// handing over, so the call should be retried.
func isUpgrading(status int, b []byte) bool {
	var body errorBody
	return status == http.StatusServiceUnavailable && json.Unmarshal(b, &body) == nil && body.Kind == kindUpgrading
}
