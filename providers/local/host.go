package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// A shared agent (providers.Config.SharedAgent) is one process, the host,
// that runs the agents of many services: every service whose state
// directory lies in the host's directory (by default .ramp/local, where
// each service's own directory is). Each service keeps its own agent as
// described in the package doc, with its own proxy on its own listen
// address, control API, state.json and agent.json, so every command finds
// it as before; only the process, and so the Go runtime and the program's
// memory, is shared.
//
// On unix the host runs under a supervisor (hostsup.go), as a service's
// own agent does: `ramp local-host` is the supervisor, which runs the host
// as its child. The supervisor holds the host's control listener and a
// copy of every service's proxy, control and metrics listeners (the host
// passes them up over their link as a service joins, and tells it when one
// leaves), with each service's join arguments and token. When the host
// dies unasked (killed, or a panic), the supervisor starts another on the
// same sockets, after the same backoff as a service's supervisor
// (restartDelay); it re-runs the agent of every service whose state
// directory still exists, each re-adopting its running versions from
// state.json, with the same addresses and token, so connections arriving
// meanwhile wait in the listen backlog instead of being refused, and no
// ramp command is needed. A service's status says that the host restarted
// and what its agent re-adopted (host-supervisor.json keeps the count);
// after maxUnready hosts in a row exited before serving, the supervisor
// gives up and says so there. The supervisor exits once the host stops on
// its own (its last service gone, its directory removed, or asked to
// stop), which it announces first. It holds host.lock while it runs, so
// that of deploys starting a host at once, one does. Elsewhere the host
// has no supervisor: if it dies, the versions keep running, and the next
// deploy starts a host again, whose agents re-adopt them. The supervisor
// does not restart a host it did not start (one whose supervisor is gone,
// or from a ramp without one). On `ramp local-upgrade` of any of its
// services, a supervised host hands every service over to a host started
// from the new executable beside it (hostupgrade.go).
const (
	// HostCommand is the hidden subcommand the shared agent runs as:
	// `<executable> local-host --state-dir=D`, D holding the services'
	// state directories. On unix the process a deploy starts so is the
	// supervisor, which starts the host with the same command and, in its
	// environment, envSupervisor and envToken.
	HostCommand = "local-host"
	// hostFileName names the host in its directory, as agent.json names
	// a service's agent; hostLogName is its log.
	hostFileName = "host.json"
	hostLogName  = "host.log"
)

// hostSupervision is the host's side of the link to its supervisor
// (hostLink, in hostlink.go): it starts the agents of the services a host that died ran,
// and the agent of a service joining on listeners whose copies it passes
// to the supervisor.
type hostSupervision interface {
	// restore starts the agents of the services the last host ran whose
	// state directories still exist; had says how many it ran.
	restore(ctx context.Context, log *log.Logger) (agents []*Agent, had int)
	// start starts the agent of the service joining with args.
	start(ctx context.Context, cfg providers.Config, args []string) (*Agent, error)
	// leave tells the supervisor that a service stops, so it frees its
	// addresses and never starts it again.
	leave(service string)
	// ready tells the supervisor that the host serves.
	ready()
	// exit tells the supervisor that the host stops on its own, so it
	// frees every address and starts no other host; later calls do
	// nothing.
	exit()
	// bind has the agents started from now on hand ramp local-upgrade to
	// upgrade, the host's.
	bind(upgrade func(context.Context, string) (UpgradeResult, error))
	// upgrade asks the supervisor to start a host from exe beside this
	// one; the channel delivers its answer: opHandover with the new
	// host's pid once it serves, or opResume with why it failed.
	upgrade(exe string) (<-chan linkMsg, error)
}

// hostSetup is what a supervisor hands the host it runs; zero for a host
// run without one.
type hostSetup struct {
	sup   hostSupervision
	ln    net.Listener // the control API's
	token string
	pid   int // the supervisor's, which host.json names
}

// host runs the agents of many services in one process.
type host struct {
	dir   string
	token string
	log   *log.Logger
	ln    net.Listener
	srv   *http.Server
	ctx   context.Context // the agents run until it is done
	sup   hostSupervision // nil without a supervisor
	pid   int             // the supervisor's, or this process's

	conns   connCount  // of the control API, drained on an upgrade
	handed  chan int   // the pid of the host an upgrade handed over to
	joins   sync.Mutex // one agent starts at a time
	mu      sync.Mutex
	agents  map[string]*Agent // by service
	joining int
	closing bool
	idle    chan struct{} // closed once the last service left
	// upgrading is set from the freeze of an upgrade to its end;
	// handedTo, once it handed over, is the new host's pid.
	upgrading bool
	handedTo  int
}

