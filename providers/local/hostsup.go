//go:build unix

package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// runHostProcess runs the shared agent under a supervisor or, in the host
// a supervisor started, the supervised host.
func runHostProcess(ctx context.Context, dir string) error {
	setup, err := inheritedHost(dir)
	if err != nil {
		return err
	}
	if setup.sup != nil {
		return runHost(ctx, dir, setup)
	}
	return superviseHost(ctx, dir)
}

// hostSupervisor is the process ramp starts for a shared agent (see the
// comment on HostCommand): it holds the host's control listener and a copy
// of the listeners of every service the host runs, and runs the host as
// its child, starting another on the same sockets when it dies unasked.
// It stops when the host stops on its own (opExit) and, on SIGTERM or
// SIGINT, stops the host that way first.
type hostSupervisor struct {
	dir, exe, token string
	log             *log.Logger
	control         *os.File       // the host's control listener
	services        []*keptService // in the order they joined
	events          chan hostEvent
	rec             supervisorFile // host-supervisor.json

	cur     *hostChild // the host running, if any
	next    *hostChild // the host an upgrade starts, until it serves
	nextExe string
	restartPolicy
	stopping bool
	fatal    error

	restartT, killT, upgradeT *time.Timer
}

// keptService is a service the supervisor keeps for the next host, with
// its copies of the service's listeners.
type keptService struct {
	heldService
	files []*os.File
}

// superviseHost runs the shared agent's supervisor for dir until the host
// stops on its own or ctx is done (then it stops the host first).
func superviseHost(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("shared agent: create %s: %w", dir, err)
	}
	lock, err := lockHostDir(ctx, dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("supervise the shared agent: find this program: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, hostLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("shared agent: open its log: %w", err)
	}
	defer logFile.Close()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("shared agent: listen for its control API: %w", err)
	}
	control, err := listenerFile(ln.(*net.TCPListener))
	ln.Close()
	if err != nil {
		return fmt.Errorf("shared agent: %w", err)
	}
	s := &hostSupervisor{dir: dir, exe: exe, token: rand.Text(), control: control, events: make(chan hostEvent, 16),
		log: log.New(logFile, "supervisor: ", log.LstdFlags|log.Lmicroseconds),
		rec: supervisorFile{PID: os.Getpid(), Executable: exe, Started: time.Now().UTC()}}
	defer s.closeFiles()
	return s.run(ctx)
}

// run starts the host and handles its life until the supervisor stops.
func (s *hostSupervisor) run(ctx context.Context) error {
	s.save()
	c, err := s.spawn(s.exe)
	if err != nil {
		s.finish()
		return err
	}
	s.cur = c
	s.log.Printf("supervising shared agent pid %d for %s (supervisor pid %d)", c.pid, s.dir, os.Getpid())
	done := ctx.Done()
	for s.cur != nil || s.restartT != nil {
		select {
		case <-done:
			done = nil
			s.log.Printf("stop: %v", context.Cause(ctx))
			s.stop()
		case ev := <-s.events:
			if ev.exited {
				s.onExit(ev.c, ev.err)
			} else {
				s.onMessage(ev.c, ev.msg, ev.files)
			}
		case <-timerC(s.restartT):
			s.restartT = nil
			s.restart()
		case <-timerC(s.upgradeT):
			s.upgradeT = nil
			if s.next != nil {
				s.log.Printf("upgrade: shared agent pid %d does not serve after %v; killing it", s.next.pid, upgradeTimeout)
				s.next.timedOut = true
				s.next.proc.Kill()
			}
		case <-timerC(s.killT):
			s.killT = nil
			if s.cur != nil {
				s.log.Printf("shared agent pid %d still runs %v after the stop; killing it", s.cur.pid, stopKillAfter)
				s.cur.proc.Kill()
			}
		}
	}
	s.finish()
	return s.fatal
}

