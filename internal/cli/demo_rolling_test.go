//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestDemoRolling runs `ramp demo --rolling` as a newcomer would: v2
// replaces v1 on four replicas with no failed request, the faulty v3 is
// rolled back, and the summary holds the three rollouts.
func TestDemoRolling(t *testing.T) {
	t.Parallel()
	summary := filepath.Join(t.TempDir(), "summary.md")
	code, out, stderr := ramp(t, nil, "demo", "--rolling", "--summary", summary)
	if code != cli.ExitOK || !strings.Contains(out, "Demo OK") || !strings.Contains(out, "failed for any other reason:               0") {
		t.Fatalf("ramp demo --rolling: exit %d, want %d and Demo OK with no other failure:\n%s%s", code, cli.ExitOK, out, stderr)
	}
	for _, want := range []string{"replaced: 2 instances run the candidate", "now serving: v2 on 4 replicas", "rolled back from 50%"} {
		if !strings.Contains(out, want) {
			t.Errorf("ramp demo --rolling: no %q in the output:\n%s", want, out)
		}
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Rolling update to v2", "Rolling update to v3"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary: no %q:\n%s", want, md)
		}
	}
}

// TestDemoRollingSwitch: --rolling takes a boolean; anything else is an
// invalid input, named.
func TestDemoRollingSwitch(t *testing.T) {
	t.Parallel()
	code, out, stderr := ramp(t, nil, "demo", "--rolling=sometimes")
	if code != cli.ExitInvalid || !strings.Contains(out+stderr, `"rolling"`) {
		t.Errorf("ramp demo --rolling=sometimes: exit %d, want %d naming rolling:\n%s%s", code, cli.ExitInvalid, out, stderr)
	}
}
