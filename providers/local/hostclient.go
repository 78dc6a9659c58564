package local

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ramp-deploy/ramp/providers"
)

// hostJoin asks the host to run a service's agent: the arguments a
// spawned agent would take (AgentArgs without the command).
type hostJoin struct {
	Args []string `json:"args"`
}

// hostPing identifies the host and the services it runs.
type hostPing struct {
	PID      int      `json:"pid"`
	Services []string `json:"services"`
	// Supervisor is the pid of the host's supervisor, which host.json
	// names; zero for a host run without one.
	Supervisor int `json:"supervisor,omitempty"`
}

// hostDir is the directory of the shared agent a service joins: the one
// holding its state directory.
func hostDir(cfg providers.Config) string { return filepath.Dir(cfg.StateDir) }

// joinHost has the shared agent of the service's host directory run its
// agent, starting the shared agent when none runs, and returns the
// service's agent. A host that stopped meanwhile (its last service left)
// is started again; a join that got no answer (the host died during the
// call, and its supervisor starts another) is sent again, to the host
// found then: a join of a service that runs already returns its agent.
func (p *Provider) joinHost(ctx context.Context) (agentInfo, error) {
	dir := hostDir(p.cfg)
	var last error
	for range 3 {
		h, err := p.findHost(ctx, dir)
		if errors.Is(err, errNoAgent) {
			h, err = p.spawn(ctx, dir, hostLogName, []string{HostCommand, "--state-dir=" + dir},
				func(ctx context.Context) (agentInfo, error) { return p.findHost(ctx, dir) })
		}
		if err != nil {
			return agentInfo{}, fmt.Errorf("shared agent of %s: %w", dir, err)
		}
		var info agentInfo
		err = do(ctx, p.hc, h, http.MethodPost, "/v1/services", hostJoin{Args: AgentArgs(p.cfg)[1:]}, &info)
		if err == nil {
			return info, nil
		}
		if ctx.Err() != nil {
			return agentInfo{}, fmt.Errorf("run %s in the shared agent of %s: %w", p.cfg.Service, dir, err)
		}
		if _, noAnswer := errors.AsType[*url.Error](err); !noAnswer {
			if _, perr := pingHost(ctx, p.hc, h); perr == nil {
				return agentInfo{}, fmt.Errorf("run %s in the shared agent of %s: %w", p.cfg.Service, dir, err)
			}
		}
		last = err // the host stopped or died: find or start it again
	}
	return agentInfo{}, fmt.Errorf("run %s in the shared agent of %s: %w", p.cfg.Service, dir, last)
}

// findHost reads dir/host.json and pings the host it names; errNoAgent
// when there is none or nothing answers there.
func (p *Provider) findHost(ctx context.Context, dir string) (agentInfo, error) {
	info, err := readInfo(dir, hostFileName)
	if errors.Is(err, os.ErrNotExist) {
		return info, errNoAgent
	}
	if err != nil {
		return info, err
	}
	if _, err := pingHost(ctx, p.hc, info); err != nil {
		if isDialError(err) {
			return info, errNoAgent
		}
		return info, fmt.Errorf("reach the shared agent at %s (pid %d): %w", info.Control, info.PID, err)
	}
	return info, nil
}

// pingHost asks the host at info who it is.
func pingHost(ctx context.Context, hc *http.Client, info agentInfo) (hostPing, error) {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var r hostPing
	err := do(ctx, hc, info, http.MethodGet, "/v1/ping", nil, &r)
	return r, err
}

// readInfo reads dir/name (host.json), as readAgentInfo reads agent.json;
// a missing file is an error matching os.ErrNotExist.
func readInfo(dir, name string) (agentInfo, error) {
	var info agentInfo
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return info, fmt.Errorf("read %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &info); err != nil || info.Control == "" {
		return agentInfo{}, fmt.Errorf("parse %s: it names no control address (%v); remove it: rm %q", path, err, path)
	}
	return info, nil
}

// authorized serves next to the calls that carry token only.
func authorized(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+token)) != 1 {
			writeError(w, fmt.Errorf("call the shared local agent: missing or wrong token: %w", providers.ErrPermission))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseSecondHost fails with providers.ErrConflict if the host named by
// dir/host.json answers.
func refuseSecondHost(ctx context.Context, dir string) error {
	if info, err := readInfo(dir, hostFileName); err == nil {
		if _, err := pingHost(ctx, http.DefaultClient, info); err == nil {
			return fmt.Errorf("shared agent: one (pid %d) already runs for %s: %w", info.PID, dir, providers.ErrConflict)
		}
	}
	return nil
}
