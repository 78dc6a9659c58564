//go:build unix

package local

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// Both sides of the link in a shared agent's upgrade (see hostupgrade.go).
// The host serving asks (opUpgrade); the supervisor starts a host from the
// new executable beside it on the same listeners, which restores every
// service; once that one serves it becomes the host the supervisor runs
// and restarts, and the old one is told to hand over (opHandover). If it
// exits before serving, or does not serve within upgradeTimeout (then it
// is killed), the old one is told to go on (opResume, saying how the new
// one ended). Neither counts as a death of the shared agent.

// upgrade starts a host from exe beside c, the host serving now.
func (s *hostSupervisor) upgrade(c *hostChild, exe string) {
	var why string
	switch {
	case c != s.cur || !c.ready:
		why = "only the shared agent serving may ask for an upgrade"
	case s.next != nil:
		why = "another upgrade is in progress"
	case s.stopping:
		why = "the supervisor is stopping"
	}
	if why == "" {
		n, err := s.spawn(exe)
		if err == nil {
			s.next, s.nextExe = n, exe
			s.upgradeT = time.NewTimer(upgradeTimeout)
			s.log.Printf("upgrade: shared agent pid %d from %s starts beside pid %d with %d service(s)", n.pid, exe, c.pid, len(s.services))
			return
		}
		why = err.Error()
	}
	s.log.Printf("upgrade refused: %s", why)
	s.tell(c, linkMsg{Op: opResume, Error: why})
}

// promote makes the host an upgrade started, which serves, the one the
// supervisor runs, and tells the old one to hand over.
func (s *hostSupervisor) promote() {
	old := s.cur
	s.cur, s.next = s.next, nil
	s.stopUpgradeTimer()
	s.exe = s.nextExe
	s.rec.Executable, s.rec.Agent = s.exe, s.cur.pid
	s.rec.Upgrades++
	s.rec.LastUpgrade = time.Now().UTC()
	s.save()
	s.log.Printf("upgrade: shared agent pid %d from %s serves %d service(s); pid %d hands over", s.cur.pid, s.exe, len(s.services), old.pid)
	if !s.tell(old, linkMsg{Op: opHandover, PID: s.cur.pid}) {
		old.proc.Kill() // it cannot hear that it should stop serving
	}
}

// upgradeFailed tells the host serving that the host an upgrade started,
// c, ended (err) before serving, so it goes on.
func (s *hostSupervisor) upgradeFailed(c *hostChild, err error) {
	s.next = nil
	s.stopUpgradeTimer()
	why := fmt.Sprintf("the shared agent started from %s (pid %d) %s before serving", c.exe, c.pid, exitReason(err))
	if c.timedOut {
		why = fmt.Sprintf("the shared agent started from %s (pid %d) did not serve within %v, and was killed", c.exe, c.pid, upgradeTimeout)
	}
	s.log.Printf("upgrade failed: %s", why)
	if s.cur != nil {
		s.tell(s.cur, linkMsg{Op: opResume, Error: why})
	}
}

// abandonUpgrade kills the host an upgrade started, if any, as the host
// that asked for it ended or the supervisor stops.
func (s *hostSupervisor) abandonUpgrade() {
	if s.next == nil {
		return
	}
	s.log.Printf("upgrade abandoned: killing shared agent pid %d", s.next.pid)
	s.next.proc.Kill()
	s.next = nil
	s.stopUpgradeTimer()
}

// stopUpgradeTimer stops the wait for the host an upgrade started.
func (s *hostSupervisor) stopUpgradeTimer() {
	if s.upgradeT != nil {
		s.upgradeT.Stop()
		s.upgradeT = nil
	}
}

// tell writes m to host c, logging a failure.
func (s *hostSupervisor) tell(c *hostChild, m linkMsg) bool {
	b, _ := json.Marshal(m)
	c.link.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.link.Write(append(b, '\n')); err != nil {
		s.log.Printf("tell shared agent pid %d %s: %v", c.pid, m.Op, err)
		return false
	}
	return true
}

// The host's side (hostLink).

// deliver hands the supervisor's answer to the upgrade waiting for it.
func (l *hostLink) deliver(m linkMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.outcome != nil {
		l.outcome <- m
		l.outcome = nil
	}
}

// bind has the agents the link starts from now on hand an upgrade to the
// host's upgrade.
func (l *hostLink) bind(upgrade func(context.Context, string) (UpgradeResult, error)) {
	l.hostUpgrade = upgrade
}

// upgrade asks the supervisor to start a host from exe beside this one.
func (l *hostLink) upgrade(exe string) (<-chan linkMsg, error) {
	ch := make(chan linkMsg, 1)
	if !l.canUpgrade {
		return nil, fmt.Errorf("the shared agent's supervisor (pid %d) is from a ramp that cannot upgrade it: ramp down its services and deploy them again to move them to a new ramp: %w",
			l.supervisor, providers.ErrInvalid)
	}
	l.mu.Lock()
	switch {
	case !l.orphaned.IsZero():
		l.mu.Unlock()
		return nil, fmt.Errorf("the shared agent's supervisor (pid %d) is gone, so nothing can start the new one", l.supervisor)
	case l.outcome != nil:
		l.mu.Unlock()
		return nil, fmt.Errorf("another upgrade is in progress: %w", providers.ErrConflict)
	}
	l.outcome = ch
	l.mu.Unlock()
	if err := l.send(hostMsg{Op: opUpgrade, Executable: exe}, nil); err != nil {
		l.deliver(linkMsg{})
		return nil, err
	}
	return ch, nil
}
