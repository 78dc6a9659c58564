//go:build unix

package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// hostSnapshot is what a test checks a shared agent's services kept across
// an upgrade: each one's agent.json and version processes.
type hostSnapshot struct {
	infos map[string]agentInfo
	pids  map[string][]int
}

// snapshotHost reads the agent.json and the version pids of every service.
func snapshotHost(t *testing.T, svcs []sharedService) hostSnapshot {
	t.Helper()
	s := hostSnapshot{infos: map[string]agentInfo{}, pids: map[string][]int{}}
	for _, svc := range svcs {
		info, err := readAgentInfo(svc.dir)
		must(t, "read agent.json of "+svc.name, err)
		st, err := readState(svc.dir)
		must(t, "read state of "+svc.name, err)
		s.infos[svc.name], s.pids[svc.name] = info, versionPIDs(st)
	}
	return s
}

// readHostSupervisorFile reads root/host-supervisor.json.
func readHostSupervisorFile(t *testing.T, root string) supervisorFile {
	t.Helper()
	var rec supervisorFile
	b, err := os.ReadFile(filepath.Join(root, hostSupervisorFileName))
	must(t, "read host-supervisor.json", err)
	must(t, "parse host-supervisor.json", json.Unmarshal(b, &rec))
	return rec
}

// checkRunsExecutable checks, where /proc tells, that process pid runs exe.
func checkRunsExecutable(t *testing.T, pid int, exe string) {
	t.Helper()
	got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return // no /proc (macOS): host-supervisor.json is checked instead
	}
	want, err := filepath.EvalSymlinks(exe)
	must(t, "resolve "+exe, err)
	if got != want {
		t.Errorf("shared agent pid %d runs %s, want %s", pid, got, want)
	}
}

