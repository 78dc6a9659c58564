//go:build unix

package local

import (
	"errors"
	"fmt"
	"time"
)

// restartPolicy is what a supervisor (of one service's agent, or of the
// shared agent) counts of its agents' deaths to decide when to start the
// next: at once after the first, then with a backoff while they die soon
// after starting, giving up after maxUnready in a row died before serving.
type restartPolicy struct {
	served  bool // some agent served
	unready int  // agents in a row that exited before serving
	quick   int  // agents in a row that died soon after they started
}

// serving counts an agent that serves.
func (p *restartPolicy) serving() { p.served, p.unready = true, 0 }

// died counts the unasked death of an agent started at started, which
// served or not, and records it in rec with reason.
func (p *restartPolicy) died(rec *supervisorFile, reason string, ready bool, started time.Time) {
	rec.Restarts++
	rec.LastRestart, rec.LastReason = time.Now().UTC(), reason
	if !ready {
		p.unready++
	}
	if !ready || time.Since(started) < stableUptime {
		p.quick++
	} else {
		p.quick = 0
	}
}

// startFailed counts an agent that could not be started.
func (p *restartPolicy) startFailed() { p.unready++; p.quick++ }

// nextStart is the wait before the next agent starts or, once too many died
// before serving, the error saying the supervisor gives up (also recorded
// in rec.Stopped); what names the agents, e.g. "agents".
func (p *restartPolicy) nextStart(rec *supervisorFile, what string) (time.Duration, error) {
	if p.unready >= maxUnready {
		rec.Stopped = fmt.Sprintf("gave up at %s after %d %s in a row exited before serving; the last: %s",
			time.Now().UTC().Format(time.RFC3339), p.unready, what, rec.LastReason)
		return 0, errors.New(rec.Stopped)
	}
	return restartDelay(p.quick), nil
}

// restartDelay is the wait before restarting an agent after quick agents
// in a row died soon after they started: none for the first, then from
// 100ms doubling up to maxRestartDelay.
func restartDelay(quick int) time.Duration {
	if quick <= 1 {
		return 0
	}
	return min(100*time.Millisecond<<min(quick-2, 16), maxRestartDelay)
}