// RunHost runs the shared agent for the services whose state directories
// lie in dir, until ctx is done or its last service stopped (ramp down),
// then stops every agent it runs. The `local-host` subcommand calls it. On
// unix it runs the host under a supervisor, which starts it again should
// it die (see runHostProcess).
func RunHost(ctx context.Context, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("shared agent: %w", err)
	}
	return runHostProcess(ctx, dir)
}

// runHost runs the host in this process, as RunHost describes, with the
// supervisor's setup if one started it.
func runHost(ctx context.Context, dir string, setup hostSetup) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("shared agent: create %s: %w", dir, err)
	}
	if setup.sup == nil { // a supervisor checked before it listened
		if err := refuseSecondHost(ctx, dir); err != nil {
			return err
		}
	}
	logFile, err := os.OpenFile(filepath.Join(dir, hostLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("shared agent: open its log: %w", err)
	}
	defer logFile.Close()
	h := &host{dir: dir, token: setup.token, log: log.New(logFile, "", log.LstdFlags|log.Lmicroseconds), ln: setup.ln,
		ctx: ctx, sup: setup.sup, pid: setup.pid, agents: map[string]*Agent{}, idle: make(chan struct{}), handed: make(chan int, 1)}
	if h.ln == nil {
		var lc net.ListenConfig
		if h.ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("shared agent: listen for its control API: %w", err)
		}
		h.token, h.pid = rand.Text(), os.Getpid()
	}
	if h.sup != nil {
		h.sup.bind(h.upgrade)
	}
	h.restore(ctx) // before any join is served
	h.srv = &http.Server{Handler: h.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: h.log, ConnState: h.conns.track}
	go h.srv.Serve(h.ln)
	info := agentInfo{Control: h.ln.Addr().String(), PID: h.pid, Token: h.token}
	if err := writeJSONAtomic(filepath.Join(dir, hostFileName), info); err != nil {
		h.srv.Close()
		return fmt.Errorf("shared agent: %w", err)
	}
	h.log.Printf("shared agent for %s: control %s, pid %d (host.json names pid %d)", dir, info.Control, os.Getpid(), info.PID)
	if h.sup != nil {
		h.sup.ready()
	}
	// A host whose first service never joins (the deploy that started it
	// died) stops too.
	time.AfterFunc(3*agentStartTimeout, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.idleLocked()
	})
	select {
	case <-ctx.Done():
	case <-h.idle:
		h.log.Printf("no service left; stopping")
	case <-h.sweep(ctx):
		h.log.Printf("%s is gone; stopping", dir)
	case to := <-h.handed:
		return h.handOver(to) // host.json names the new host now
	}
	return h.stop(info)
}

// restore has a host started by a supervisor after another died run the
// agents of the services that one ran; if none of them is left, the host
// is idle at once.
func (h *host) restore(ctx context.Context) {
	if h.sup == nil {
		return
	}
	agents, had := h.sup.restore(ctx, h.log)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range agents {
		h.agents[a.cfg.Service] = a
		h.log.Printf("agent of %s restored: proxy %s, control %s", a.cfg.Service, a.proxyURL, a.ControlAddr())
		go h.run(a)
	}
	if had > 0 {
		h.idleLocked()
	}
}

// handler serves the host's control API, every call authenticated with
// its token.
func (h *host) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ping", rpc(func(context.Context, empty) (hostPing, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		p := hostPing{PID: os.Getpid(), Services: slices.Sorted(maps.Keys(h.agents))}
		if h.sup != nil {
			p.Supervisor = h.pid
		}
		return p, nil
	}))
	mux.Handle("POST /v1/services", rpc(h.join))
	return authorized(h.token, mux)
}

