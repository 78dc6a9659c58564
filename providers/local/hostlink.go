//go:build unix

package local

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// The link between the shared agent's supervisor and the host it runs: a
// unix stream socket pair carrying one JSON object a line. The host
// inherits its end as file descriptor 3 and its control listener as 4; the
// supervisor's first line (hostStart) lists the services the last host
// ran, whose listeners follow from descriptor 5 on, each service's in the
// order proxy, control, then metrics if on. A host's join carries the new
// service's listeners as SCM_RIGHTS ancillary data with its line.
const (
	fdHostLink    = 3
	fdHostControl = 4
	fdHostFirst   = 5
)

// The host's messages to its supervisor (opReady, opExit and opUpgrade as
// an agent's). The supervisor answers an upgrade with an agent's messages
// too, one JSON object (linkMsg) a line after hostStart: opHandover or
// opResume.
const (
	// opJoin: a service joined; keep the listeners that come with it.
	opJoin = "join"
	// opLeave: a service stops; close its listeners, never restore it.
	opLeave = "leave"
)

// hostMsg is one message of the host to its supervisor.
type hostMsg struct {
	Op      string   `json:"op"`
	Service string   `json:"service,omitempty"`
	Args    []string `json:"args,omitempty"`
	Token   string   `json:"token,omitempty"`
	// Files is how many descriptors came with the line (opJoin).
	Files int `json:"files,omitempty"`
	// Executable is the program to start the next host from (opUpgrade).
	Executable string `json:"executable,omitempty"`
}

// heldService is a service as the supervisor keeps it for the next host:
// the arguments it joined with, its control token and how many listeners
// follow.
type heldService struct {
	Service string   `json:"service"`
	Args    []string `json:"args"`
	Token   string   `json:"token"`
	Files   int      `json:"files"`
}

// hostStart is the supervisor's first line to a host it starts.
type hostStart struct {
	Services []heldService `json:"services"`
	// Upgrade says that the supervisor can upgrade the host (opUpgrade);
	// one from a ramp before that cannot.
	Upgrade bool `json:"upgrade,omitempty"`
}

// hostLink is a supervised host's side of the link (hostSupervision).
type hostLink struct {
	dir        string
	conn       *net.UnixConn
	reader     *bufio.Reader // reads conn
	supervisor int           // its pid, which host.json and agent.json name
	inherited  []restored
	canUpgrade bool // the supervisor can upgrade the host (hostStart.Upgrade)
	// hostUpgrade is the host's upgrade, which the agents it starts hand
	// ramp local-upgrade to (see bind).
	hostUpgrade func(context.Context, string) (UpgradeResult, error)

	sendMu   sync.Mutex
	exitOnce sync.Once

	mu       sync.Mutex
	orphaned time.Time    // when the link broke: the supervisor is gone
	outcome  chan linkMsg // set while an upgrade waits for the supervisor
}

// restored is a service a host started by its supervisor runs again.
type restored struct {
	service string
	args    []string
	inh     *inheritance
	err     error // its listeners could not be taken over
}

