//go:build unix

package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers"
)

// TestWatchRollsBackAPromotedVersionThatFails promotes a faulty v2 with no
// gates, then runs `ramp watch` as a schedule would: it rolls back to the
// warm v1, and a second watch finds nothing to do.
func TestWatchRollsBackAPromotedVersionThatFails(t *testing.T) {
	t.Parallel()
	s := newService(t)
	s.must(cli.ExitOK, deployArgs("v2", "--env=SAMPLE_VERSION=v2,SAMPLE_FAIL_RATE=0.5", "--compare=off", "--max-error-rate=0",
		"--steps=100")...)
	if o := s.status(); revID(o.st.Stable) != "v2" || o.st.Rollout.Phase != providers.PhasePromoted {
		t.Fatalf("v2 not promoted:\n%s", o.text)
	}
	time.Sleep(2500 * time.Millisecond) // whole seconds of traffic for the watch to judge
	out := s.must(cli.ExitRolledBack, "watch", "--max-error-rate=5", "--watch-window=1m")
	if !strings.Contains(out, "broke its guardrails") || !strings.Contains(out, "error-rate") {
		t.Errorf("watch output does not say which guardrail failed:\n%s", out)
	}
	o := s.status()
	o.mustAgree(t)
	if revID(o.st.Stable) != "v1" || o.st.Rollout.Phase != providers.PhaseRolledBack {
		t.Errorf("after the watch: want v1 stable again:\n%s", o.text)
	}
	s.mustRoute("v1", "", 0)
	if out := s.must(cli.ExitOK, "watch", "--max-error-rate=5"); !strings.Contains(out, "nothing to watch") {
		t.Errorf("second watch did something:\n%s", out)
	}
	sent, failed, _ := s.traffic.stop()
	t.Logf("client load: %d requests, %d failed (v2 fails half of its requests until the watch)", sent, failed)
}