// join starts the agent a service asks for in this process, unless it
// runs here already, and returns where its control API is.
func (h *host) join(ctx context.Context, j hostJoin) (agentInfo, error) {
	cfg, err := ParseAgentArgs(j.Args)
	if err != nil {
		return agentInfo{}, fmt.Errorf("%w: %w", providers.ErrInvalid, err)
	}
	if filepath.Dir(cfg.StateDir) != h.dir {
		return agentInfo{}, fmt.Errorf("the shared agent of %s does not run %s, whose state is in %s: %w",
			h.dir, cfg.Service, cfg.StateDir, providers.ErrInvalid)
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return agentInfo{}, fmt.Errorf("the shared agent of %s: %w", h.dir, errClosing)
	}
	h.joining++
	h.mu.Unlock()
	defer h.left()
	h.joins.Lock()
	defer h.joins.Unlock()
	h.mu.Lock()
	a, upgrading := h.agents[cfg.Service], h.upgrading || h.handedTo != 0
	h.mu.Unlock()
	if upgrading { // the client retries, and may reach the new host
		return agentInfo{}, fmt.Errorf("the shared agent of %s: %w", h.dir, errUpgrading)
	}
	if a != nil {
		select {
		case <-a.Done(): // stopped, and its state saved: start it again
			a = nil
		default:
		}
	}
	if a == nil {
		if a, err = h.startAgent(ctx, cfg, j.Args); err != nil {
			h.log.Printf("start the agent of %s: %v", cfg.Service, err)
			return agentInfo{}, err
		}
		h.mu.Lock()
		h.agents[cfg.Service] = a
		h.mu.Unlock()
		h.log.Printf("agent of %s: proxy %s, control %s", cfg.Service, a.proxyURL, a.ControlAddr())
		go h.run(a)
	}
	return agentInfo{Control: a.ControlAddr(), PID: h.pid, Proxy: a.proxyURL, Token: a.token, Metrics: a.MetricsURL()}, nil
}

// startAgent starts the agent of a service joining with args, on
// listeners the supervisor keeps copies of if there is one.
func (h *host) startAgent(ctx context.Context, cfg providers.Config, args []string) (*Agent, error) {
	if h.sup == nil {
		return StartAgent(ctx, cfg)
	}
	return h.sup.start(ctx, cfg, args)
}

// run waits until a's service stops (ramp down, or its state directory
// removed: see sweep) or the host stops, and closes it. A service that
// stops on its own leaves the supervisor as soon as it is asked to, so
// that its addresses are free once its agent closed its own listeners.
func (h *host) run(a *Agent) {
	select {
	case <-a.stopReq:
	case <-a.Done():
	case <-h.ctx.Done():
	}
	h.mu.Lock()
	handed := h.handedTo != 0
	h.mu.Unlock()
	if h.sup != nil && h.ctx.Err() == nil && !handed { // the new host runs a service handed over
		h.sup.leave(a.cfg.Service)
	}
	select {
	case <-a.Done():
	case <-h.ctx.Done():
	}
	cctx, stop := context.WithTimeout(context.WithoutCancel(h.ctx), closeTimeout)
	defer stop()
	if err := a.Close(cctx); err != nil {
		h.log.Printf("stop the agent of %s: %v", a.cfg.Service, err)
	}
	h.log.Printf("agent of %s stopped", a.cfg.Service)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.agents[a.cfg.Service] == a {
		delete(h.agents, a.cfg.Service)
	}
	h.idleLocked()
}

// sweep checks every 2 seconds, with one timer for every service, that
// each service's state directory still exists, and stops the agent of one
// removed (by hand, or a test's temporary directory cleaned up), so that
// no agent outlives its state. The channel it returns is closed once the
// host's own directory is gone.
func (h *host) sweep(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := os.Stat(h.dir); errors.Is(err, fs.ErrNotExist) {
				close(ch)
				return
			}
			h.mu.Lock()
			agents := slices.Collect(maps.Values(h.agents))
			h.mu.Unlock()
			for _, a := range agents {
				if _, err := os.Stat(a.cfg.StateDir); errors.Is(err, fs.ErrNotExist) {
					a.log.Printf("state directory %s is gone; stopping", a.cfg.StateDir)
					a.requestStop()
				}
			}
		}
	}()
	return ch
}

// left notes that a join ended; with neither a service nor a join left,
// the host stops taking joins and signals that it is idle.
func (h *host) left() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.joining--
	h.idleLocked()
}

// idleLocked stops taking joins and signals that the host is idle when it
// runs no service and none is joining; h.mu must be held.
func (h *host) idleLocked() {
	if h.closing || h.joining > 0 || len(h.agents) > 0 {
		return
	}
	h.closing = true
	if h.sup != nil {
		h.sup.exit() // the supervisor frees its copy of ln first
	}
	h.ln.Close() // a later join finds no host, and starts one
	close(h.idle)
}
