//go:build unix

package local

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// sharedService is one service of a test's shared agent.
type sharedService struct {
	name string
	p    *Provider
	dir  string
}

// startShared deploys and promotes v1 of each named service on one shared
// agent in root, versions that outlive their agent as real ones do, and
// returns them with a way to deploy more. Service "c" serves its metrics
// (metrics-listen), so its agent has three listeners.
func startShared(t *testing.T, root string, names ...string) ([]sharedService, func(string) providers.Artifact) {
	t.Helper()
	owned := func(rev string) providers.Artifact {
		a := appArtifact(rev, rev, 0)
		a.Env = append(a.Env, "RAMP_LOCAL_TEST_OWNER="+strconv.Itoa(os.Getpid())) // outlives its agent
		return a
	}
	var svcs []sharedService
	for _, name := range names {
		cfg := testConfig(t)
		cfg.Service, cfg.StateDir, cfg.SharedAgent, cfg.Executable = name, filepath.Join(root, name), true, os.Args[0]
		if name == "c" {
			cfg.MetricsListen = "127.0.0.1:0"
		}
		p := newProvider(t, cfg)
		t.Cleanup(func() { // t.Context() is done here
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p.Shutdown(sctx)
		})
		mustDeploy(t, p, owned(name+"-v1"))
		must(t, "promote "+name, promote(t.Context(), p, 0))
		svcs = append(svcs, sharedService{name: name, p: p, dir: cfg.StateDir})
	}
	return svcs, owned
}

// TestSharedAgentKilled: when the shared agent's host process is killed,
// its supervisor starts another on the same sockets, with no ramp command:
// every service answers again on its address from the same version
// processes (re-adopted, not restarted), with the same split, and a
// request sent while no host runs waits instead of being refused. Status,
// deploy and down work afterwards, and the supervisor exits with the last
// service.
func TestSharedAgentKilled(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	svcs, owned := startShared(t, root, "a", "b", "c")
	b := svcs[1].p
	mustDeploy(t, b, owned("b-v2"))
	must(t, "shift b to 30%", shift(ctx, b, 30))

	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	first, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	if first.Supervisor != sup.PID || first.PID == sup.PID {
		t.Fatalf("host.json names pid %d; the host says it is pid %d supervised by %d, want another pid supervised by it",
			sup.PID, first.PID, first.Supervisor)
	}
	before := map[string]agentInfo{}
	pids := map[string][]int{}
	for _, s := range svcs {
		info, err := readAgentInfo(s.dir)
		must(t, "read agent.json", err)
		before[s.name] = info
		st, err := readState(s.dir)
		must(t, "read state", err)
		pids[s.name] = versionPIDs(st)
	}

	// One client sends requests to c one after another all along: none
	// may be refused (one in flight as the host dies may fail otherwise).
	var refusals, answered atomic.Int64
	stopLoad, loadDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(loadDone)
		lc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
		for {
			select {
			case <-stopLoad:
				return
			default:
			}
			switch _, _, err := get(lc, before["c"].Proxy+"/"); {
			case err == nil:
				answered.Add(1)
			case isDialError(err):
				refusals.Add(1)
			}
		}
	}()
	waitFor(t, time.Minute, "the load on c to get answers", func() bool { return answered.Load() > 0 })

	killed := time.Now()
	must(t, "kill the host", syscall.Kill(first.PID, syscall.SIGKILL))
	waitFor(t, time.Minute, "the host to die", func() bool { return !processAlive(first.PID) })
	// No keep-alive: each request is a new connection, which the
	// supervisor's copy of the listener queues until a host accepts it.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	code, ver, err := get(c, before["a"].Proxy+"/")
	if err != nil || code != http.StatusOK || ver != "a-v1" {
		t.Fatalf("GET %s right after the host died: %d from %q, %v; want it to wait for the next host and get 200 from a-v1",
			before["a"].Proxy, code, ver, err)
	}
	t.Logf("first 200 through the proxy %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	n := answered.Load()
	waitFor(t, time.Minute, "the load on c to get answers from the new host", func() bool { return answered.Load() > n+2 })
	close(stopLoad)
	<-loadDone
	if r := refusals.Load(); r > 0 {
		t.Errorf("%d connections to c were refused while the host restarted, want none", r)
	}

	for _, s := range svcs {
		info, err := readAgentInfo(s.dir)
		must(t, "read agent.json", err)
		if info != before[s.name] {
			t.Errorf("agent.json of %s after the restart: %+v, want the same as before: %+v", s.name, info, before[s.name])
		}
		st, err := readState(s.dir)
		must(t, "read state", err)
		if got := versionPIDs(st); !slices.Equal(got, pids[s.name]) {
			t.Errorf("the versions of %s run as pids %v after the restart, want the same processes %v", s.name, got, pids[s.name])
		}
		if code, ver, err := get(c, info.Proxy+"/"); err != nil || code != http.StatusOK || !strings.HasPrefix(ver, s.name+"-") {
			t.Errorf("GET %s (service %s) after the restart: %d from %q, %v; want 200 from one of its versions", info.Proxy, s.name, code, ver, err)
		}
	}
	if code, _, err := get(c, before["c"].Metrics); err != nil || code != http.StatusOK {
		t.Errorf("GET %s (metrics of c) after the restart: %d, %v; want 200", before["c"].Metrics, code, err)
	}
	now, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the restarted shared agent", err)
	if now.PID == first.PID || now.Supervisor != sup.PID || !slices.Equal(now.Services, []string{"a", "b", "c"}) {
		t.Errorf("after the restart the host is %+v, want a new pid supervised by %d running a, b and c", now, sup.PID)
	}
	st, err := b.Status(ctx)
	must(t, "status of b", err)
	if st.Stable == nil || st.Stable.ID != "b-v1" || !st.Stable.Ready || st.Candidate == nil || st.Candidate.ID != "b-v2" || st.Weight != 30 {
		t.Errorf("status of b after the restart: %+v, want b-v1 stable, b-v2 candidate at 30%%", st)
	}
	if w := strings.Join(st.Warnings, "\n"); !strings.Contains(w, "shared local agent restarted 1 time(s)") ||
		!strings.Contains(w, "re-adopted revisions b-v1 (stable), b-v2 (candidate, 30% of the traffic)") {
		t.Errorf("status of b after the restart warns %q, want it to say that the shared agent restarted and what it re-adopted", st.Warnings)
	}
	must(t, "promote b-v2", promote(ctx, b, 0))
	if code, ver, err := get(c, before["b"].Proxy+"/"); err != nil || code != http.StatusOK || ver != "b-v2" {
		t.Errorf("GET b after promoting b-v2: %d from %q, %v; want 200 from b-v2", code, ver, err)
	}
	for _, s := range svcs {
		must(t, "down "+s.name, s.p.Shutdown(ctx))
		if !refused(before[s.name].Proxy) {
			t.Errorf("service %s still answers on %s after ramp down", s.name, before[s.name].Proxy)
		}
	}
	waitFor(t, time.Minute, "the supervisor to exit with no service left", func() bool { return !processAlive(sup.PID) })
	if processAlive(now.PID) {
		t.Errorf("the host (pid %d) outlived its supervisor", now.PID)
	}
}

