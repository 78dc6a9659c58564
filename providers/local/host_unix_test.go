//go:build unix

package local

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// TestSharedAgentKilled: when the shared agent is killed, the versions
// keep running; the next deploy starts a shared agent again, whose agent
// re-adopts the stable version, which serves through the proxy again.
func TestSharedAgentKilled(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	cfg := testConfig(t)
	cfg.StateDir, cfg.SharedAgent, cfg.Executable = filepath.Join(root, "svc"), true, os.Args[0]
	p := newProvider(t, cfg)
	t.Cleanup(func() { // t.Context() is done here
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.Shutdown(sctx)
	})
	owned := func(rev string) providers.Artifact {
		a := appArtifact(rev, rev, 0)
		a.Env = append(a.Env, "RAMP_LOCAL_TEST_OWNER="+strconv.Itoa(os.Getpid())) // outlives its agent
		return a
	}
	mustDeploy(t, p, owned("v1"))
	must(t, "promote v1", promote(ctx, p, 0))
	first, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	st, err := readState(cfg.StateDir)
	must(t, "read state", err)
	must(t, "kill the shared agent", syscall.Kill(first.PID, syscall.SIGKILL))
	waitFor(t, time.Minute, "the shared agent to die", func() bool { return !processAlive(first.PID) })

	c := &http.Client{Timeout: 10 * time.Second}
	port := st.Stable.running()[0].Port
	if code, ver, err := get(c, "http://127.0.0.1:"+strconv.Itoa(port)+"/"); err != nil || code != http.StatusOK || ver != "v1" {
		t.Fatalf("v1 on port %d after the shared agent died: %d from %q, %v; want it still running", port, code, ver, err)
	}
	mustDeploy(t, p, owned("v2"))
	again, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	if again.PID == first.PID {
		t.Errorf("the deploy after the kill found pid %d, want a new shared agent", again.PID)
	}
	now, err := p.Status(ctx)
	must(t, "status", err)
	if now.Stable == nil || now.Stable.ID != "v1" || !now.Stable.Ready || now.Candidate == nil || now.Candidate.ID != "v2" {
		t.Errorf("after the restart: %+v, want v1 stable (adopted, ready) and v2 the candidate", now)
	}
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	if code, ver, err := get(c, info.Proxy+"/"); err != nil || code != http.StatusOK || ver != "v1" {
		t.Errorf("GET %s after the restart: %d from %q, %v; want 200 from v1", info.Proxy, code, ver, err)
	}
}
