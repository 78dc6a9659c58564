package local

import (
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// Defaults applied to a providers.Config by New, StartAgent and RunAgent.
const (
	// DefaultListen is where the proxy serves the service.
	DefaultListen = "127.0.0.1:8080"
	// DefaultHealthPath is polled to tell that a revision is ready.
	DefaultHealthPath = "/healthz"
	// DefaultReadyTimeout bounds how long Deploy waits for readiness.
	DefaultReadyTimeout = 60 * time.Second
)

// AgentCommand is the hidden subcommand the provider runs its agent as:
// `<executable> local-agent --service=S --state-dir=D --listen=A
// --health-path=P --ready-timeout=T`, parsed by ParseAgentArgs.
const AgentCommand = "local-agent"

// namePattern is what service and revision names must match, since they
// name files in the state directory.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// normalize checks cfg and fills in the defaults; a bad value is an
// *input.Error naming it. It touches nothing.
func normalize(cfg providers.Config) (providers.Config, error) {
	if cfg.Service == "" {
		return cfg, input.Missing("service")
	}
	if !namePattern.MatchString(cfg.Service) {
		return cfg, input.Invalid("service", cfg.Service,
			"must start with a letter or digit and hold at most 63 letters, digits, '.', '_' or '-'")
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(".ramp", "local", cfg.Service)
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return cfg, input.Invalid("state-dir", cfg.StateDir, "cannot be made absolute: %v", err)
	}
	cfg.StateDir = dir
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return cfg, input.Invalid("listen", cfg.Listen, "must be host:port, such as %s", DefaultListen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return cfg, input.Invalid("listen", cfg.Listen, "port must be a number from 0 to 65535")
	}
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultHealthPath
	}
	if cfg.HealthPath[0] != '/' {
		return cfg, input.Invalid("health-path", cfg.HealthPath, "must start with /")
	}
	switch {
	case cfg.ReadyTimeout < 0:
		return cfg, input.Invalid("ready-timeout", cfg.ReadyTimeout.String(), "must not be negative")
	case cfg.ReadyTimeout == 0:
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	return cfg, nil
}

// AgentArgs returns the arguments, AgentCommand first, that run the agent
// for cfg, which should already carry its defaults (New applies them).
func AgentArgs(cfg providers.Config) []string {
	return []string{
		AgentCommand,
		"--service=" + cfg.Service,
		"--state-dir=" + cfg.StateDir,
		"--listen=" + cfg.Listen,
		"--health-path=" + cfg.HealthPath,
		"--ready-timeout=" + cfg.ReadyTimeout.String(),
	}
}

// ParseAgentArgs parses the arguments that follow AgentCommand into the
// configuration to pass to RunAgent.
func ParseAgentArgs(args []string) (providers.Config, error) {
	var cfg providers.Config
	fs := flag.NewFlagSet(AgentCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Service, "service", "", "service name")
	fs.StringVar(&cfg.StateDir, "state-dir", "", "state directory")
	fs.StringVar(&cfg.Listen, "listen", DefaultListen, "proxy listen address")
	fs.StringVar(&cfg.HealthPath, "health-path", DefaultHealthPath, "readiness path")
	fs.DurationVar(&cfg.ReadyTimeout, "ready-timeout", DefaultReadyTimeout, "readiness timeout")
	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("parse %s arguments: %w", AgentCommand, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("parse %s arguments: unexpected argument %q", AgentCommand, fs.Arg(0))
	}
	return normalize(cfg)
}
