package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// TestSharedAgentRunsManyServices deploys three services with
// shared-agent: one process runs the three agents, each service answers
// on its own address, `ramp down` of one (or removing its state
// directory) leaves the others serving, the process exits once the last
// one is down, and the next deploy starts it again.
func TestSharedAgentRunsManyServices(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ctx := t.Context()
	names := []string{"a", "b", "c"}
	provs := map[string]*Provider{}
	for _, name := range names {
		cfg := testConfig(t)
		cfg.Service, cfg.StateDir, cfg.SharedAgent, cfg.Executable = name, filepath.Join(root, name), true, os.Args[0]
		p := newProvider(t, cfg)
		provs[name] = p
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p.Shutdown(sctx)
		})
		mustDeploy(t, p, appArtifact(name+"-v1", name+"-v1", 0))
		must(t, "promote", promote(ctx, p, 0))
	}
	hostInfo, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	hp, err := pingHost(ctx, http.DefaultClient, hostInfo)
	must(t, "ping the shared agent", err)
	if !slices.Equal(hp.Services, names) {
		t.Errorf("the shared agent runs %q, want %q", hp.Services, names)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	proxies := map[string]string{}
	for _, name := range names {
		info, err := readAgentInfo(filepath.Join(root, name))
		must(t, "read agent.json", err)
		proxies[name] = info.Proxy
		if info.PID != hostInfo.PID {
			t.Errorf("the agent of %s runs in pid %d, want the shared agent's %d", name, info.PID, hostInfo.PID)
		}
		if code, ver, err := get(c, info.Proxy+"/"); err != nil || code != http.StatusOK || ver != name+"-v1" {
			t.Errorf("GET %s (service %s) = %d from %q, %v; want 200 from %s-v1", info.Proxy, name, code, ver, err, name)
		}
	}
	must(t, "down a", provs["a"].Shutdown(ctx))
	if !refused(proxies["a"]) {
		t.Errorf("service a still answers on %s after ramp down", proxies["a"])
	}
	if code, ver, err := get(c, proxies["b"]+"/"); err != nil || code != http.StatusOK || ver != "b-v1" {
		t.Errorf("after a's down, service b answers %d from %q, %v; want 200 from b-v1", code, ver, err)
	}
	if !processAlive(hostInfo.PID) {
		t.Fatalf("the shared agent (pid %d) exited with services b and c left", hostInfo.PID)
	}
	// Removing a service's state directory stops its agent.
	must(t, "remove c's state directory", os.RemoveAll(filepath.Join(root, "c")))
	waitFor(t, time.Minute, "service c to stop once its state directory is gone", func() bool { return refused(proxies["c"]) })
	must(t, "down b", provs["b"].Shutdown(ctx))
	waitFor(t, time.Minute, "the shared agent to exit with no service left", func() bool { return !processAlive(hostInfo.PID) })
	if _, err := os.Stat(filepath.Join(root, hostFileName)); !os.IsNotExist(err) {
		t.Errorf("host.json after the shared agent exited: %v, want it removed", err)
	}
	// The next deploy starts a shared agent again.
	mustDeploy(t, provs["b"], appArtifact("b-v2", "b-v2", 0))
	again, err := readInfo(root, hostFileName)
	must(t, "read host.json", err)
	if again.PID == hostInfo.PID {
		t.Errorf("the deploy after the shared agent exited found pid %d, want a new one", again.PID)
	}
}

// TestJoinHostRetriesUnanswered: a join the shared agent never answered
// (it died during the call, and its supervisor started another on the
// same address) is sent again, while one it answered with an error is
// not.
func TestJoinHostRetriesUnanswered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		fail      func(w http.ResponseWriter)
		wantJoins int32
		wantErr   bool
	}{
		{"connection closed", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, 2, false},
		{"refused", func(w http.ResponseWriter) {
			writeError(w, fmt.Errorf("no: %w", providers.ErrInvalid))
		}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var joins atomic.Int32
			want := agentInfo{Control: "127.0.0.1:1", PID: 7, Proxy: "http://127.0.0.1:2", Token: "t"}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
				json.NewEncoder(w).Encode(hostPing{PID: 7})
			})
			mux.HandleFunc("POST /v1/services", func(w http.ResponseWriter, r *http.Request) {
				if joins.Add(1) == 1 {
					tc.fail(w)
					return
				}
				json.NewEncoder(w).Encode(want)
			})
			addr := httptestServer(t, mux)
			cfg := testConfig(t)
			cfg.StateDir, cfg.SharedAgent = filepath.Join(cfg.StateDir, "svc"), true
			must(t, "write host.json", writeJSONAtomic(filepath.Join(filepath.Dir(cfg.StateDir), hostFileName),
				agentInfo{Control: addr, PID: 7, Token: "t"}))
			got, err := newProvider(t, cfg).joinHost(t.Context())
			if (err != nil) != tc.wantErr || joins.Load() != tc.wantJoins || !tc.wantErr && got != want {
				t.Errorf("joinHost() = %+v, %v after %d joins; want %d joins and error %v", got, err, joins.Load(), tc.wantJoins, tc.wantErr)
			}
		})
	}
}
