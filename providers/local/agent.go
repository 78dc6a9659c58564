package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

const (
	// stopGrace is how long a revision may take to stop after SIGTERM.
	stopGrace = 10 * time.Second
	// drainTimeout bounds the wait for a retired revision's requests.
	drainTimeout = 30 * time.Second
	// closeTimeout bounds RunAgent's shutdown once its context is done.
	closeTimeout = time.Minute
)

// errClosing is returned by operations that reach an agent shutting down.
var errClosing = errors.New("the local agent is shutting down")

// Agent is the long-lived server behind the local provider: it owns the
// proxy listener, the revision processes, their metrics and the rollout
// state, and serves a JSON control API on a loopback port and, if asked, its
// Prometheus metrics on another address (see metricsserve.go).
type Agent struct {
	cfg          providers.Config
	token        string
	logFile      *os.File
	log          *log.Logger
	health       *http.Client
	router       router
	metrics      metricsStore
	grace        time.Duration
	drainTimeout time.Duration

	proxyLn, controlLn net.Listener
	proxySrv           *frontend
	controlSrv         *http.Server
	proxyURL           string
	metricsLn          net.Listener // nil unless cfg.MetricsListen is set
	metricsSrv         *http.Server

	mu            sync.Mutex
	stable        *revision
	candidate     *revision
	previous      *revision
	weight        int
	routing       *providers.Routing // the candidate's request routing (strategy ab)
	rollout       providers.Rollout
	previousUntil time.Time
	previousTimer *time.Timer
	nextRev       int
	ports         map[int]bool
	deployCancel  context.CancelFunc // set while a deploy starts a revision
	// scaling is held by a transition that starts replicas (scale.go)
	// from its intent to its outcome, so two never interleave.
	scaling sync.Mutex
	closing bool
	ho      handover // the supervisor, if any, and the upgrade gate
	// hostWarnings, for an agent in a supervised shared agent, says
	// what its status should say about the shared agent's supervisor.
	hostWarnings func() []string
	// hostUpgrade, for an agent in a supervised shared agent, upgrades
	// the shared agent, all its services with it (host.upgrade).
	hostUpgrade func(context.Context, string) (UpgradeResult, error)

	retiring  sync.WaitGroup
	stopReq   chan struct{} // closed by a shutdown request
	stopOnce  sync.Once
	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// revision is one revision of the service and its running replicas.
type revision struct {
	id, image, healthPath string
	// dir, env and readyTimeout start more replicas; envLost means env
	// was set by an earlier agent, which kept it nowhere.
	dir          string
	env          []string
	readyTimeout time.Duration
	envLost      bool
	timeout      time.Duration
	// want is how many replicas the revision runs at full strength;
	// replicas are those running now, sharing metrics, taken in turn
	// from next.
	want     int
	replicas []*replica
	metrics  *revMetrics
	next     atomic.Uint64
}

// RunAgent runs the agent for cfg until ctx is done or a shutdown request
// arrives on the control API, then drains and stops every revision and
// removes agent.json. The `local-agent` subcommand calls it. On unix it runs
// the agent under a supervisor (see supervise), which restarts a killed
// agent and hands the sockets over to a new binary on upgrade.
func RunAgent(ctx context.Context, cfg providers.Config) error {
	return runAgentProcess(ctx, cfg)
}

// runAgent runs the agent in this process, as RunAgent describes, with no
// supervisor.
func runAgent(ctx context.Context, cfg providers.Config) error {
	a, err := StartAgent(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-a.stopReq:
	case <-gone(ctx, a.cfg.StateDir):
		a.log.Printf("state directory %s is gone; stopping", a.cfg.StateDir)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	return a.Close(cctx)
}

// StartAgent starts an agent for cfg in this process and returns once it
// serves the proxy and the control API and has written agent.json. ctx
// bounds the start; the agent then runs until Close or a shutdown request.
func StartAgent(ctx context.Context, cfg providers.Config) (*Agent, error) {
	return startAgentWith(ctx, cfg, nil)
}

// startAgentWith does the work of StartAgent; with inh, for an agent run by a
// supervisor, it serves on the inherited listeners with the supervisor's
// token, and agent.json names the supervisor.
func startAgentWith(ctx context.Context, cfg providers.Config, inh *inheritance) (*Agent, error) {
	cfg, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	if inh == nil { // a supervisor checked before it listened
		if err := refuseSecondAgent(ctx, cfg); err != nil {
			return nil, err
		}
	}
	st, err := readState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if st.Service != "" && st.Service != cfg.Service {
		return nil, fmt.Errorf("start agent: %s holds the state of service %q, not %q: %w",
			cfg.StateDir, st.Service, cfg.Service, providers.ErrConflict)
	}
	a, err := newAgent(ctx, cfg, inh)
	if err != nil {
		return nil, err
	}
	if inh != nil && inh.link == nil { // an agent in a shared agent: no link of its own (hostlink.go)
		a.ho.sup, a.hostWarnings, a.hostUpgrade = nil, inh.warnings, inh.upgrade
	}
	a.restore(ctx, st)
	a.serve()
	info := agentInfo{Control: a.controlLn.Addr().String(), PID: os.Getpid(), Proxy: a.proxyURL, Token: a.token,
		Metrics: a.MetricsURL()}
	if inh != nil {
		info.PID = inh.supervisor
	}
	if err := writeJSONAtomic(filepath.Join(cfg.StateDir, agentFileName), info); err != nil {
		a.Close(ctx)
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a.log.Printf("agent for %s: proxy %s, control %s, pid %d", cfg.Service, a.proxyURL, info.Control, os.Getpid())
	go func() {
		select {
		case <-a.stopReq:
			cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			a.Close(cctx)
		case <-a.closed:
		}
	}()
	return a, nil
}

// newAgent opens the agent's log and listeners, or takes inh's.
func newAgent(ctx context.Context, cfg providers.Config, inh *inheritance) (*Agent, error) {
	logFile, err := os.OpenFile(filepath.Join(cfg.StateDir, agentLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open agent log: %w", err)
	}
	a := &Agent{
		cfg:          cfg,
		token:        rand.Text(),
		logFile:      logFile,
		log:          log.New(logFile, "", log.LstdFlags|log.Lmicroseconds),
		health:       &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		grace:        stopGrace,
		drainTimeout: drainTimeout,
		ports:        make(map[int]bool),
		stopReq:      make(chan struct{}),
		closed:       make(chan struct{}),
	}
	var lc net.ListenConfig
	if inh != nil {
		a.proxyLn, a.controlLn, a.metricsLn, a.token = inh.proxy, inh.control, inh.metrics, inh.token
		a.ho.sup = newSupervision(inh)
	} else {
		if a.proxyLn, err = lc.Listen(ctx, "tcp", cfg.Listen); err != nil {
			logFile.Close()
			return nil, fmt.Errorf("listen for the proxy: %w", err)
		}
		if a.controlLn, err = lc.Listen(ctx, "tcp", "127.0.0.1:0"); err != nil {
			a.proxyLn.Close()
			logFile.Close()
			return nil, fmt.Errorf("listen for the control API: %w", err)
		}
		if a.metricsLn, err = listenMetrics(ctx, cfg); err != nil {
			a.proxyLn.Close()
			a.controlLn.Close()
			logFile.Close()
			return nil, err
		}
	}
	a.proxyURL = serviceURL(a.proxyLn.Addr())
	a.proxySrv = newFrontend(&proxyHandler{router: &a.router, service: cfg.Service}, a.log)
	a.controlSrv = &http.Server{Handler: a.guard(a.controlHandler()), ReadHeaderTimeout: 10 * time.Second, ErrorLog: a.log}
	if a.metricsLn != nil {
		if a.metricsSrv, err = a.newMetricsServer(); err != nil {
			for _, ln := range []net.Listener{a.proxyLn, a.controlLn, a.metricsLn} {
				ln.Close()
			}
			logFile.Close()
			return nil, err
		}
	}
	a.ho.watch(a.controlSrv, a.metricsSrv)
	return a, nil
}

// serviceURL is the URL clients reach the proxy at, given its listen address.
func serviceURL(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := ta.IP.String()
	switch {
	case ta.IP.IsUnspecified() && ta.IP.To4() != nil:
		host = "127.0.0.1"
	case ta.IP.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port))
}

// serve starts the proxy, control and metrics servers.
func (a *Agent) serve() {
	for _, s := range []struct {
		srv interface{ Serve(net.Listener) error }
		ln  net.Listener
	}{{a.proxySrv, a.proxyLn}, {a.controlSrv, a.controlLn}, {a.metricsSrv, a.metricsLn}} {
		if s.ln == nil {
			continue
		}
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				a.log.Printf("serve on %s: %v", s.ln.Addr(), err)
			}
		}()
	}
}

// ProxyURL returns the URL the service is served on.
func (a *Agent) ProxyURL() string { return a.proxyURL }

// ControlAddr returns the host:port of the control API.
func (a *Agent) ControlAddr() string { return a.controlLn.Addr().String() }

// Client returns a provider driving this agent through its control API,
// deploying with the agent's own replicas, health path and ready timeout.
func (a *Agent) Client() *Provider {
	p := Connect(a.ControlAddr(), a.token)
	p.cfg.Replicas, p.cfg.HealthPath, p.cfg.ReadyTimeout = a.cfg.Replicas, a.cfg.HealthPath, a.cfg.ReadyTimeout
	return p
}

// Done returns a channel closed once the agent has shut down.
func (a *Agent) Done() <-chan struct{} { return a.closed }

// requestStop asks the agent to shut down; it returns at once.
func (a *Agent) requestStop() { a.stopOnce.Do(func() { close(a.stopReq) }) }

// Close stops the proxy (letting in-flight requests finish), drains and
// stops every revision, saves the state and removes agent.json. It is safe
// to call more than once; later calls return the first call's result.
func (a *Agent) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		a.closeErr = a.shutdown(ctx)
		close(a.closed)
	})
	return a.closeErr
}

