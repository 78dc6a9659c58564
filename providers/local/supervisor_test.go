//go:build unix

package local

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// spawnSupervised returns a provider that starts the supervised agent
// (this test binary) on first use, and stops it when the test ends.
func spawnSupervised(t *testing.T) (providers.Config, *Provider) {
	t.Helper()
	return spawnSupervisedWith(t, testConfig(t))
}

// spawnSupervisedWith is spawnSupervised for cfg.
func spawnSupervisedWith(t *testing.T, cfg providers.Config) (providers.Config, *Provider) {
	t.Helper()
	cfg.Executable = os.Args[0]
	p := newProvider(t, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown() in cleanup: %v", err)
		}
		if t.Failed() {
			t.Logf("agent log:%s", logTail(filepath.Join(cfg.StateDir, agentLogName), 0))
		}
	})
	return cfg, p
}

// lastingApp is appArtifact for a revision that outlives the agent that
// started it, as a real one does, stopping only with the test process.
func lastingApp(rev string) providers.Artifact {
	a := appArtifact(rev, rev, 0)
	a.Env = append(a.Env, "RAMP_LOCAL_TEST_OWNER="+strconv.Itoa(os.Getpid()))
	return a
}

// canaryAt deploys v1 as the stable revision and v2 as the candidate with
// weight percent of the traffic, and returns the service URL.
func canaryAt(t *testing.T, p *Provider, weight int) string {
	t.Helper()
	ctx := t.Context()
	mustDeploy(t, p, lastingApp("v1"))
	must(t, "promote v1", promote(ctx, p, 0))
	mustDeploy(t, p, lastingApp("v2"))
	must(t, "shift to v2", shift(ctx, p, weight))
	st, err := p.Status(ctx)
	must(t, "status", err)
	return st.URL + "/"
}

// servingPID returns the pid of the agent process that answers the
// control API (agent.json names the supervisor).
func servingPID(t *testing.T, cfg providers.Config) int {
	t.Helper()
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	r, err := ping(t.Context(), http.DefaultClient, info, cfg.Service)
	must(t, "ping the agent", err)
	return r.PID
}

// revisionPIDs returns the revisions state.json lists, with their pids.
func revisionPIDs(t *testing.T, cfg providers.Config) map[string]int {
	t.Helper()
	st, err := readState(cfg.StateDir)
	must(t, "read state.json", err)
	out := map[string]int{}
	for _, r := range []*revState{st.Stable, st.Candidate, st.Previous} {
		if r != nil {
			out[r.ID] = r.PID
		}
	}
	return out
}

// checkSplit checks that Status reports v1 stable and v2 at weight, and
// that state.json lists the revisions in want with the same processes.
func checkSplit(t *testing.T, cfg providers.Config, p *Provider, weight int, want map[string]int) providers.Status {
	t.Helper()
	st, err := p.Status(t.Context())
	must(t, "status", err)
	if st.Stable == nil || st.Stable.ID != "v1" || !st.Stable.Ready || st.Candidate == nil || st.Candidate.ID != "v2" ||
		!st.Candidate.Ready || st.Weight != weight {
		t.Errorf("Status() = %+v, want ready v1 stable and ready v2 at %d%%", st, weight)
	}
	got := revisionPIDs(t, cfg)
	if len(got) != len(want) {
		t.Errorf("state.json revisions = %v, want %v", got, want)
	}
	for id, pid := range want {
		if got[id] != pid {
			t.Errorf("state.json revision %s pid = %d, want %d (the same process)", id, got[id], pid)
		}
	}
	return st
}

func TestSupervisorStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	cfg, p := spawnSupervised(t)
	rev := mustDeploy(t, p, appArtifact("v1", "v1", 0))
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	must(t, "SIGTERM the supervisor", syscall.Kill(info.PID, syscall.SIGTERM))
	waitFor(t, time.Minute, "the supervisor to exit", func() bool { return !processAlive(info.PID) })
	if !refused(rev.URL) {
		t.Errorf("revision %s still serves after SIGTERM to the supervisor", rev.URL)
	}
	for _, name := range []string{agentFileName, supervisorFileName} {
		if _, err := os.Stat(filepath.Join(cfg.StateDir, name)); !os.IsNotExist(err) {
			t.Errorf("%s after the supervisor stopped: %v, want it removed", name, err)
		}
	}
}

func TestSecondSupervisorRefused(t *testing.T) {
	t.Parallel()
	cfg, p := spawnSupervised(t)
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	before := servingPID(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, os.Args[0], AgentArgs(p.cfg)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already serves") {
		t.Errorf("second local-agent: %v, output %q; want a failure saying an agent already serves", err, out)
	}
	if got := servingPID(t, cfg); got != before {
		t.Errorf("the agent serving changed from pid %d to %d", before, got)
	}
}

func TestSupervisorStopsWhenStateDirRemoved(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Executable, cfg.StateDir = os.Args[0], filepath.Join(cfg.StateDir, "state")
	p := newProvider(t, cfg)
	rev := mustDeploy(t, p, appArtifact("v1", "v1", 0))
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	must(t, "remove the state directory", os.RemoveAll(cfg.StateDir))
	waitFor(t, time.Minute, "the supervisor to exit", func() bool { return !processAlive(info.PID) })
	waitFor(t, 30*time.Second, "the revision to stop", func() bool { return refused(rev.URL) })
	if _, err := os.Stat(cfg.StateDir); !os.IsNotExist(err) {
		t.Errorf("state directory after the supervisor stopped: %v, want it still gone", err)
	}
}

func TestUpgradeFailureKeepsTheAgent(t *testing.T) {
	t.Parallel()
	cfg, p := spawnSupervised(t)
	url := canaryAt(t, p, 10)
	before, revs := servingPID(t, cfg), revisionPIDs(t, cfg)
	broken := filepath.Join(t.TempDir(), "broken-ramp")
	must(t, "write a broken executable", os.WriteFile(broken, []byte("#!/bin/sh\nexit 7\n"), 0o700))
	_, err := p.Upgrade(t.Context(), broken)
	if err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("Upgrade(broken) error = %v, want the new agent's exit status 7", err)
	}
	if got := servingPID(t, cfg); got != before {
		t.Errorf("after a failed upgrade pid %d serves, want %d still", got, before)
	}
	must(t, "shift after the failed upgrade", shift(t.Context(), p, 20)) // the agent is no longer frozen
	checkSplit(t, cfg, p, 20, revs)
	if code, _, err := get(http.DefaultClient, url); err != nil || code != http.StatusOK {
		t.Errorf("GET %s after the failed upgrade = %d, %v", url, code, err)
	}
	if _, err := p.Upgrade(t.Context(), "relative/ramp"); err == nil {
		t.Error("Upgrade(relative path) succeeded, want an error")
	}
}

// copyExecutable copies this test binary to a new file, standing in for a
// new ramp binary.
func copyExecutable(t *testing.T) string {
	t.Helper()
	src, err := os.Open(os.Args[0])
	must(t, "open this test binary", err)
	defer src.Close()
	path := filepath.Join(t.TempDir(), "ramp-next")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o700)
	must(t, "create the new binary", err)
	_, err = io.Copy(dst, src)
	must(t, "copy the new binary", err)
	must(t, "close the new binary", dst.Close())
	return path
}