// finish records how the supervisor ended: host-supervisor.json stays only
// to say that it gave up starting the host.
func (s *hostSupervisor) finish() {
	if s.rec.Stopped != "" {
		s.save()
	} else if err := os.Remove(filepath.Join(s.dir, hostSupervisorFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Printf("remove %s: %v", hostSupervisorFileName, err)
	}
	s.log.Printf("stopped")
}

// save writes host-supervisor.json.
func (s *hostSupervisor) save() {
	if err := writeJSONAtomic(filepath.Join(s.dir, hostSupervisorFileName), s.rec); err != nil {
		s.log.Printf("%v", err)
	}
}

// onMessage handles a message from host c: the one serving, or the one an
// upgrade starts, which may take a join or a leave too as soon as it
// serves.
func (s *hostSupervisor) onMessage(c *hostChild, m hostMsg, files []*os.File) {
	if c != s.cur && c != s.next {
		closeAll(files)
		return
	}
	switch m.Op {
	case opReady:
		c.ready = true
		s.serving()
		if c == s.next {
			s.promote()
			break
		}
		s.rec.Agent = c.pid
		s.save()
		s.log.Printf("shared agent pid %d serves %d service(s)", c.pid, len(s.services))
	case opJoin:
		s.drop(m.Service)
		s.services = append(s.services, &keptService{
			heldService: heldService{Service: m.Service, Args: m.Args, Token: m.Token, Files: len(files)}, files: files})
		s.log.Printf("service %s joined", m.Service)
		return
	case opLeave:
		s.drop(m.Service)
		s.log.Printf("service %s left", m.Service)
	case opUpgrade:
		s.upgrade(c, m.Executable)
	case opExit:
		if c == s.next { // it found no service to run: its end fails the upgrade
			s.log.Printf("upgrade: shared agent pid %d stops on its own", c.pid)
			break
		}
		c.exiting = true
		s.log.Printf("shared agent pid %d stops on its own", c.pid)
		s.closeFiles() // free the addresses once the host closes its own copies
	}
	closeAll(files)
}

// drop closes the listeners of service and forgets it.
func (s *hostSupervisor) drop(service string) {
	for i, k := range s.services {
		if k.Service == service {
			closeAll(k.files)
			s.services = append(s.services[:i], s.services[i+1:]...)
			return
		}
	}
}

// onExit handles the end of host c: unasked, another starts after the
// backoff.
func (s *hostSupervisor) onExit(c *hostChild, err error) {
	if c == s.next {
		s.upgradeFailed(c, err)
		return
	}
	if c != s.cur {
		return
	}
	s.abandonUpgrade()
	s.cur = nil
	reason := fmt.Sprintf("shared agent pid %d %s", c.pid, exitReason(err))
	switch {
	case c.exiting || s.stopping:
		s.log.Printf("%s", reason)
		return
	case !s.served:
		s.fatal = fmt.Errorf("start the shared agent: %s before serving", reason)
		s.log.Printf("%v", s.fatal)
		return
	}
	s.log.Printf("%s unexpectedly; restarting it with %d service(s)", reason, len(s.services))
	s.died(&s.rec, reason, c.ready, c.started)
	s.schedule()
}

// schedule starts a host again after the backoff, or gives up.
func (s *hostSupervisor) schedule() {
	d, err := s.nextStart(&s.rec, "shared agents")
	if err != nil {
		s.fatal = err
		s.log.Printf("%v", s.fatal)
		return
	}
	if d == 0 {
		s.restart()
		return
	}
	s.log.Printf("restarting in %v (%d quick deaths in a row)", d, s.quick)
	s.restartT = time.NewTimer(d)
}

// restart starts a host after one died, unless its directory is gone.
func (s *hostSupervisor) restart() {
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		s.log.Printf("%s is gone; stopping", s.dir)
		return
	}
	c, err := s.spawn(s.exe)
	if err != nil {
		s.log.Printf("restart: %v", err)
		s.startFailed()
		s.schedule()
		return
	}
	s.cur = c
	s.log.Printf("restarted: shared agent pid %d", c.pid)
}

// stop asks the host to stop as it does on its own (SIGTERM), killing it
// if it still runs after stopKillAfter; a restart under way is dropped.
func (s *hostSupervisor) stop() {
	if s.stopping {
		return
	}
	s.stopping = true
	if s.restartT != nil {
		s.restartT.Stop()
		s.restartT = nil
	}
	s.abandonUpgrade()
	if s.cur != nil {
		if err := s.cur.proc.Signal(syscall.SIGTERM); err != nil {
			s.log.Printf("stop shared agent pid %d: %v", s.cur.pid, err)
		}
		s.killT = time.NewTimer(stopKillAfter)
	}
}

// closeFiles closes the supervisor's copies of every listener; a host
// still running keeps its own.
func (s *hostSupervisor) closeFiles() {
	if s.control != nil {
		s.control.Close()
		s.control = nil
	}
	for _, k := range s.services {
		closeAll(k.files)
	}
	s.services = nil
}