// inheritedHost returns the setup of a host a supervisor started: its link,
// its control listener and token, and the services to restore; a zero
// setup if no supervisor started this process. As inherited does for an
// agent, it keeps close-on-exec copies of the descriptors only and removes
// the variables from the environment.
func inheritedHost(dir string) (hostSetup, error) {
	v, ok := os.LookupEnv(envSupervisor)
	if !ok {
		return hostSetup{}, nil
	}
	token := os.Getenv(envToken)
	os.Unsetenv(envSupervisor)
	os.Unsetenv(envToken)
	pid, err := strconv.Atoi(v)
	if err != nil || token == "" {
		return hostSetup{}, fmt.Errorf("start supervised shared agent: bad %s=%q or no token", envSupervisor, v)
	}
	lf := os.NewFile(fdHostLink, "inherited-link")
	conn, err := net.FileConn(lf)
	lf.Close()
	if err != nil {
		return hostSetup{}, fmt.Errorf("start supervised shared agent: its link: %w", err)
	}
	cf := os.NewFile(fdHostControl, "inherited-control")
	ln, err := inheritListener(cf) // drained on an upgrade (host.handOver)
	cf.Close()
	if err != nil {
		conn.Close()
		return hostSetup{}, fmt.Errorf("start supervised shared agent: its control listener: %w", err)
	}
	l := &hostLink{dir: dir, conn: conn.(*net.UnixConn), reader: bufio.NewReaderSize(conn, 64<<10), supervisor: pid}
	conn.SetReadDeadline(time.Now().Add(agentStartTimeout))
	line, err := l.reader.ReadBytes('\n')
	conn.SetReadDeadline(time.Time{})
	var start hostStart
	if err == nil {
		err = json.Unmarshal(line, &start)
	}
	if err != nil {
		conn.Close()
		ln.Close()
		return hostSetup{}, fmt.Errorf("start supervised shared agent: read the services to restore: %w", err)
	}
	l.canUpgrade = start.Upgrade
	fd := fdHostFirst
	for _, s := range start.Services {
		r := restored{service: s.Service, args: s.Args, inh: &inheritance{token: s.Token, supervisor: pid}}
		var lns []net.Listener
		for range s.Files {
			f := os.NewFile(uintptr(fd), "inherited-"+strconv.Itoa(fd))
			fd++
			ln, err := inheritListener(f)
			f.Close()
			r.err = errors.Join(r.err, err)
			lns = append(lns, ln)
		}
		r.inh.proxy, r.inh.control, r.inh.metrics = at(lns, 0), at(lns, 1), at(lns, 2)
		l.inherited = append(l.inherited, r)
	}
	return hostSetup{sup: l, ln: ln, token: token, pid: pid}, nil
}

// at returns lns[i], nil if there is none.
func at(lns []net.Listener, i int) net.Listener {
	if i < len(lns) {
		return lns[i]
	}
	return nil
}

// closeListeners closes inh's listeners.
func (inh *inheritance) closeListeners() {
	for _, ln := range []net.Listener{inh.proxy, inh.control, inh.metrics} {
		if ln != nil {
			ln.Close()
		}
	}
}

// restore starts, all at once, the agents of the services the last host
// ran whose state directories still exist, on the listeners the
// supervisor passed down; a service it cannot start leaves. It also
// watches the link from then on (see watch).
func (l *hostLink) restore(ctx context.Context, lg *log.Logger) ([]*Agent, int) {
	go l.watch(lg)
	agents := make([]*Agent, len(l.inherited))
	var wg sync.WaitGroup
	for i, r := range l.inherited {
		wg.Go(func() {
			cfg, err := ParseAgentArgs(r.args)
			if err == nil {
				err = r.err
			}
			if err == nil {
				if _, serr := os.Stat(cfg.StateDir); errors.Is(serr, fs.ErrNotExist) {
					err = fmt.Errorf("its state directory %s is gone", cfg.StateDir)
				}
			}
			if err == nil {
				listed, _ := readState(cfg.StateDir)
				var adopted atomic.Pointer[string]
				r.inh.warnings = func() []string { return l.warnings(adopted.Load()) }
				r.inh.upgrade = l.hostUpgrade
				if agents[i], err = startAgentWith(ctx, cfg, r.inh); err == nil {
					what := agents[i].adoption(listed)
					adopted.Store(&what)
					lg.Printf("agent of %s restored: %s", cfg.Service, what)
				}
			}
			if err != nil {
				lg.Printf("restore the agent of %s: %v", r.service, err)
				r.inh.closeListeners()
				l.leave(r.service)
			}
		})
	}
	wg.Wait()
	had := len(l.inherited)
	l.inherited = nil
	var out []*Agent
	for _, a := range agents {
		if a != nil {
			out = append(out, a)
		}
	}
	return out, had
}

