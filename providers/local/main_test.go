package local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/sampleapp"
	"github.com/ramp-deploy/ramp/providers"
)

// The test binary doubles as the revision app (RAMP_LOCAL_TEST_APP=1 runs
// the sample app, =exit fails at start) and as a spawned agent (first
// argument local-agent) or shared agent (local-host); a shared agent run
// by its supervisor exits at once while the file testHostCrashFile is in
// its directory.
//
// With RAMP_LOCAL_TEST_ENV_DIR set, the app and the agent first write their
// environment there (see recordEnv); the agent passes that variable on
// (KeepTestEnv).
// testHostCrashFile, in a shared agent's directory, makes the shared agent
// its supervisor starts exit at once (see TestMain).
const testHostCrashFile = "test-host-crash"

func TestMain(m *testing.M) {
	KeepTestEnv("RAMP_LOCAL_TEST_ENV_DIR")
	switch {
	case os.Getenv("RAMP_LOCAL_TEST_APP") == "1":
		recordEnv(os.Getenv("RAMP_LOCAL_TEST_ENV_DIR"), "app")
		os.Exit(runChild(func(ctx context.Context) error {
			opts, err := sampleapp.OptionsFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			return sampleapp.Run(ctx, opts)
		}))
	case os.Getenv("RAMP_LOCAL_TEST_APP") == "exit":
		fmt.Fprintln(os.Stderr, "boom: bad configuration")
		os.Exit(3)
	case len(os.Args) > 2 && os.Args[1] == HostCommand:
		dir := strings.TrimPrefix(os.Args[2], "--state-dir=")
		if _, err := os.Stat(filepath.Join(dir, testHostCrashFile)); err == nil && os.Getenv(envSupervisor) != "" {
			fmt.Fprintln(os.Stderr, "test: the shared agent crashes as it starts")
			os.Exit(3)
		}
		os.Exit(runChild(func(ctx context.Context) error { return RunHost(ctx, dir) }))
	case len(os.Args) > 1 && os.Args[1] == AgentCommand:
		recordEnv(os.Getenv("RAMP_LOCAL_TEST_ENV_DIR"), "agent")
		os.Exit(runChild(func(ctx context.Context) error {
			cfg, err := ParseAgentArgs(os.Args[2:])
			if err != nil {
				return err
			}
			return RunAgent(ctx, cfg)
		}))
	}
	os.Exit(m.Run())
}

// runChild runs fn until SIGINT, SIGTERM or the death of the process that
// started it, so no test child outlives a crashed test. A revision with
// RAMP_LOCAL_TEST_OWNER=<pid> watches that process instead, so that it
// outlives its agent as a real revision does.
func runChild(fn func(context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	parent := os.Getppid()
	owner, _ := strconv.Atoi(os.Getenv("RAMP_LOCAL_TEST_OWNER"))
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			orphan := os.Getppid() != parent
			if owner > 0 {
				orphan = !processAlive(owner)
			}
			if orphan {
				stop()
				return
			}
		}
	}()
	if err := fn(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// quoteArg quotes s for splitCommand.
func quoteArg(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// appArtifact returns an artifact running the sample app (this test binary)
// as version, failing failRate of its requests.
func appArtifact(rev, version string, failRate float64) providers.Artifact {
	return providers.Artifact{
		Image:    quoteArg(os.Args[0]),
		Revision: rev,
		Env: []string{
			"RAMP_LOCAL_TEST_APP=1",
			"SAMPLE_VERSION=" + version,
			"SAMPLE_FAIL_RATE=" + strconv.FormatFloat(failRate, 'g', -1, 64),
		},
	}
}

// testConfig returns a configuration for a fresh service in a temporary
// state directory, proxying on a free port.
func testConfig(t *testing.T) providers.Config {
	return providers.Config{Service: "svc", StateDir: t.TempDir(), Listen: "127.0.0.1:0", ReadyTimeout: 30 * time.Second}
}

// startAgent starts an in-process agent for cfg, closed when the test ends,
// and returns it with a provider that finds it through agent.json.
func startAgent(t *testing.T, cfg providers.Config) (*Agent, *Provider) {
	t.Helper()
	a, err := StartAgent(t.Context(), cfg)
	if err != nil {
		t.Fatalf("StartAgent() error = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	return a, newProvider(t, cfg)
}

// newProvider returns New(cfg) as a *Provider.
func newProvider(t *testing.T, cfg providers.Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return p.(*Provider)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get fetches url and returns the status and the version that answered.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("X-Ramp-Version"), nil
}

// refused reports whether nothing serves url any more.
func refused(url string) bool {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	_, _, err := get(c, url+"/healthz")
	return err != nil && isDialError(err)
}

// mustDeploy deploys a and fails the test on error.
func mustDeploy(t *testing.T, p *Provider, a providers.Artifact) providers.Revision {
	t.Helper()
	rev, err := p.Deploy(t.Context(), a)
	if err != nil {
		t.Fatalf("Deploy(%s) error = %v", a.Revision, err)
	}
	return rev
}

// must fails the test if err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// httptestServer serves h on loopback until the test ends and returns its
// host:port.
func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// httptestDeadAddr returns a loopback host:port nothing listens on.
func httptestDeadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
