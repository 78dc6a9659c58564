package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
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
		{name: "metrics-listen without port", cfg: providers.Config{Service: "s", MetricsListen: "localhost"}, wantInput: "metrics-listen"},
		{name: "metrics-listen with a bad port", cfg: providers.Config{Service: "s", MetricsListen: "127.0.0.1:prom"}, wantInput: "metrics-listen"},
		{name: "metrics-listen on the proxy's address", cfg: providers.Config{Service: "s", Listen: "127.0.0.1:9000",
			MetricsListen: "127.0.0.1:9000"}, wantInput: "metrics-listen"},
		{name: "relative health path", cfg: providers.Config{Service: "s", HealthPath: "healthz"}, wantInput: "health-path"},
		{name: "negative ready timeout", cfg: providers.Config{Service: "s", ReadyTimeout: -time.Second}, wantInput: "ready-timeout"},
		{name: "state-dir names a file", cfg: providers.Config{Service: "s", StateDir: file}, wantInput: "state-dir"},
		{name: "state-dir under a file", cfg: providers.Config{Service: "s", StateDir: filepath.Join(file, "a", "b")}, wantInput: "state-dir"},
		{name: "valid", cfg: providers.Config{Service: "web-1", Listen: ":9090"}},
		{name: "valid with metrics", cfg: providers.Config{Service: "web-1", Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"}},
		{name: "state-dir not there yet", cfg: providers.Config{Service: "s", StateDir: filepath.Join(t.TempDir(), "a", "b")}},
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

func TestNewListsEveryProblem(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(providers.Config{Service: "web", StateDir: file, Listen: "bad", HealthPath: "nope", ReadyTimeout: -1})
	for _, w := range []string{`input "state-dir": names a file, not a directory`, `input "listen": must be host:port`,
		`input "health-path": must start with /`, `input "ready-timeout": must not be negative`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New() error %v lacks %q", err, w)
		}
	}
	_, err = New(providers.Config{Service: "../x", Listen: "bad"})
	for _, w := range []string{`input "service"`, `input "listen"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New() error %v lacks %q", err, w)
		}
	}
}

func TestCheckArtifact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image string
		want  string // "" for valid
	}{
		{"./web --port-from-env", ""},
		{"'/my dir/web' sample-app", ""},
		{"", ""}, // left to the caller's required check
		{"'x sample-app", `input "image": unterminated ' quote (image is split into words without a shell) (value "'x sample-app")`},
		{`web "--name=a b`, `unterminated " quote`},
		{"web\x00x", "holds a NUL byte"},
	}
	for _, tt := range tests {
		err := CheckArtifact(providers.Artifact{Image: tt.image})
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckArtifact(%q) = %v", tt.image, err)
			}
			continue
		}
		if ie, ok := errors.AsType[*input.Error](err); !ok || ie.Input != "image" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckArtifact(%q) = %v, want an input error on image holding %q", tt.image, err, tt.want)
		}
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
		Service: "web", StateDir: wantDir, Listen: "127.0.0.1:8080", HealthPath: "/healthz", ReadyTimeout: time.Minute, Replicas: 1,
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
	cfg.MetricsListen = "127.0.0.1:9091"
	if got, err := ParseAgentArgs(AgentArgs(cfg)[1:]); err != nil || got.MetricsListen != cfg.MetricsListen {
		t.Errorf("ParseAgentArgs(AgentArgs()) with metrics = %+v, %v; want metrics-listen %s", got, err, cfg.MetricsListen)
	}
	if _, err := ParseAgentArgs([]string{"--service=x", "extra"}); err == nil {
		t.Error("ParseAgentArgs() with a stray argument: no error")
	}
	if _, err := ParseAgentArgs([]string{"--bogus"}); err == nil {
		t.Error("ParseAgentArgs() with an unknown flag: no error")
	}
}