// shutdown does the work of Close.
func (a *Agent) shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	if a.deployCancel != nil {
		a.deployCancel()
	}
	if a.previousTimer != nil {
		a.previousTimer.Stop()
	}
	revs := []*revision{a.stable, a.candidate, a.previous}
	a.stable, a.candidate, a.previous, a.weight, a.previousUntil = nil, nil, nil, 0, time.Time{}
	a.mu.Unlock()

	var errs []error
	if err := a.proxySrv.Shutdown(ctx); err != nil {
		a.proxySrv.Close()
		errs = append(errs, fmt.Errorf("shut down proxy: %w", err))
	}
	a.router.set(table{})
	for _, r := range revs {
		if r != nil {
			a.retire(r, "agent shutting down")
		}
	}
	a.retiring.Wait()
	a.mu.Lock()
	errs = append(errs, a.persistLocked())
	a.mu.Unlock()
	if err := a.controlSrv.Shutdown(ctx); err != nil {
		a.controlSrv.Close()
		errs = append(errs, fmt.Errorf("shut down control API: %w", err))
	}
	if a.metricsSrv != nil {
		if err := a.metricsSrv.Shutdown(ctx); err != nil {
			a.metricsSrv.Close()
			errs = append(errs, fmt.Errorf("shut down metrics: %w", err))
		}
	}
	path := filepath.Join(a.cfg.StateDir, agentFileName)
	if info, err := readAgentInfo(a.cfg.StateDir); err == nil && info.Control == a.ControlAddr() {
		if err := os.Remove(path); err != nil {
			errs = append(errs, fmt.Errorf("remove agent file: %w", err))
		}
	}
	a.log.Printf("agent for %s stopped", a.cfg.Service)
	a.logFile.Close()
	return errors.Join(errs...)
}

// restore adopts the revisions an earlier agent left running, as recorded in
// st, keeping those still alive and healthy, and restores the record.
func (a *Agent) restore(ctx context.Context, st stateFile) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rollout, a.nextRev = st.Rollout, st.NextRevision
	a.stable = a.adopt(ctx, st.Stable)
	a.candidate = a.adopt(ctx, st.Candidate)
	a.previous = a.adopt(ctx, st.Previous)
	if a.candidate != nil {
		a.weight, a.routing = min(max(st.Weight, 0), 100), st.Routing
	}
	a.routeLocked()
	if p := a.previous; p != nil {
		if d := time.Until(st.PreviousUntil); d > 0 {
			a.previousUntil = st.PreviousUntil
			a.previousTimer = time.AfterFunc(d, func() { a.expirePrevious(p) })
		} else {
			a.previous = nil
			a.retire(p, "keep-previous window passed")
		}
	}
	if err := a.persistLocked(); err != nil {
		a.log.Printf("restore state: %v", err)
	}
}