// TestSharedAgentUpgrade: ramp local-upgrade on one service of a shared
// agent upgrades the shared agent, its three services with it, to a new
// executable under load on two of them (one at a 30% canary), twice:
// no request fails, each service keeps its addresses, version processes
// and split, a new host process runs the new executable, which
// host-supervisor.json records, and the services take commands after.
func TestSharedAgentUpgrade(t *testing.T) {
	root := t.TempDir()
	ctx := t.Context()
	svcs, owned := startShared(t, root, "a", "b", "c")
	b := svcs[1].p
	mustDeploy(t, b, owned("b-v2"))
	must(t, "shift b to 30%", shift(ctx, b, 30))
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	before := snapshotHost(t, svcs)

	la, lb := startSteadyLoad(before.infos["a"].Proxy+"/", 4), startSteadyLoad(before.infos["b"].Proxy+"/", 8)
	defer la.halt()
	defer lb.halt()
	waitFor(t, time.Minute, "load to flow", func() bool { return la.done.Load()+lb.done.Load() >= loadSample })

	start := time.Now()
	for round, via := range []sharedService{svcs[0], svcs[2]} {
		exe := copyExecutable(t)
		old, err := pingHost(ctx, http.DefaultClient, sup)
		must(t, "ping the shared agent", err)
		began := time.Now()
		res, err := via.p.Upgrade(ctx, exe)
		took := time.Since(began)
		must(t, fmt.Sprintf("upgrade %d via %s", round+1, via.name), err)
		waitFor(t, time.Minute, "the old shared agent to exit", func() bool { return !processAlive(old.PID) })
		t.Logf("upgrade %d via %s: shared agent pid %d -> %d in %v, the old one gone after %v",
			round+1, via.name, res.From, res.To, took.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
		if res.From != old.PID || res.To == old.PID || res.To <= 0 || res.Executable != exe || !slices.Equal(res.Services, []string{"a", "b", "c"}) {
			t.Errorf("Upgrade() = %+v, want from pid %d to another one running %s, for a, b and c", res, old.PID, exe)
		}
		now, err := pingHost(ctx, http.DefaultClient, sup)
		must(t, "ping the upgraded shared agent", err)
		if now.PID != res.To || now.Supervisor != sup.PID || !slices.Equal(now.Services, []string{"a", "b", "c"}) {
			t.Errorf("after the upgrade the shared agent is %+v, want pid %d supervised by %d running a, b and c", now, res.To, sup.PID)
		}
		checkRunsExecutable(t, now.PID, exe)
		if rec := readHostSupervisorFile(t, root); rec.Executable != exe || rec.Upgrades != round+1 || rec.Agent != res.To || rec.Restarts != 0 {
			t.Errorf("host-supervisor.json = %+v, want executable %s, %d upgrade(s), agent pid %d, no restart", rec, exe, round+1, res.To)
		}
	}
	sent := la.done.Load() + lb.done.Load()
	waitFor(t, time.Minute, "load after the upgrades", func() bool { return la.done.Load()+lb.done.Load() >= sent+loadSample })
	sa, sb := summarize(la.halt(), start, []string{"a-v1"}), summarize(lb.halt(), start, []string{"b-v1", "b-v2"})
	t.Logf("shared agent upgraded twice under load: %d of %d requests failed; the longest wait of a request sent after the first upgrade began was %v",
		sa.failed+sb.failed, sa.total+sb.total, max(sa.maxWaitAfter, sb.maxWaitAfter).Round(time.Millisecond))
	if sa.failed+sb.failed > 0 {
		t.Errorf("%d requests failed during the upgrades, want none: %q", sa.failed+sb.failed, append(sa.problems, sb.problems...))
	}

	after := snapshotHost(t, svcs)
	for _, s := range svcs {
		if after.infos[s.name] != before.infos[s.name] || !slices.Equal(after.pids[s.name], before.pids[s.name]) {
			t.Errorf("service %s after the upgrades: agent %+v, versions %v; want the same as before: %+v, %v",
				s.name, after.infos[s.name], after.pids[s.name], before.infos[s.name], before.pids[s.name])
		}
	}
	st, err := b.Status(ctx)
	must(t, "status of b", err)
	if st.Stable == nil || st.Stable.ID != "b-v1" || !st.Stable.Ready || st.Candidate == nil || st.Candidate.ID != "b-v2" || st.Weight != 30 {
		t.Errorf("status of b after the upgrades: %+v, want b-v1 stable, b-v2 candidate at 30%%", st)
	}
	if len(st.Warnings) > 0 {
		t.Errorf("status of b after the upgrades warns %q, want nothing (an upgrade is no restart)", st.Warnings)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	if code, _, err := get(c, before.infos["c"].Metrics); err != nil || code != http.StatusOK {
		t.Errorf("GET %s (metrics of c) after the upgrades: %d, %v; want 200", before.infos["c"].Metrics, code, err)
	}
	must(t, "promote b-v2 after the upgrades", promote(ctx, b, 0))
	if code, ver, err := get(c, before.infos["b"].Proxy+"/"); err != nil || code != http.StatusOK || ver != "b-v2" {
		t.Errorf("GET b after promoting b-v2: %d from %q, %v; want 200 from b-v2", code, ver, err)
	}
}

// TestSharedAgentUpgradeFails: an upgrade of a shared agent to an
// executable that exits at once fails saying how it exited, and the
// shared agent goes on from the old executable with the same services,
// versions and split, unfrozen; a relative or missing executable is
// refused before anything starts; an upgrade after all that works. A
// deploy in progress in any of its services refuses an upgrade with
// ErrConflict, leaving every service unfrozen.
func TestSharedAgentUpgradeFails(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	svcs, owned := startShared(t, root, "a", "b")
	b := svcs[1].p
	mustDeploy(t, b, owned("b-v2"))
	must(t, "shift b to 20%", shift(ctx, b, 20))
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	host, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	rec := readHostSupervisorFile(t, root)
	before := snapshotHost(t, svcs)

	broken := filepath.Join(t.TempDir(), "broken-ramp")
	must(t, "write a broken executable", os.WriteFile(broken, []byte("#!/bin/sh\nexit 7\n"), 0o700))
	_, err = svcs[0].p.Upgrade(ctx, broken)
	if err == nil || !strings.Contains(err.Error(), "exit status 7") || !strings.Contains(err.Error(), broken) {
		t.Fatalf("Upgrade(broken) error = %v, want it to say that %s exited with exit status 7", err, broken)
	}
	for _, exe := range []string{"relative/ramp", filepath.Join(t.TempDir(), "missing-ramp")} {
		if _, err := svcs[0].p.Upgrade(ctx, exe); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("Upgrade(%q) = %v, want ErrInvalid", exe, err)
		}
	}
	now, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent after the failed upgrade", err)
	if now.PID != host.PID || !slices.Equal(now.Services, []string{"a", "b"}) {
		t.Errorf("after the failed upgrade the shared agent is %+v, want pid %d still, running a and b", now, host.PID)
	}
	checkRunsExecutable(t, now.PID, rec.Executable)
	if got := readHostSupervisorFile(t, root); got.Executable != rec.Executable || got.Upgrades != 0 || got.Restarts != 0 {
		t.Errorf("host-supervisor.json after the failed upgrade = %+v, want executable %s, no upgrade, no restart", got, rec.Executable)
	}
	must(t, "shift b after the failed upgrade", shift(ctx, b, 40)) // no longer frozen
	st, err := b.Status(ctx)
	must(t, "status of b", err)
	if st.Stable == nil || st.Stable.ID != "b-v1" || st.Candidate == nil || st.Candidate.ID != "b-v2" || st.Weight != 40 {
		t.Errorf("status of b after the failed upgrade: %+v, want b-v1 stable, b-v2 candidate at 40%%", st)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	for _, s := range svcs {
		if code, ver, err := get(c, before.infos[s.name].Proxy+"/"); err != nil || code != http.StatusOK || !strings.HasPrefix(ver, s.name+"-") {
			t.Errorf("GET %s after the failed upgrade: %d from %q, %v; want 200 from one of its versions", s.name, code, ver, err)
		}
	}
	if after := snapshotHost(t, svcs); !slices.Equal(after.pids["a"], before.pids["a"]) || !slices.Equal(after.pids["b"], before.pids["b"]) {
		t.Errorf("versions after the failed upgrade: %v, want the same processes %v", after.pids, before.pids)
	}

	exe := copyExecutable(t)
	res, err := svcs[1].p.Upgrade(ctx, exe)
	must(t, "upgrade after the failed one", err)
	if res.From != host.PID || res.To == host.PID || res.Executable != exe {
		t.Errorf("Upgrade() after the failed one = %+v, want from pid %d to a new one running %s", res, host.PID, exe)
	}

	must(t, "promote b-v2", promote(ctx, b, 0))
	sick := b.cfg
	sick.HealthPath, sick.ReadyTimeout = "/nope", 10*time.Minute
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deployed := make(chan error, 1)
	go func() {
		_, err := newProvider(t, sick).Deploy(dctx, appArtifact("b-sick", "b-sick", 0))
		deployed <- err
	}()
	waitFor(t, time.Minute, "the deploy of b to start", func() bool {
		b, _ := os.ReadFile(filepath.Join(svcs[1].dir, agentLogName))
		return strings.Contains(string(b), "deploy b-sick:")
	})
	if _, err := svcs[0].p.Upgrade(ctx, exe); !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "service b") {
		t.Errorf("Upgrade() during a deploy of b: %v, want ErrConflict naming service b", err)
	}
	mustDeploy(t, svcs[0].p, owned("a-v2")) // a, frozen first, is not left so
	cancel()
	select {
	case <-deployed:
	case <-time.After(time.Minute):
		t.Fatal("the deploy of b still runs a minute after it was cancelled")
	}
}

// TestSharedAgentUpgradeOldSupervisor: a host whose supervisor is from a
// ramp that cannot upgrade it (its first line says nothing of upgrades)
// refuses an upgrade at once, asking nothing of the supervisor.
func TestSharedAgentUpgradeOldSupervisor(t *testing.T) {
	t.Parallel()
	l := &hostLink{supervisor: 4242}
	if _, err := l.upgrade("/usr/local/bin/ramp"); !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "pid 4242") {
		t.Errorf("upgrade() under a supervisor that cannot upgrade: %v, want ErrInvalid naming the supervisor", err)
	}
}

