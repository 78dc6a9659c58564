package local

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
	// MaxReplicas bounds the processes of one version.
	MaxReplicas = 64
)

// AgentCommand is the hidden subcommand the provider runs its agent as:
// `<executable> local-agent --service=S --state-dir=D --listen=A
// --health-path=P --ready-timeout=T [--metrics-listen=M]`, parsed by
// ParseAgentArgs.
const AgentCommand = "local-agent"

// namePattern is what service and revision names must match, since they
// name files in the state directory.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// normalize checks cfg and fills in the defaults; every bad value is an
// *input.Error naming it, all of them joined. It only reads the file
// system, to tell that the state directory can be one.
func normalize(cfg providers.Config) (providers.Config, error) {
	var errs []error
	switch {
	case cfg.Service == "":
		errs = append(errs, input.Missing("service"))
	case !namePattern.MatchString(cfg.Service):
		errs = append(errs, input.Invalid("service", cfg.Service,
			"must start with a letter or digit and hold at most 63 letters, digits, '.', '_' or '-'"))
	case cfg.StateDir == "":
		cfg.StateDir = filepath.Join(".ramp", "local", cfg.Service)
	}
	if cfg.StateDir != "" {
		dir, err := filepath.Abs(cfg.StateDir)
		if err != nil {
			errs = append(errs, input.Invalid("state-dir", cfg.StateDir, "cannot be made absolute: %v", err))
		} else {
			errs = append(errs, stateDirInput(cfg.StateDir, dir))
			cfg.StateDir = dir
		}
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultHealthPath
	}
	errs = append(errs, checkListen("listen", cfg.Listen))
	if cfg.MetricsListen != "" {
		errs = append(errs, checkListen("metrics-listen", cfg.MetricsListen))
		if _, port, _ := net.SplitHostPort(cfg.Listen); cfg.MetricsListen == cfg.Listen && port != "0" {
			errs = append(errs, input.Invalid("metrics-listen", cfg.MetricsListen, "is the proxy's address (listen); give the metrics another port"))
		}
	}
	if cfg.HealthPath[0] != '/' {
		errs = append(errs, input.Invalid("health-path", cfg.HealthPath, "must start with /"))
	}
	switch {
	case cfg.Replicas < 0 || cfg.Replicas > MaxReplicas:
		errs = append(errs, input.Invalid("replicas", strconv.Itoa(cfg.Replicas), "must be within 1..%d", MaxReplicas))
	case cfg.Replicas == 0:
		cfg.Replicas = 1
	}
	switch {
	case cfg.ReadyTimeout < 0:
		errs = append(errs, input.Invalid("ready-timeout", cfg.ReadyTimeout.String(), "must not be negative"))
	case cfg.ReadyTimeout == 0:
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	return cfg, errors.Join(errs...)
}

// checkListen checks that the address given as input name is host:port
// with a numeric port.
func checkListen(name, listen string) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return input.Invalid(name, listen, "must be host:port, such as %s", DefaultListen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return input.Invalid(name, listen, "port must be a number from 0 to 65535")
	}
	return nil
}

// stateDirInput checks that the state directory abs (given as raw) is a
// directory or can be created as one: the nearest part of it that exists
// must be a directory. A file in the way would otherwise only show once the
// agent tried to start. It creates nothing.
func stateDirInput(raw, abs string) error {
	for d := abs; ; {
		fi, err := os.Stat(d)
		switch {
		case err == nil && fi.IsDir():
			return nil
		case err == nil && d == abs:
			return input.Invalid("state-dir", raw, "names a file, not a directory")
		case err == nil:
			return input.Invalid("state-dir", raw, "cannot be created: %s is a file, not a directory", d)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil
		}
		d = parent
	}
}

// CheckArtifact checks, without starting anything, that the agent can start
// the artifact: its image must split into words (see splitCommand; no
// shell is involved). A problem is an *input.Error naming the input. An
// empty image is left to the caller, which knows whether it is required.
//
// The service settings a local process has no use for (secrets, labels,
// resources, scaling, networking, a Service YAML) are refused, each naming
// its input; env-mode is honoured (every version starts from a clean
// environment plus env), timeout bounds how long the proxy waits for a
// version to start answering, and default labels are ignored.
func CheckArtifact(a providers.Artifact) error {
	var errs []error
	if strings.TrimSpace(a.Image) != "" {
		if _, err := splitCommand(a.Image); err != nil {
			errs = append(errs, input.Invalid("image", a.Image, "%v (image is split into words without a shell)", err))
		}
	}
	named := map[string]bool{}
	for _, name := range a.Settings.Set() {
		in := a.Settings.InputOf(name)
		if name == "timeout" && in == name { // honoured: the proxy's response timeout
			continue
		}
		if named[in] {
			continue
		}
		named[in] = true
		errs = append(errs, input.Invalid(in, "", "the local provider cannot honour %s (it runs a process on this machine): "+
			"remove it, or deploy with provider cloudrun", in))
	}
	return errors.Join(errs...)
}

// AgentArgs returns the arguments, AgentCommand first, that run the agent
// for cfg, which should already carry its defaults (New applies them).
func AgentArgs(cfg providers.Config) []string {
	args := []string{
		AgentCommand,
		"--service=" + cfg.Service,
		"--state-dir=" + cfg.StateDir,
		"--listen=" + cfg.Listen,
		"--health-path=" + cfg.HealthPath,
		"--ready-timeout=" + cfg.ReadyTimeout.String(),
	}
	if cfg.MetricsListen != "" { // left out when off, so an older ramp can still run the agent
		args = append(args, "--metrics-listen="+cfg.MetricsListen)
	}
	return args
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
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "metrics listen address")
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
