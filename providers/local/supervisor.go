//go:build unix

package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

const (
	// maxRestartDelay caps the wait before restarting an agent that keeps
	// dying soon after it started.
	maxRestartDelay = 5 * time.Second
	// stableUptime is how long an agent must have run for its death to
	// restart the next one at once.
	stableUptime = 10 * time.Second
	// maxUnready is how many agents in a row may exit before serving before
	// the supervisor gives up.
	maxUnready = 5
	// upgradeTimeout bounds the wait for an upgraded agent to serve.
	upgradeTimeout = agentStartTimeout
	// stopKillAfter bounds a requested stop; then the supervisor kills
	// whatever agent still runs.
	stopKillAfter = closeTimeout + 30*time.Second
)

// supervisor is the small process ramp starts detached for the local
// provider. It holds the proxy and control listeners and runs the agent as
// its child, passing it the listeners, so the addresses in agent.json and
// the token stay valid across agents, and connections arriving while no
// agent accepts wait in the listen backlog. It keeps a spare agent process
// started and waiting; when the agent dies unasked the spare starts at once
// and re-adopts the revisions and the split from state.json;
// on upgrade it starts an agent from a new executable beside the old one
// and tells the old one to hand over once the new one serves. It stops
// when the agent shuts down on request (ramp down, the state directory
// removed) and, on SIGTERM or SIGINT, stops the agent that way first.
type supervisor struct {
	cfg    providers.Config
	log    *log.Logger
	files  []*os.File // the proxy, control and (if on) metrics listeners
	token  string
	exe    string // the executable agents start from
	rec    supervisorFile
	events chan childEvent

	live    map[*child]struct{} // started and not yet reaped
	cur     *child              // the agent serving or starting to
	next    *child              // the agent an upgrade starts, until it serves
	nextExe string
	restartPolicy
	stopping bool
	dirGone  bool
	gaveUp   bool
	fatal    error

	standby      *child // a spare agent, started and waiting, to restart at once
	standbyFails int    // spare agents in a row that died before they were needed

	restartT, upgradeT, killT, standbyT *time.Timer
}

// supervise runs the supervisor for cfg until the agent shut down on
// request or ctx is done (then it stops the agent first).
func supervise(ctx context.Context, cfg providers.Config) error {
	cfg, err := normalize(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if err := refuseSecondAgent(ctx, cfg); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("supervise the local agent: find this program: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.StateDir, agentLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open agent log: %w", err)
	}
	defer logFile.Close()
	files, err := listenFiles(ctx, cfg)
	if err != nil {
		return err
	}
	s := &supervisor{
		cfg: cfg, files: files, token: rand.Text(), exe: exe,
		log:    log.New(logFile, "supervisor: ", log.LstdFlags|log.Lmicroseconds),
		rec:    supervisorFile{PID: os.Getpid(), Executable: exe, Started: time.Now().UTC()},
		events: make(chan childEvent, 16),
		live:   map[*child]struct{}{},
	}
	defer s.closeFiles()
	return s.run(ctx)
}

// run starts the agent and handles its life until the supervisor stops.
func (s *supervisor) run(ctx context.Context) error {
	s.save()
	c, err := s.launch(s.exe)
	if err != nil {
		s.finish()
		return err
	}
	s.cur = c
	s.log.Printf("supervising agent pid %d for %s (supervisor pid %d)", c.pid, s.cfg.Service, os.Getpid())
	done, dirGone := ctx.Done(), gone(ctx, s.cfg.StateDir)
	for !s.stopping || len(s.live) > 0 {
		select {
		case <-done:
			done = nil
			s.log.Printf("stop: %v", context.Cause(ctx))
			s.stop()
		case <-dirGone:
			dirGone, s.dirGone = nil, true
			s.log.Printf("state directory %s is gone; stopping", s.cfg.StateDir)
			s.stop()
		case ev := <-s.events:
			if ev.exited {
				delete(s.live, ev.c)
				s.onExit(ev.c, ev.err)
			} else {
				s.onMessage(ev.c, ev.msg)
			}
		case <-timerC(s.restartT):
			s.restartT = nil
			s.restart()
		case <-timerC(s.standbyT):
			s.standbyT = nil
			s.ensureStandby()
		case <-timerC(s.upgradeT):
			s.upgradeT = nil
			if s.next != nil {
				s.log.Printf("upgrade: agent pid %d does not serve after %v; killing it", s.next.pid, upgradeTimeout)
				s.kill(s.next)
			}
		case <-timerC(s.killT):
			for c := range s.live {
				s.log.Printf("agent pid %d still runs %v after the stop; killing it", c.pid, stopKillAfter)
				s.kill(c)
			}
		}
	}
	s.finish()
	return s.fatal
}

