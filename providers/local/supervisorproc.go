//go:build unix

package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// What a supervised agent inherits: the listeners and its end of the link
// as file descriptors 3, 4 and 5, then 6 for the metrics listener when the
// metrics are on (its --metrics-listen says so), and in its environment the
// supervisor's pid (which marks it as supervised) and the control API
// token, which never appears on a command line (envSupervisor and envToken,
// in env.go).
const (
	fdProxy   = 3
	fdControl = 4
	fdLink    = 5
	fdMetrics = 6
)

// runAgentProcess runs the agent under a supervisor, or, in the agent a
// supervisor started, the supervised agent.
func runAgentProcess(ctx context.Context, cfg providers.Config) error {
	inh, err := inherited(cfg.MetricsListen != "")
	if err != nil {
		return err
	}
	if inh != nil {
		return runSupervised(ctx, cfg, inh)
	}
	return supervise(ctx, cfg)
}

// inherited returns what the supervisor passed to this process, with a
// metrics listener if metrics is set; nil if no supervisor started it. It
// removes the variables from the environment, so the revisions do not
// inherit the token, and keeps only close-on-exec copies of the
// descriptors, so the revisions do not inherit the sockets.
func inherited(metrics bool) (*inheritance, error) {
	v, ok := os.LookupEnv(envSupervisor)
	if !ok {
		return nil, nil
	}
	token := os.Getenv(envToken)
	os.Unsetenv(envSupervisor)
	os.Unsetenv(envToken)
	pid, err := strconv.Atoi(v)
	if err != nil || token == "" {
		return nil, fmt.Errorf("start supervised agent: bad %s=%q or no token", envSupervisor, v)
	}
	inh := &inheritance{token: token, supervisor: pid}
	var errs []error
	fds := []int{fdProxy, fdControl, fdLink}
	if metrics {
		fds = append(fds, fdMetrics)
	}
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "inherited-"+strconv.Itoa(fd))
		var err error
		switch fd {
		case fdProxy:
			inh.proxy, err = inheritListener(f)
		case fdControl:
			inh.control, err = inheritListener(f)
		case fdMetrics:
			inh.metrics, err = inheritListener(f)
		case fdLink:
			if inh.link, err = net.FileConn(f); err == nil {
				inh.reader = bufio.NewReader(inh.link)
			}
		}
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("file descriptor %d: %w", fd, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("start supervised agent: %w", err)
	}
	return inh, nil
}

// inheritListener returns the listener f holds, wrapped to tell when its
// server stopped accepting.
func inheritListener(f *os.File) (net.Listener, error) {
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	return newDrainingListener(ln), nil
}

// runSupervised runs the agent a supervisor started on the inherited
// sockets: it tells the supervisor once it serves, then runs until ctx is
// done, a shutdown request (ramp down, from the supervisor, or the state
// directory removed), which it announces so it is not restarted, or until a
// new agent took over after an upgrade.
func runSupervised(ctx context.Context, cfg providers.Config, inh *inheritance) error {
	if m, err := inh.readLink(); err != nil || m.Op != opStart {
		return nil // the supervisor stopped before this spare was needed
	}
	listed, _ := readState(cfg.StateDir)
	a, err := startAgentWith(ctx, cfg, inh)
	if err != nil {
		return err
	}
	sup := a.ho.sup
	go a.readLink()
	if err := sup.send(linkMsg{Op: opReady, PID: os.Getpid(), Adopted: a.adoption(listed)}); err != nil {
		a.log.Printf("%v", err)
	}
	select {
	case <-ctx.Done():
	case <-a.stopReq:
	case <-gone(ctx, a.cfg.StateDir):
		a.log.Printf("state directory %s is gone; stopping", a.cfg.StateDir)
	case to := <-sup.handedOver:
		return a.handOver(context.WithoutCancel(ctx), to)
	}
	if err := sup.send(linkMsg{Op: opExit}); err != nil {
		a.log.Printf("%v", err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	return a.Close(cctx)
}

// socketPair returns two connected unix stream sockets, both close-on-exec
// (exec.Cmd.ExtraFiles clears that flag on the child's copy).
func socketPair() (*os.File, *os.File, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return os.NewFile(uintptr(fds[0]), "link-supervisor"), os.NewFile(uintptr(fds[1]), "link-agent"), nil
}

// child is one agent process the supervisor started.
type child struct {
	pid     int
	proc    *os.Process
	link    net.Conn
	started time.Time
	standby bool // a spare, waiting for opStart
	ready   bool // it said it serves
	exiting bool // it said it shuts down on request
	retired bool // it was told another agent took over
	restart bool // it was started after an agent died

	gone    chan struct{} // closed once the process has ended
	goneErr error         // how it ended; set before gone is closed
}

// childEvent is a message from a child or, with exited set, its end.
type childEvent struct {
	c      *child
	msg    linkMsg
	exited bool
	err    error
}

// spawn starts an agent from exe on the supervisor's listeners. Its
// messages and its end arrive on s.events.
func (s *supervisor) spawn(exe string) (*child, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, fmt.Errorf("start agent: %w", err)
	}
	cmd := exec.Command(exe, AgentArgs(s.cfg)...)
	// A clean environment (see env.go), which holds no RAMP_* variable,
	// and the two this supervisor passes its agent.
	cmd.Env = append(agentEnv(), envSupervisor+"="+strconv.Itoa(os.Getpid()), envToken+"="+s.token)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{s.files[0], s.files[1], theirs} // fdProxy, fdControl, fdLink
	if len(s.files) > 2 {
		cmd.ExtraFiles = append(cmd.ExtraFiles, s.files[2]) // fdMetrics
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start agent %s: %w", exe, err)
	}
	c := &child{pid: cmd.Process.Pid, proc: cmd.Process, link: conn, started: time.Now(), gone: make(chan struct{})}
	s.live[c] = struct{}{}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			var m linkMsg
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				s.events <- childEvent{c: c, msg: m}
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		c.goneErr = err
		close(c.gone)
		select { // read what it said last; a grandchild holding the link cannot stall this
		case <-read:
		case <-time.After(time.Second):
		}
		conn.Close()
		<-read
		s.events <- childEvent{c: c, exited: true, err: err}
	}()
	return c, nil
}

