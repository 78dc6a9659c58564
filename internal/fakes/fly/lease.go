package fly

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lease is a machine's lease.
type lease struct {
	nonce, owner string
	expires      time.Time
	version      int
}

// live reports whether the lease still holds at now.
func (l *lease) live(now time.Time) bool { return l != nil && now.Before(l.expires) }

// leaseOK answers 409 and reports false when another nonce holds the
// machine's lease than the request's header names.
func (w *World) leaseOK(q *request) bool {
	l := q.m.lease
	if !l.live(time.Now()) || q.r.Header.Get(NonceHeader) == l.nonce {
		return true
	}
	writeError(q.rw, http.StatusConflict, "lease_held", fmt.Sprintf("machine %s is leased by %s until %s; send its nonce in %s",
		q.m.id, l.owner, l.expires.UTC().Format(time.RFC3339), NonceHeader))
	return false
}

// leaseBody is a lease as the API answers it.
func leaseBody(l *lease) map[string]any {
	return map[string]any{"status": "success", "data": map[string]any{
		"nonce": l.nonce, "expires_at": l.expires.Unix(), "owner": l.owner, "version": strconv.Itoa(l.version)}}
}

func (w *World) getLease(q *request) {
	if !q.m.lease.live(time.Now()) {
		writeError(q.rw, http.StatusNotFound, "not_found", "machine "+q.m.id+" has no lease")
		return
	}
	writeJSON(q.rw, http.StatusOK, leaseBody(q.m.lease))
}

// acquireLease takes or refreshes the lease for ttl seconds: a new one
// when none holds, a refresh when the header names the holding nonce, 409
// otherwise.
func (w *World) acquireLease(q *request) {
	if !alive(q) {
		return
	}
	ttl, err := strconv.Atoi(q.r.URL.Query().Get("ttl"))
	if err != nil || ttl <= 0 {
		ttl = 30
	}
	now := time.Now()
	l := q.m.lease
	switch {
	case l.live(now) && q.r.Header.Get(NonceHeader) == l.nonce:
		l.expires = now.Add(time.Duration(ttl) * time.Second)
	case l.live(now):
		writeError(q.rw, http.StatusConflict, "lease_held", fmt.Sprintf("lease currently held by %s until %s",
			l.owner, l.expires.UTC().Format(time.RFC3339)))
		return
	default:
		v := 1
		if l != nil {
			v = l.version + 1
		}
		q.m.lease = &lease{nonce: newID(), owner: owner(q.r), expires: now.Add(time.Duration(ttl) * time.Second), version: v}
	}
	writeJSON(q.rw, http.StatusOK, leaseBody(q.m.lease))
}

// owner is who a lease is for: the request's description, or the token's
// user.
func owner(r *http.Request) string {
	if d := r.URL.Query().Get("description"); d != "" {
		return d
	}
	return "ramp@example.com"
}

func (w *World) releaseLease(q *request) {
	l := q.m.lease
	switch {
	case !l.live(time.Now()):
		writeError(q.rw, http.StatusNotFound, "not_found", "machine "+q.m.id+" has no lease")
	case q.r.Header.Get(NonceHeader) != l.nonce:
		writeError(q.rw, http.StatusConflict, "lease_held", "the lease is held by "+l.owner+" under another nonce")
	default:
		q.m.lease = nil
		writeJSON(q.rw, http.StatusOK, map[string]any{"ok": true})
	}
}

// wait answers 200 once the machine is in one of the asked states (for the
// asked instance, if one is named), 408 when timeout seconds pass first.
// It releases the world's lock while it waits.
func (w *World) wait(q *request) {
	query := q.r.URL.Query()
	states := query["state"]
	if len(states) == 0 {
		states = []string{stateStarted}
	}
	for _, s := range states {
		if !slices.Contains([]string{stateStarted, stateStopped, "suspended", stateDestroyed}, s) {
			writeError(q.rw, http.StatusBadRequest, "invalid_state", fmt.Sprintf("state %q: want started, stopped, suspended or destroyed", s))
			return
		}
	}
	timeout, err := strconv.Atoi(query.Get("timeout"))
	if err != nil || timeout <= 0 || timeout > MaxWait {
		timeout = MaxWait
	}
	instance := query.Get("instance_id")
	if instance == "" {
		instance = query.Get("version")
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		now := time.Now()
		q.m.settle(now)
		if slices.Contains(states, q.m.state) && (instance == "" || instance == q.m.instanceID || q.m.state == stateDestroyed) {
			writeJSON(q.rw, http.StatusOK, map[string]any{"ok": true, "state": q.m.state})
			return
		}
		if !now.Before(deadline) {
			writeError(q.rw, http.StatusRequestTimeout, "deadline_exceeded", fmt.Sprintf("machine %s is %s, not %s, after %ds",
				q.m.id, q.m.state, strings.Join(states, " or "), timeout))
			return
		}
		step := min(deadline.Sub(now), 100*time.Millisecond)
		if q.m.state == stateStarting {
			step = min(step, max(q.m.startAt.Sub(now), time.Millisecond))
		}
		w.mu.Unlock()
		time.Sleep(step)
		w.mu.Lock()
	}
}
