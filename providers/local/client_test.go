package local

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-deploy/ramp/providers"
)

// TestSpawnedAgent lets the provider start a detached agent (this test
// binary run as `local-agent ...`), finds it from a second provider, and
// shuts it down.
func TestSpawnedAgent(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Executable = os.Args[0]
	p1 := newProvider(t, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p1.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown() in cleanup: %v", err)
		}
	})
	ctx := t.Context()
	must(t, "preflight", p1.Preflight(ctx))
	if st, err := p1.Status(ctx); err != nil || st.Stable != nil || st.Candidate != nil {
		t.Fatalf("Status() before any agent = %+v, %v; want no revisions", st, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, agentFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Preflight() or Status() started an agent (agent.json: %v)", err)
	}
	rev := mustDeploy(t, p1, appArtifact("v1", "v1", 0))
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	if info.PID == os.Getpid() || info.PID <= 0 {
		t.Errorf("agent.json pid = %d, want a separate process", info.PID)
	}

	p2 := newProvider(t, cfg)
	must(t, "second client preflight", p2.Preflight(ctx))
	rec := providers.Rollout{ID: "ro-9", Phase: providers.PhaseProgressing, Candidate: "v1"}
	must(t, "second client record", record(ctx, p2, rec))
	rec.Version++ // as the record now stands
	st, err := p1.Status(ctx)
	must(t, "status", err)
	if st.Candidate == nil || st.Candidate.ID != "v1" || !st.Candidate.Ready || st.URL != info.Proxy {
		t.Errorf("Status() = %+v, want ready candidate v1 served at %s", st, info.Proxy)
	}
	if diff := cmp.Diff(rec, st.Rollout, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Rollout recorded by the second client mismatch (-want +got):\n%s", diff)
	}
	must(t, "shutdown", p2.Shutdown(ctx))
	if _, err := os.Stat(filepath.Join(cfg.StateDir, agentFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("agent.json after Shutdown(): %v, want it removed", err)
	}
	if !refused(rev.URL) {
		t.Errorf("revision %s still serves after Shutdown()", rev.URL)
	}
	must(t, "shutdown with no agent", p1.Shutdown(ctx))
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	dead := httptestDeadAddr(t)
	broken := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "teapot", http.StatusTeapot)
	}))
	tests := []struct {
		name    string
		setup   func(dir string) string // returns the state dir to check
		wantErr bool
	}{
		{name: "missing state dir", setup: func(dir string) string { return filepath.Join(dir, "a", "b") }},
		{name: "empty state dir", setup: func(dir string) string { return dir }},
		// A state dir that is (or lies under) a file is refused by New as
		// an input error: see TestNewValidation.
		{name: "stale agent.json", setup: func(dir string) string {
			writeJSONAtomic(filepath.Join(dir, agentFileName), agentInfo{Control: dead, PID: 1, Token: "x"})
			return dir
		}},
		{name: "agent.json names something else", wantErr: true, setup: func(dir string) string {
			writeJSONAtomic(filepath.Join(dir, agentFileName), agentInfo{Control: broken, PID: 1, Token: "x"})
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tt.setup(t.TempDir())
			before, _ := os.ReadDir(dir)
			p := newProvider(t, providers.Config{Service: "svc", StateDir: dir, Executable: "/nonexistent"})
			err := p.Preflight(t.Context())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Preflight() error = %v, want error %v", err, tt.wantErr)
			}
			after, _ := os.ReadDir(dir)
			if len(before) != len(after) {
				t.Errorf("Preflight() changed %s: %d entries before, %d after", dir, len(before), len(after))
			}
		})
	}
}

func TestControlAPIRequiresToken(t *testing.T) {
	t.Parallel()
	a, _ := startAgent(t, testConfig(t))
	_, err := Connect(a.ControlAddr(), "wrong").Status(t.Context())
	if !errors.Is(err, providers.ErrPermission) {
		t.Errorf("Status() with a wrong token error = %v, want ErrPermission", err)
	}
	if _, err := a.Client().Status(t.Context()); err != nil {
		t.Errorf("Status() through Agent.Client() error = %v", err)
	}
}
