package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// The messages of the link between the supervisor and an agent it runs,
// one JSON object a line on a unix socket pair.
const (
	// opReady (agent): it serves; Adopted says what it re-adopted.
	opReady = "ready"
	// opExit (agent): it shuts down on request; do not restart it.
	opExit = "exit"
	// opUpgrade (agent): start an agent from Executable and hand over to it.
	opUpgrade = "upgrade"
	// opHandover (supervisor): the agent PID serves now; stop accepting,
	// drain and exit, leaving the revisions running.
	opHandover = "handover"
	// opResume (supervisor): the upgrade failed (Error); go on serving.
	opResume = "resume"
	// opStop (supervisor): shut down as ramp down does.
	opStop = "stop"
	// opStart (supervisor): serve now. An agent waits for it before it
	// restores anything, so a spare started ahead takes over at once.
	opStart = "start"
)

// linkMsg is one message on the link.
type linkMsg struct {
	Op         string `json:"op"`
	PID        int    `json:"pid,omitempty"`
	Executable string `json:"executable,omitempty"`
	Adopted    string `json:"adopted,omitempty"`
	Error      string `json:"error,omitempty"`
}

// inheritance is what a supervised agent gets from its supervisor.
type inheritance struct {
	proxy, control net.Listener
	metrics        net.Listener // nil unless the metrics are on
	link           net.Conn
	reader         *bufio.Reader // reads link
	token          string
	supervisor     int // its pid, which agent.json names
	// warnings, for an agent in a shared agent (hostlink.go), says what
	// its status should say about the shared agent's supervisor.
	warnings func() []string
	// upgrade, for an agent in a supervised shared agent, upgrades the
	// whole shared agent (host.upgrade).
	upgrade func(context.Context, string) (UpgradeResult, error)
}

// readLink reads the supervisor's next message.
func (inh *inheritance) readLink() (linkMsg, error) {
	var m linkMsg
	line, err := inh.reader.ReadBytes('\n')
	if err != nil {
		return m, fmt.Errorf("read from the supervisor: %w", err)
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("read from the supervisor: %w", err)
	}
	return m, nil
}

// supervision is the agent's side of the link to its supervisor.
type supervision struct {
	pid    int
	link   net.Conn
	reader *bufio.Reader

	sendMu sync.Mutex

	mu       sync.Mutex
	outcome  chan linkMsg // set while an upgrade waits for the supervisor
	orphaned time.Time    // when the link broke: the supervisor is gone

	handedOver chan int // the pid of the agent that took over
}

// newSupervision returns the agent's side of the link in inh.
func newSupervision(inh *inheritance) *supervision {
	return &supervision{pid: inh.supervisor, link: inh.link, reader: inh.reader, handedOver: make(chan int, 1)}
}

// send writes m to the supervisor.
func (s *supervision) send(m linkMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Op, err)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.link.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.link.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("tell the supervisor %s: %w", m.Op, err)
	}
	return nil
}

// orphanedAt returns when the supervisor went away; zero while it runs.
func (s *supervision) orphanedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orphaned
}

// readLink handles the supervisor's messages until the link breaks.
func (a *Agent) readLink() {
	s := a.ho.sup
	sc := bufio.NewScanner(s.reader)
	handed := false
	for sc.Scan() {
		var m linkMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			a.log.Printf("supervisor link: %v", err)
			continue
		}
		switch m.Op {
		case opStop:
			a.log.Printf("the supervisor asks to stop")
			a.requestStop()
		case opHandover:
			handed = true
			select {
			case s.handedOver <- m.PID:
			default:
			}
			s.deliver(m)
		case opResume:
			a.thaw()
			s.deliver(m)
		}
	}
	s.mu.Lock()
	s.orphaned = time.Now()
	s.mu.Unlock()
	a.log.Printf("the supervisor (pid %d) is gone: %v", s.pid, sc.Err())
	if !handed {
		a.thaw()
		s.deliver(linkMsg{Op: opResume, Error: "the supervisor is gone"})
	}
}

// deliver hands the supervisor's answer to the upgrade waiting for it.
func (s *supervision) deliver(m linkMsg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcome != nil {
		s.outcome <- m
		s.outcome = nil
	}
}

// upgrade freezes the agent's state, asks the supervisor to start an agent
// from req.Executable on the same sockets and waits for the answer: once
// the new agent serves, this one hands over (see handOver); if it fails,
// this one goes on. An agent in a shared agent upgrades the shared agent,
// every service it runs with it (host.upgrade).
func (a *Agent) upgrade(ctx context.Context, req upgradeRequest) (UpgradeResult, error) {
	s := a.ho.sup
	switch {
	case s == nil && a.hostUpgrade == nil:
		return UpgradeResult{}, fmt.Errorf("upgrade: this agent runs without a supervisor, so it cannot hand its sockets over: %w", providers.ErrInvalid)
	case !filepath.IsAbs(req.Executable):
		return UpgradeResult{}, fmt.Errorf("upgrade: executable %q is not an absolute path: %w", req.Executable, providers.ErrInvalid)
	}
	if _, err := os.Stat(req.Executable); err != nil {
		return UpgradeResult{}, fmt.Errorf("upgrade: %w: %w", providers.ErrInvalid, err)
	}
	if a.hostUpgrade != nil {
		return a.hostUpgrade(ctx, req.Executable)
	}
	if err := a.freeze(); err != nil {
		return UpgradeResult{}, err
	}
	outcome := make(chan linkMsg, 1)
	s.mu.Lock()
	s.outcome = outcome
	s.mu.Unlock()
	a.log.Printf("upgrade: state frozen; asking the supervisor to start %s", req.Executable)
	if err := s.send(linkMsg{Op: opUpgrade, Executable: req.Executable}); err != nil {
		s.deliver(linkMsg{})
		a.thaw()
		return UpgradeResult{}, fmt.Errorf("upgrade: %w", err)
	}
	select {
	case m := <-outcome:
		if m.Op != opHandover {
			return UpgradeResult{}, fmt.Errorf("upgrade to %s failed, the agent (pid %d) goes on: %s: %w",
				req.Executable, os.Getpid(), m.Error, providers.ErrNotReady)
		}
		return UpgradeResult{From: os.Getpid(), To: m.PID, Executable: req.Executable}, nil
	case <-ctx.Done():
		return UpgradeResult{}, fmt.Errorf("upgrade: %w", ctx.Err())
	}
}

