//go:build unix

package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestSharedAgentCommands deploys two services with --shared-agent
// through the CLI: both agents run in one ramp process (local-host), each
// service answers on its own listen address, status works for each, and
// `ramp down` of both ends the process.
func TestSharedAgentCommands(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	vars := map[string]map[string]string{}
	for _, name := range []string{"web", "api"} {
		v := map[string]string{"RAMP_PROVIDER": "local", "RAMP_SERVICE": name, "RAMP_STATE_DIR": filepath.Join(root, name),
			"RAMP_LISTEN": freePort(t), "RAMP_SHARED_AGENT": "true", "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0",
			"RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe)}
		vars[name] = v
		t.Cleanup(func() { rampCtx(context.Background(), v, "down") }) // t.Context() is done here
		if code, out, stderr := ramp(t, v, deployArgs("v1-"+name)...); code != cli.ExitOK {
			t.Fatalf("deploy %s: exit %d:\n%s%s", name, code, out, stderr)
		}
	}
	var host struct{ PID int }
	readJSONFile(t, filepath.Join(root, "host.json"), &host)
	c := &http.Client{Timeout: 10 * time.Second}
	for name, v := range vars {
		var agent struct{ PID int }
		readJSONFile(t, filepath.Join(root, name, "agent.json"), &agent)
		if agent.PID != host.PID || host.PID == 0 {
			t.Errorf("the agent of %s runs in pid %d, want the shared agent's %d", name, agent.PID, host.PID)
		}
		resp, err := c.Get("http://" + v["RAMP_LISTEN"] + "/")
		if err != nil {
			t.Fatalf("GET %s: %v", name, err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Ramp-Version"); resp.StatusCode != http.StatusOK || got != "v1-"+name {
			t.Errorf("GET %s: %d from %q, want 200 from v1-%s", name, resp.StatusCode, got, name)
		}
		if code, out, stderr := ramp(t, v, "status"); code != cli.ExitOK {
			t.Errorf("status %s: exit %d:\n%s%s", name, code, out, stderr)
		}
	}
	for name, v := range vars {
		if code, out, stderr := ramp(t, v, "down"); code != cli.ExitOK {
			t.Errorf("down %s: exit %d:\n%s%s", name, code, out, stderr)
		}
	}
	deadline := time.Now().Add(procTimeout)
	for syscall.Kill(host.PID, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the shared agent (pid %d) still runs with no service left", host.PID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readJSONFile decodes the JSON file at path into v.
func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