// TestSharedAgentJoinDuringUpgrade: a service joining a shared agent that
// is upgrading is answered with the kind the client retries (and the
// connection closed, so the retry may reach the new shared agent), not
// started in the host about to hand over.
func TestSharedAgentJoinDuringUpgrade(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// It runs another service, whose agent asked for the upgrade.
	h := &host{dir: root, token: "secret", agents: map[string]*Agent{"other": {}}, idle: make(chan struct{}), upgrading: true}
	srv := httptest.NewServer(h.handler())
	defer srv.Close()
	cfg := testConfig(t)
	cfg.StateDir, cfg.SharedAgent = filepath.Join(root, "svc"), true
	info := agentInfo{Control: strings.TrimPrefix(srv.URL, "http://"), Token: "secret"}
	body, err := json.Marshal(hostJoin{Args: AgentArgs(cfg)[1:]})
	must(t, "encode the join", err)
	if err := doOnce(t.Context(), http.DefaultClient, info, http.MethodPost, "/v1/services", body, nil); !errors.Is(err, errUpgrading) {
		t.Errorf("join during an upgrade: %v, want it refused as upgrading, which the client retries", err)
	}
	if _, ok := h.agents["svc"]; ok || len(h.agents) != 1 {
		t.Errorf("the host runs %d agents after a join during its upgrade, want only the other service's", len(h.agents))
	}
}