// freeze stops every change of state, as the agent is about to hand over:
// the control calls that may change state are refused, the ones running
// end, and a.closing stops the rest (timers, a deploy's end). It refuses
// during a deploy.
func (a *Agent) freeze() error {
	if err := a.ho.gate.freeze(freezeWait); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var err error
	switch {
	case a.closing:
		err = fmt.Errorf("upgrade: %w", errClosing)
	case a.deployCancel != nil:
		err = fmt.Errorf("upgrade: a deploy is in progress; upgrade once it ended: %w", providers.ErrConflict)
	default:
		a.closing = true
		if err = a.persistLocked(); err != nil {
			a.closing = false
		}
	}
	if err != nil {
		a.ho.gate.thaw()
	}
	return err
}

// thaw undoes freeze after a failed upgrade, re-arming the expiry of the
// warm previous revision, which a frozen agent skipped.
func (a *Agent) thaw() {
	a.mu.Lock()
	if a.ho.gate.isFrozen() {
		a.closing = false
		if p := a.previous; p != nil {
			if a.previousTimer != nil {
				a.previousTimer.Stop()
			}
			a.previousTimer = time.AfterFunc(max(time.Until(a.previousUntil), 0), func() { a.expirePrevious(p) })
		}
	}
	a.mu.Unlock()
	a.ho.gate.thaw()
}

// handOver ends an agent another one took over from: it stops accepting,
// lets the requests in flight finish, waits for the revisions it was
// retiring, and leaves the others running and the state files alone.
func (a *Agent) handOver(ctx context.Context, to int) error {
	a.closeOnce.Do(func() {
		a.log.Printf("agent pid %d took over; draining", to)
		a.mu.Lock()
		if a.previousTimer != nil {
			a.previousTimer.Stop()
		}
		a.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, closeTimeout)
		defer cancel()
		var (
			mu   sync.Mutex
			errs []error
			wg   sync.WaitGroup
		)
		fail := func(err error) {
			mu.Lock()
			errs = append(errs, fmt.Errorf("hand over: %w", err))
			mu.Unlock()
		}
		wg.Go(func() {
			if err := a.proxySrv.Shutdown(ctx); err != nil {
				a.proxySrv.Close()
				fail(err)
			}
		})
		for i, srv := range []*http.Server{a.controlSrv, a.metricsSrv} {
			ln := []net.Listener{a.controlLn, a.metricsLn}[i]
			if srv == nil {
				continue
			}
			wg.Go(func() {
				if err := a.ho.conns[i].drain(ctx, srv, ln); err != nil {
					srv.Close()
					fail(err)
				}
			})
		}
		wg.Wait()
		a.retiring.Wait()
		a.log.Printf("handed over to agent pid %d", to)
		a.logFile.Close()
		a.closeErr = errors.Join(errs...)
		close(a.closed)
	})
	return a.closeErr
}

// watch counts the connections of the control and the metrics servers
// (nil when off); call it before they serve.
func (h *handover) watch(control, metrics *http.Server) {
	for i, srv := range []*http.Server{control, metrics} {
		if srv != nil {
			srv.ConnState = h.conns[i].track
		}
	}
}

// connCount counts a server's open connections.
type connCount struct {
	mu sync.Mutex
	n  int
}

// track is the server's ConnState hook.
func (c *connCount) track(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateNew:
		c.n++
	case http.StateClosed, http.StateHijacked:
		c.n--
	}
}

// open returns the number of open connections.
func (c *connCount) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// drain ends srv, serving on ln, without dropping a request: it stops
// accepting (the supervisor's copy of the socket keeps it open for the new
// agent) and waits until the server took its last connection; then, with
// keep-alives off, idle connections close, every other one closes after
// its next response, and srv shuts down once none is left. (Shutdown alone
// would drop the request of a connection accepted but not read yet.)
func (c *connCount) drain(ctx context.Context, srv *http.Server, ln net.Listener) error {
	ln.Close()
	if dl, ok := ln.(*drainingListener); ok {
		select {
		case <-dl.stopped:
		case <-ctx.Done():
		}
	}
	srv.SetKeepAlivesEnabled(false)
	for c.open() > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	return srv.Shutdown(ctx)
}

// drainingListener is an inherited listener that tells when its server
// stopped accepting from it, so that every connection it accepted has been
// counted. Once closed, Accept reports http.ErrServerClosed.
type drainingListener struct {
	net.Listener
	stopOnce sync.Once
	stopped  chan struct{}
}

// newDrainingListener wraps ln.
func newDrainingListener(ln net.Listener) *drainingListener {
	return &drainingListener{Listener: ln, stopped: make(chan struct{})}
}

// Accept accepts the next connection; after Close it reports that the
// server is closed.
func (l *drainingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if errors.Is(err, net.ErrClosed) {
		l.stopOnce.Do(func() { close(l.stopped) })
		return nil, fmt.Errorf("stop accepting on %s: %w", l.Addr(), http.ErrServerClosed)
	}
	return conn, err
}