// versionPIDs lists the processes of the versions st records.
func versionPIDs(st stateFile) []int {
	var pids []int
	for _, rs := range []*revState{st.Stable, st.Candidate, st.Previous} {
		if rs != nil {
			for _, r := range rs.running() {
				pids = append(pids, r.PID)
			}
		}
	}
	return pids
}

// TestSharedAgentSupervisorExitsWithHost: once its last service is down,
// the host exits on its own and its supervisor follows without starting
// another, freeing the control address; host.json is removed.
func TestSharedAgentSupervisorExitsWithHost(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	svcs, _ := startShared(t, root, "a", "b")
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	h, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	for _, s := range svcs {
		must(t, "down "+s.name, s.p.Shutdown(ctx))
	}
	waitFor(t, time.Minute, "the host and its supervisor to exit", func() bool {
		return !processAlive(h.PID) && !processAlive(sup.PID)
	})
	if !refused("http://" + sup.Control) {
		t.Errorf("the shared agent's control address %s still accepts connections", sup.Control)
	}
	for _, name := range []string{hostFileName, hostSupervisorFileName} {
		if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("%s after the shared agent exited: %v, want it removed", name, err)
		}
	}
	logb, err := os.ReadFile(filepath.Join(root, hostLogName))
	must(t, "read host.log", err)
	if strings.Contains(string(logb), "restart") {
		t.Errorf("host.log says a host was restarted after it stopped on its own:\n%s", logb)
	}
}

// TestSharedAgentKilledStateDirGone: a service whose state directory is
// gone when the host dies is not run again by the next host, which frees
// its addresses, while the others are.
func TestSharedAgentKilledStateDirGone(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	svcs, _ := startShared(t, root, "a", "b")
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	first, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	infos := map[string]agentInfo{}
	for _, s := range svcs {
		infos[s.name], err = readAgentInfo(s.dir)
		must(t, "read agent.json", err)
	}
	must(t, "remove b's state directory", os.RemoveAll(svcs[1].dir))
	must(t, "kill the host", syscall.Kill(first.PID, syscall.SIGKILL))
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	if code, ver, err := get(c, infos["a"].Proxy+"/"); err != nil || code != http.StatusOK || ver != "a-v1" {
		t.Fatalf("GET a after the host died: %d from %q, %v; want 200 from a-v1", code, ver, err)
	}
	waitFor(t, time.Minute, "b's addresses to be free", func() bool {
		return refused(infos["b"].Proxy) && refused("http://"+infos["b"].Control)
	})
	now, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	if !slices.Equal(now.Services, []string{"a"}) {
		t.Errorf("the shared agent runs %q after the restart, want only a", now.Services)
	}
}
