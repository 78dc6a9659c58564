package local

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       providers.Config
		wantInput string
	}{
		{name: "missing service", cfg: providers.Config{}, wantInput: "service"},
		{name: "service with a slash", cfg: providers.Config{Service: "../etc"}, wantInput: "service"},
		{name: "listen without port", cfg: providers.Config{Service: "s", Listen: "localhost"}, wantInput: "listen"},
		{name: "listen with a bad port", cfg: providers.Config{Service: "s", Listen: "127.0.0.1:http"}, wantInput: "listen"},
		{name: "listen port too large", cfg: providers.Config{Service: "s", Listen: ":70000"}, wantInput: "listen"},
		{name: "relative health path", cfg: providers.Config{Service: "s", HealthPath: "healthz"}, wantInput: "health-path"},
		{name: "negative ready timeout", cfg: providers.Config{Service: "s", ReadyTimeout: -time.Second}, wantInput: "ready-timeout"},
		{name: "valid", cfg: providers.Config{Service: "web-1", Listen: ":9090"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg)
			if tt.wantInput == "" {
				if err != nil {
					t.Fatalf("New() error = %v", err)
				}
				return
			}
			ie, ok := errors.AsType[*input.Error](err)
			if !ok || ie.Input != tt.wantInput {
				t.Fatalf("New() error = %v, want an input error naming %q", err, tt.wantInput)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	p := newProvider(t, providers.Config{Service: "web"})
	wantDir, err := filepath.Abs(filepath.Join(".ramp", "local", "web"))
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Config{
		Service: "web", StateDir: wantDir, Listen: "127.0.0.1:8080", HealthPath: "/healthz", ReadyTimeout: time.Minute,
	}
	if diff := cmp.Diff(want, p.cfg); diff != "" {
		t.Errorf("New() config mismatch (-want +got):\n%s", diff)
	}
}

func TestAgentArgsRoundTrip(t *testing.T) {
	t.Parallel()
	cfg, err := normalize(providers.Config{
		Service: "api", StateDir: "/tmp/state dir", Listen: "0.0.0.0:9000", HealthPath: "/ready", ReadyTimeout: 90 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	args := AgentArgs(cfg)
	if args[0] != AgentCommand {
		t.Fatalf("AgentArgs()[0] = %q, want %q", args[0], AgentCommand)
	}
	got, err := ParseAgentArgs(args[1:])
	if err != nil {
		t.Fatalf("ParseAgentArgs() error = %v", err)
	}
	if diff := cmp.Diff(cfg, got); diff != "" {
		t.Errorf("ParseAgentArgs(AgentArgs()) mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseAgentArgs([]string{"--service=x", "extra"}); err == nil {
		t.Error("ParseAgentArgs() with a stray argument: no error")
	}
	if _, err := ParseAgentArgs([]string{"--bogus"}); err == nil {
		t.Error("ParseAgentArgs() with an unknown flag: no error")
	}
}
