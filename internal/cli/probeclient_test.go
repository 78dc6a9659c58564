package cli

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/providers"
)

// authProvider is a provider that authenticates probes with client, or
// fails to with err.
type authProvider struct {
	providers.Provider
	client *http.Client
	err    error
}

func (p authProvider) ProbeClient() (*http.Client, error) { return p.client, p.err }

func TestProbeClientIsTheProvidersWhenItOffersOne(t *testing.T) {
	t.Parallel()
	own := &http.Client{Transport: http.DefaultTransport}
	if c, err := probeClient(authProvider{client: own}); err != nil || c != own {
		t.Errorf("probeClient = %p, %v; want the provider's %p", c, err, own)
	}
	if c, err := probeClient(struct{ providers.Provider }{}); err != nil || c == nil || c.Transport != nil {
		t.Errorf("probeClient of a provider without the capability = %+v, %v; want a plain client", c, err)
	}
	boom := errors.New("boom")
	if _, err := probeClient(authProvider{err: boom}); !errors.Is(err, boom) {
		t.Errorf("probeClient err = %v, want %v", err, boom)
	}
}

// TestPrepareGivesTheProbeTheProvidersClient builds a cloudrun rollout
// with a probe: its gate sends through the provider's client. Nothing is
// sent, so nothing is called.
func TestPrepareGivesTheProbeTheProvidersClient(t *testing.T) {
	t.Parallel()
	cmd := commands()[slices.IndexFunc(commands(), func(c command) bool { return c.Name == "validate" })]
	vals, err := config.Load(cmd.Command, []string{"--provider=cloudrun", "--project=p", "--region=europe-west1",
		"--service=api", "--probe-path=/healthz", "--compare=off", "--max-error-rate=0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(vals)
	a := &app{env: Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard}, vals: vals, cfg: cfg, parseErr: err}
	ro, err := a.prepare(t.Context(), a.cfg.Rollout)
	if err != nil {
		t.Fatal(err)
	}
	if len(ro.gates) != 1 {
		t.Fatalf("gates = %v, want the probe", ro.gates)
	}
	g, ok := ro.gates[0].(gates.ProbeGate)
	if !ok || g.Client == nil || g.Client.Transport == nil {
		t.Errorf("probe gate = %#v, want it to send through the Cloud Run provider's client", ro.gates[0])
	}
}
