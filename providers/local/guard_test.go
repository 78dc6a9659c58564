package local

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// TestFrozenAgentDefersChanges freezes an agent as an upgrade does: calls
// that change state are refused as "upgrading" and retried by the client
// until the agent thaws, while reads are answered.
func TestFrozenAgentDefersChanges(t *testing.T) {
	t.Parallel()
	a, p := startAgent(t, testConfig(t))
	ctx := t.Context()
	must(t, "freeze", a.freeze())
	info := agentInfo{Control: a.ControlAddr(), Token: a.token}
	if err := doOnce(ctx, http.DefaultClient, info, http.MethodPost, "/v1/shutdown", nil, nil); !errors.Is(err, errUpgrading) {
		t.Fatalf("shutdown call to a frozen agent: %v, want %v", err, errUpgrading)
	}
	if _, err := p.Status(ctx); err != nil {
		t.Fatalf("Status() of a frozen agent: %v", err)
	}
	if err := a.freeze(); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("second freeze: %v, want ErrConflict", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown() of a frozen agent returned %v, want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}
	a.thaw()
	select {
	case err := <-done:
		must(t, "Shutdown() once thawed", err)
	case <-time.After(time.Minute):
		t.Fatal("Shutdown() still waiting a minute after the agent thawed")
	}
	<-a.Done()
}

// TestFreezeRefusedDuringDeploy freezes the agent while a deploy starts a
// revision that never gets healthy: refused. The deploy runs until the test
// cancels it, so no timeout races the freeze on a loaded machine.
func TestFreezeRefusedDuringDeploy(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	a, _ := startAgent(t, cfg)
	sick := cfg
	sick.HealthPath, sick.ReadyTimeout = "/nope", 10*time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	deployed := make(chan error, 1)
	go func() {
		_, err := newProvider(t, sick).Deploy(ctx, appArtifact("sick", "v1", 0))
		deployed <- err
	}()
	deploying := func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.deployCancel != nil
	}
	waitFor(t, time.Minute, "the deploy to start", deploying)
	if err := a.freeze(); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("freeze during a deploy: %v, want ErrConflict", err)
	}
	cancel()
	select {
	case err := <-deployed:
		if err == nil {
			t.Error("the deploy of a revision that never gets healthy succeeded")
		}
	case <-time.After(time.Minute):
		t.Fatal("the deploy still runs a minute after it was cancelled")
	}
	waitFor(t, time.Minute, "the agent to end the cancelled deploy", func() bool { return !deploying() })
	must(t, "freeze once the deploy ended", a.freeze())
	a.thaw()
}

func TestUpgradeNeedsSupervisor(t *testing.T) {
	t.Parallel()
	_, p := startAgent(t, testConfig(t))
	if _, err := p.Upgrade(t.Context(), "/bin/sh"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("Upgrade() of an agent without a supervisor: %v, want ErrInvalid", err)
	}
	if _, err := p.Status(t.Context()); err != nil {
		t.Errorf("Status() after the refused upgrade: %v", err)
	}
}