// start starts the agent of a service joining on new listeners, and
// passes copies of them to the supervisor with args and the agent's token.
func (l *hostLink) start(ctx context.Context, cfg providers.Config, args []string) (*Agent, error) {
	cfg, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	if err := refuseSecondAgent(ctx, cfg); err != nil {
		return nil, err
	}
	files, err := listenFiles(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	inh := &inheritance{token: rand.Text(), supervisor: l.supervisor, warnings: func() []string { return l.warnings(nil) },
		upgrade: l.hostUpgrade}
	var lns []net.Listener
	for _, f := range files {
		ln, err := inheritListener(f)
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return nil, fmt.Errorf("start agent: %w", err)
		}
		lns = append(lns, ln)
	}
	inh.proxy, inh.control, inh.metrics = at(lns, 0), at(lns, 1), at(lns, 2)
	a, err := startAgentWith(ctx, cfg, inh)
	if err != nil {
		inh.closeListeners()
		return nil, err
	}
	if err := l.send(hostMsg{Op: opJoin, Service: cfg.Service, Args: args, Token: inh.token, Files: len(files)}, files); err != nil {
		a.log.Printf("%v; should the shared agent die, this service is not restored", err)
	}
	return a, nil
}

// watch reads the link until it breaks, which means that the supervisor
// is gone: then it notes when, for the services' status (warnings), and
// fails an upgrade waiting for the supervisor's answer. The supervisor's
// answers to an upgrade go to the upgrade waiting for them.
func (l *hostLink) watch(lg *log.Logger) {
	sc := bufio.NewScanner(l.reader)
	for sc.Scan() {
		var m linkMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			lg.Printf("supervisor link: %v", err)
			continue
		}
		if m.Op == opHandover || m.Op == opResume {
			l.deliver(m)
		}
	}
	l.mu.Lock()
	l.orphaned = time.Now()
	l.mu.Unlock()
	lg.Printf("the supervisor (pid %d) is gone (%v): should this shared agent die, nothing restarts it until the next deploy", l.supervisor, sc.Err())
	l.deliver(linkMsg{Op: opResume, Error: fmt.Sprintf("the supervisor (pid %d) is gone", l.supervisor)})
}

// warnings says what the status of a service in this host should say
// about it: that it restarted (for a service whose agent it restored,
// with what that agent re-adopted), or that its supervisor is gone.
func (l *hostLink) warnings(adopted *string) []string {
	var out []string
	var rec supervisorFile
	if b, err := os.ReadFile(filepath.Join(l.dir, hostSupervisorFileName)); err == nil && json.Unmarshal(b, &rec) == nil &&
		adopted != nil && rec.Restarts > 0 {
		out = append(out, fmt.Sprintf("the shared local agent restarted %d time(s), last at %s after %s; this service's agent was restored: %s",
			rec.Restarts, rec.LastRestart.UTC().Format(time.RFC3339), rec.LastReason, *adopted))
	}
	l.mu.Lock()
	t := l.orphaned
	l.mu.Unlock()
	if !t.IsZero() {
		out = append(out, fmt.Sprintf("the shared local agent's supervisor (pid %d) is gone since %s: if the shared agent dies, nothing restarts it until the next deploy",
			l.supervisor, t.UTC().Format(time.RFC3339)))
	}
	return out
}

// leave tells the supervisor that service stops.
func (l *hostLink) leave(service string) {
	if err := l.send(hostMsg{Op: opLeave, Service: service}, nil); err != nil {
		log.Printf("%v", err)
	}
}

// ready tells the supervisor that the host serves.
func (l *hostLink) ready() {
	if err := l.send(hostMsg{Op: opReady}, nil); err != nil {
		log.Printf("%v", err)
	}
}

// exit tells the supervisor, once, that the host stops on its own.
func (l *hostLink) exit() {
	l.exitOnce.Do(func() {
		if err := l.send(hostMsg{Op: opExit}, nil); err != nil {
			log.Printf("%v", err)
		}
	})
}

// send writes m to the supervisor, with files as ancillary data.
func (l *hostLink) send(m hostMsg, files []*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Op, err)
	}
	b = append(b, '\n')
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = syscall.UnixRights(fds...)
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	n, _, err := l.conn.WriteMsgUnix(b, oob, nil)
	if err == nil && n < len(b) {
		_, err = l.conn.Write(b[n:])
	}
	if err != nil {
		return fmt.Errorf("tell the shared agent's supervisor %s: %w", m.Op, err)
	}
	return nil
}