// launch starts an agent from exe and tells it to serve.
func (s *supervisor) launch(exe string) (*child, error) {
	c, err := s.spawn(exe)
	if err != nil {
		return nil, err
	}
	if !s.send(c, linkMsg{Op: opStart}) {
		c.retired = true
		select { // an executable that exits at once closes the link first: say how it ended
		case <-c.gone:
			return nil, fmt.Errorf("start agent %s: it %s before serving", exe, exitReason(c.goneErr))
		case <-time.After(time.Second):
		}
		s.kill(c)
		return nil, fmt.Errorf("start agent %s: it does not listen to the supervisor", exe)
	}
	return c, nil
}

// send writes m to c, logging a failure.
func (s *supervisor) send(c *child, m linkMsg) bool {
	b, _ := json.Marshal(m)
	c.link.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.link.Write(append(b, '\n')); err != nil {
		s.log.Printf("tell agent pid %d %s: %v", c.pid, m.Op, err)
		return false
	}
	return true
}

// kill stops c at once; a killed agent leaves the revisions running.
func (s *supervisor) kill(c *child) {
	if err := c.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.log.Printf("kill agent pid %d: %v", c.pid, err)
	}
}

// exitReason describes how an agent process ended.
func exitReason(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exited (exit status 0)"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("was killed (signal: %v)", ws.Signal())
		}
		return fmt.Sprintf("exited (%v)", err)
	default:
		return fmt.Sprintf("ended (%v)", err)
	}
}

// listenFiles opens the proxy listener on cfg.Listen, the control listener
// on a loopback port and, if set, the metrics listener on
// cfg.MetricsListen, as files to pass on.
func listenFiles(ctx context.Context, cfg providers.Config) ([]*os.File, error) {
	var lc net.ListenConfig
	var files []*os.File
	lns := []struct{ what, addr string }{{"the proxy", cfg.Listen}, {"the control API", "127.0.0.1:0"}}
	if cfg.MetricsListen != "" {
		lns = append(lns, struct{ what, addr string }{"the metrics", cfg.MetricsListen})
	}
	for _, l := range lns {
		ln, err := lc.Listen(ctx, "tcp", l.addr)
		if err == nil {
			var f *os.File
			f, err = listenerFile(ln.(*net.TCPListener))
			ln.Close()
			if f != nil {
				files = append(files, f)
			}
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("listen for %s: %w", l.what, err)
		}
	}
	return files, nil
}

// listenerFile returns a copy of ln's descriptor as a file whose Fd method,
// which exec calls to pass it on, leaves it non-blocking: the agents
// serving on it share that mode, and a blocking accept would stall their
// shutdown. (TCPListener.File returns a file whose Fd makes it blocking.)
func listenerFile(ln *net.TCPListener) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	err = rc.Control(func(fd uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if nfd, derr = syscall.Dup(int(fd)); derr == nil {
			syscall.CloseOnExec(nfd)
		}
	})
	if err = errors.Join(err, derr); err != nil {
		return nil, fmt.Errorf("copy the listener: %w", err)
	}
	return os.NewFile(uintptr(nfd), "listener-"+ln.Addr().String()), nil
}

// closeFiles closes the supervisor's copies of the listeners; an agent
// still running keeps its own.
func (s *supervisor) closeFiles() {
	for _, f := range s.files {
		f.Close()
	}
	s.files = nil
}
