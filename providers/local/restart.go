//go:build unix

package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// onExit handles the end of agent c.
func (s *supervisor) onExit(c *child, err error) {
	reason := fmt.Sprintf("agent pid %d %s", c.pid, exitReason(err))
	switch {
	case c.standby:
		s.onStandbyExit(c, reason)
		return
	case c.retired && !c.ready:
		s.log.Printf("%s before serving", reason)
		return
	case c.retired:
		s.log.Printf("%s after handing over", reason)
		return
	case c == s.next:
		s.next = nil
		s.log.Printf("upgrade failed: %s before serving", reason)
		if s.cur != nil {
			s.send(s.cur, linkMsg{Op: opResume, Error: "the new agent " + exitReason(err) + " before serving; see agent.log"})
		}
		return
	case c != s.cur:
		return
	}
	s.cur = nil
	switch {
	case c.exiting || s.stopping:
		s.log.Printf("%s", reason)
		s.stop()
		return
	case !s.served:
		s.fatal = fmt.Errorf("start local agent: %s before serving", reason)
		s.log.Printf("%v", s.fatal)
		s.stop()
		return
	}
	s.log.Printf("%s unexpectedly; restarting it", reason)
	s.died(&s.rec, reason, c.ready, c.started)
	s.rec.Readopted = ""
	if s.next != nil { // an upgrade was under way: its agent takes over
		s.cur, s.next = s.next, nil
		s.cur.restart = true
		s.exe = s.nextExe
		s.save()
		return
	}
	s.save()
	s.schedule()
}

// schedule restarts the agent after the backoff, or gives up.
func (s *supervisor) schedule() {
	d, err := s.nextStart(&s.rec, "agents")
	if err != nil {
		s.fatal, s.gaveUp = err, true
		s.log.Printf("%v", err)
		s.save()
		s.stop()
		return
	}
	if d == 0 {
		s.restart()
		return
	}
	s.log.Printf("restarting in %v (%d quick deaths in a row)", d, s.quick)
	s.restartT = time.NewTimer(d)
}

// restart starts the spare agent, or a new one, after one died.
func (s *supervisor) restart() {
	if _, err := os.Stat(s.cfg.StateDir); errors.Is(err, fs.ErrNotExist) {
		s.dirGone = true
		s.stop()
		return
	}
	c := s.standby
	if c != nil {
		s.standby, c.standby = nil, false
		if !s.send(c, linkMsg{Op: opStart}) {
			c.retired = true
			s.kill(c)
			c = nil
		}
	}
	if c == nil {
		var err error
		if c, err = s.launch(s.exe); err != nil {
			s.log.Printf("restart: %v", err)
			s.startFailed()
			s.schedule()
			return
		}
	}
	c.restart = true
	s.cur = c
	s.log.Printf("restarted: agent pid %d", c.pid)
}

// ensureStandby starts a spare agent, which waits to be told to start, if
// none waits and the agent serves.
func (s *supervisor) ensureStandby() {
	if s.standby != nil || s.standbyT != nil || s.stopping || s.cur == nil || !s.cur.ready || s.next != nil {
		return
	}
	c, err := s.spawn(s.exe)
	if err != nil {
		s.log.Printf("start a spare agent: %v", err)
		return
	}
	c.standby = true
	s.standby = c
}

// dropStandby stops the spare agent, if any.
func (s *supervisor) dropStandby() {
	if c := s.standby; c != nil {
		s.standby = nil
		s.kill(c)
	}
	if s.standbyT != nil {
		s.standbyT.Stop()
		s.standbyT = nil
	}
}

// onStandbyExit handles the end of a spare agent: unasked, a new spare is
// started after a backoff, until maxUnready died in a row.
func (s *supervisor) onStandbyExit(c *child, reason string) {
	if c != s.standby {
		return // dropped or started
	}
	s.standby = nil
	s.standbyFails++
	s.log.Printf("spare %s", reason)
	if s.standbyFails < maxUnready && !s.stopping {
		s.standbyT = time.NewTimer(max(time.Second, restartDelay(s.standbyFails+1)))
	}
}