// timerC returns t's channel; nil (never ready) for no timer.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// onMessage handles a message from agent c.
func (s *supervisor) onMessage(c *child, m linkMsg) {
	switch m.Op {
	case opReady:
		c.ready = true
		s.serving()
		s.log.Printf("agent pid %d serves", c.pid)
		if c == s.next {
			s.promote()
			return
		}
		if c != s.cur {
			return
		}
		if c.restart {
			s.rec.Readopted = m.Adopted
		}
		s.rec.Agent = c.pid
		s.save()
		if s.stopping {
			s.send(c, linkMsg{Op: opStop})
		}
		s.ensureStandby()
	case opExit:
		c.exiting = true
		if c == s.cur {
			s.log.Printf("agent pid %d shuts down on request", c.pid)
			s.stop()
			s.closeFiles() // free the addresses once the agent closes its own copies
		}
	case opUpgrade:
		s.upgrade(c, m.Executable)
	}
}

// upgrade starts an agent from exe beside c, the agent serving now.
func (s *supervisor) upgrade(c *child, exe string) {
	var why string
	switch {
	case c != s.cur || !c.ready:
		why = "only the agent serving may ask for an upgrade"
	case s.next != nil:
		why = "another upgrade is in progress"
	case s.stopping:
		why = "the supervisor is stopping"
	}
	if why == "" {
		n, err := s.launch(exe)
		if err == nil {
			s.next, s.nextExe = n, exe
			s.upgradeT = time.NewTimer(upgradeTimeout)
			s.log.Printf("upgrade: agent pid %d from %s starts beside pid %d", n.pid, exe, c.pid)
			return
		}
		why = err.Error()
	}
	s.log.Printf("upgrade refused: %s", why)
	s.send(c, linkMsg{Op: opResume, Error: why})
}

// promote makes the agent an upgrade started the one serving and tells the
// old one to hand over.
func (s *supervisor) promote() {
	old := s.cur
	s.cur, s.next = s.next, nil
	if s.upgradeT != nil {
		s.upgradeT.Stop()
		s.upgradeT = nil
	}
	s.exe = s.nextExe
	s.rec.Executable, s.rec.Agent = s.exe, s.cur.pid
	s.rec.Upgrades++
	s.rec.LastUpgrade = time.Now().UTC()
	s.save()
	s.dropStandby() // a spare runs the old executable
	s.ensureStandby()
	if old == nil {
		return
	}
	old.retired = true
	s.log.Printf("upgrade: agent pid %d serves; agent pid %d hands over", s.cur.pid, old.pid)
	if !s.send(old, linkMsg{Op: opHandover, PID: s.cur.pid}) {
		s.kill(old) // it cannot hear it should stop serving
	}
}

// stop stops the supervisor: the agent serving is asked to shut down as
// ramp down does (an agent restarting is started to do so, so the
// revisions stop too), an upgrade under way is abandoned, and whatever
// still runs after stopKillAfter is killed.
func (s *supervisor) stop() {
	if s.stopping {
		return
	}
	s.stopping = true
	s.killT = time.NewTimer(stopKillAfter)
	s.dropStandby()
	if s.next != nil {
		s.kill(s.next)
	}
	switch {
	case s.cur != nil && s.cur.ready && !s.cur.exiting:
		s.send(s.cur, linkMsg{Op: opStop})
	case s.cur == nil && s.restartT != nil && !s.dirGone && s.fatal == nil:
		s.restartT.Stop()
		s.restartT = nil
		if c, err := s.launch(s.exe); err == nil { // it is told to stop once it serves
			s.cur = c
		}
	}
}

// finish records how the supervisor ended: supervisor.json stays only to
// say that it gave up restarting the agent.
func (s *supervisor) finish() {
	s.closeFiles()
	switch {
	case s.dirGone:
	case s.gaveUp:
		s.save()
	default:
		if err := os.Remove(filepath.Join(s.cfg.StateDir, supervisorFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Printf("remove %s: %v", supervisorFileName, err)
		}
	}
	s.log.Printf("stopped")
}

// save writes supervisor.json.
func (s *supervisor) save() {
	if err := writeJSONAtomic(filepath.Join(s.cfg.StateDir, supervisorFileName), s.rec); err != nil {
		s.log.Printf("%v", err)
	}
}
