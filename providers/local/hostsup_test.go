//go:build unix

package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSharedAgentConcurrentFirstDeploys: services deployed at once into a
// directory with no shared agent start one between them: one supervisor
// holds host.lock, the others' wait until its host serves and leave it to
// them, and every deploy joins it.
func TestSharedAgentConcurrentFirstDeploys(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	names := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for _, name := range names {
		cfg := testConfig(t)
		cfg.Service, cfg.StateDir, cfg.SharedAgent, cfg.Executable = name, filepath.Join(root, name), true, os.Args[0]
		p := newProvider(t, cfg)
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p.Shutdown(sctx)
		})
		wg.Go(func() { mustDeploy(t, p, appArtifact(name+"-v1", name+"-v1", 0)) })
	}
	wg.Wait()
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	for _, name := range names {
		info, err := readAgentInfo(filepath.Join(root, name))
		must(t, "read agent.json", err)
		if info.PID != sup.PID {
			t.Errorf("the agent of %s names pid %d, want the one shared agent's supervisor %d", name, info.PID, sup.PID)
		}
	}
	h, err := pingHost(t.Context(), http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	if !slices.Equal(h.Services, names) {
		t.Errorf("the shared agent runs %q, want %q", h.Services, names)
	}
	logb, err := os.ReadFile(filepath.Join(root, hostLogName))
	must(t, "read host.log", err)
	if n := strings.Count(string(logb), "supervising shared agent"); n != 1 {
		t.Errorf("host.log shows %d shared agents started, want 1:\n%s", n, logb)
	}
}

// TestSharedAgentGivesUp: a shared agent that keeps exiting as it starts
// is started again with the backoff until maxUnready in a row failed; then
// its supervisor gives up, says so in host-supervisor.json and frees the
// addresses, leaving the versions running, and the next deploy starts a
// shared agent again, whose agent re-adopts them.
func TestSharedAgentGivesUp(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	svcs, owned := startShared(t, root, "a")
	svc := svcs[0]
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	h, err := pingHost(ctx, http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	info, err := readAgentInfo(svc.dir)
	must(t, "read agent.json", err)
	st, err := readState(svc.dir)
	must(t, "read state", err)
	pids := versionPIDs(st)

	crash := filepath.Join(root, testHostCrashFile)
	must(t, "make the next shared agents crash", os.WriteFile(crash, nil, 0o600))
	must(t, "kill the host", syscall.Kill(h.PID, syscall.SIGKILL))
	waitFor(t, 2*time.Minute, "the supervisor to give up", func() bool { return !processAlive(sup.PID) })
	var rec supervisorFile
	b, err := os.ReadFile(filepath.Join(root, hostSupervisorFileName))
	must(t, "read host-supervisor.json", err)
	must(t, "parse host-supervisor.json", json.Unmarshal(b, &rec))
	if want := fmt.Sprintf("after %d shared agents in a row exited before serving", maxUnready); !strings.Contains(rec.Stopped, want) ||
		!strings.Contains(rec.Stopped, "exit status 3") || rec.Restarts != maxUnready+1 {
		t.Errorf("host-supervisor.json after giving up: %+v, want %d restarts and a stop reason saying %q and how the last one exited",
			rec, maxUnready+1, want)
	}
	logb, err := os.ReadFile(filepath.Join(root, hostLogName))
	must(t, "read host.log", err)
	for _, d := range []time.Duration{restartDelay(2), restartDelay(maxUnready)} {
		if !strings.Contains(string(logb), fmt.Sprintf("restarting in %v", d)) {
			t.Errorf("host.log does not show a restart backing off %v:\n%s", d, logb)
		}
	}
	if !refused(info.Proxy) {
		t.Errorf("the proxy address %s still accepts connections after the supervisor gave up", info.Proxy)
	}
	offline, err := svc.p.Status(ctx)
	must(t, "status after the supervisor gave up", err)
	if w := strings.Join(offline.Warnings, "\n"); !strings.Contains(w, "the shared local agent's supervisor (pid "+strconv.Itoa(sup.PID)+") stopped: gave up") {
		t.Errorf("status after the supervisor gave up warns %q, want it to say that it gave up", offline.Warnings)
	}

	must(t, "let the next shared agent start", os.Remove(crash))
	mustDeploy(t, svc.p, owned("a-v2"))
	now, err := svc.p.Status(ctx)
	must(t, "status", err)
	if now.Stable == nil || now.Stable.ID != "a-v1" || !now.Stable.Ready || now.Candidate == nil || now.Candidate.ID != "a-v2" {
		t.Errorf("after the next deploy: %+v, want a-v1 stable (re-adopted, ready) and a-v2 the candidate", now)
	}
	st, err = readState(svc.dir)
	must(t, "read state", err)
	if got := versionPIDs(st); len(got) != len(pids)+1 || !slices.Equal(got[:len(pids)], pids) {
		t.Errorf("versions after the next deploy run as pids %v, want a-v1 still as %v", got, pids)
	}
}

// TestSharedAgentSupervisorSIGTERM: SIGTERM to the supervisor stops the
// host as the host stops on its own, every service's agent with its
// versions, and then the supervisor, with no host started again.
func TestSharedAgentSupervisorSIGTERM(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	svcs, _ := startShared(t, root, "a", "b")
	sup, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	h, err := pingHost(t.Context(), http.DefaultClient, sup)
	must(t, "ping the shared agent", err)
	var pids []int
	for _, s := range svcs {
		st, err := readState(s.dir)
		must(t, "read state", err)
		pids = append(pids, versionPIDs(st)...)
	}
	must(t, "SIGTERM the supervisor", syscall.Kill(sup.PID, syscall.SIGTERM))
	waitFor(t, 2*time.Minute, "the supervisor, the host and the versions to exit", func() bool {
		return !slices.ContainsFunc(append([]int{sup.PID, h.PID}, pids...), processAlive)
	})
	for _, s := range svcs {
		if _, err := readAgentInfo(s.dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("agent.json of %s after the stop: %v, want it removed", s.name, err)
		}
	}
	logb, err := os.ReadFile(filepath.Join(root, hostLogName))
	must(t, "read host.log", err)
	if strings.Contains(string(logb), "restart") {
		t.Errorf("host.log says a host was restarted after the supervisor was asked to stop:\n%s", logb)
	}
}
