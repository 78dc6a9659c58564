package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	// pingTimeout bounds one ping of the agent.
	pingTimeout = 2 * time.Second
	// agentStartTimeout bounds the wait for a spawned agent's agent.json.
	agentStartTimeout = 20 * time.Second
	// agentStopTimeout bounds the wait for an agent asked to shut down.
	agentStopTimeout = 2 * time.Minute
)

// upgradeRetry bounds the retries of a call refused during an upgrade.
const upgradeRetry = time.Minute

var (
	// errNoAgent means no agent runs for the service and none was started.
	errNoAgent = errors.New("no local agent is running")
	// errUpgrading means the agent refused a call because it is handing
	// over to a new one; the call is retried.
	errUpgrading = errors.New("the local agent is handing over to a new one")
)

// newControlClient returns the HTTP client for the control API; calls are
// bounded by their context only, since a deploy waits for readiness.
func newControlClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     30 * time.Second,
	}}
}

// do makes one control call to the agent at info; in and out may be nil.
// A call the agent refuses because it is handing over to a new one (see
// ramp local-upgrade) is retried for up to upgradeRetry.
func do(ctx context.Context, hc *http.Client, info agentInfo, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	deadline := time.Now().Add(upgradeRetry)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := doOnce(ctx, hc, info, method, path, body, out)
		if !errors.Is(err, errUpgrading) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", err, ctx.Err())
		case <-t.C:
		}
	}
}

// doOnce makes one attempt of a control call; body and out may be nil.
func doOnce(ctx context.Context, hc *http.Client, info agentInfo, method, path string, in []byte, out any) error {
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+info.Control+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxControlBody))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if isUpgrading(resp.StatusCode, b) {
		return errUpgrading
	}
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// isDialError reports whether err means nothing accepted the connection,
// so the request never reached an agent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// ping asks the agent at info who it is; an empty service skips the check
// that it serves that service.
func ping(ctx context.Context, hc *http.Client, info agentInfo, service string) (pingReply, error) {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var r pingReply
	if err := do(ctx, hc, info, http.MethodGet, "/v1/ping", nil, &r); err != nil {
		return r, err
	}
	if service != "" && r.Service != service {
		return r, fmt.Errorf("the agent at %s serves %q, not %q: %w", info.Control, r.Service, service, providers.ErrConflict)
	}
	return r, nil
}

// findAgent reads agent.json and pings the agent it names. It returns
// errNoAgent when there is no agent.json or nothing listens at its address
// (a stale file), and another error when something answers wrongly.
func (p *Provider) findAgent(ctx context.Context) (agentInfo, error) {
	info, err := readAgentInfo(p.cfg.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return info, errNoAgent
	}
	if err != nil {
		return info, err
	}
	if _, err := ping(ctx, p.hc, info, p.cfg.Service); err != nil {
		if isDialError(err) {
			return info, errNoAgent
		}
		return info, fmt.Errorf("reach the local agent at %s (pid %d, from %s): %w",
			info.Control, info.PID, filepath.Join(p.cfg.StateDir, agentFileName), err)
	}
	return info, nil
}

// agent returns the agent to call, finding it through agent.json and, if
// start is set and none runs, starting one.
func (p *Provider) agent(ctx context.Context, start bool) (agentInfo, error) {
	if p.fixed != nil {
		return *p.fixed, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		return *p.cur, nil
	}
	info, err := p.findAgent(ctx)
	switch {
	case errors.Is(err, errNoAgent) && start && p.cfg.SharedAgent:
		info, err = p.joinHost(ctx)
	case errors.Is(err, errNoAgent) && start:
		info, err = p.spawnAgent(ctx)
	}
	if err != nil {
		return agentInfo{}, err
	}
	if err := p.checkListen(info); err != nil {
		return agentInfo{}, err
	}
	p.cur = &info
	return info, nil
}

// checkListen makes sure an agent found for the service proxies on the
// configured address (unless that asks for any port) and, if metrics-listen
// is set, serves its metrics there.
func (p *Provider) checkListen(info agentInfo) error {
	_, want, _ := net.SplitHostPort(p.cfg.Listen)
	if _, got, err := net.SplitHostPort(strings.TrimPrefix(info.Proxy, "http://")); err == nil && want != "0" && got != want {
		return input.Invalid("listen", p.cfg.Listen, "the running local agent of %s serves on %s; stop it first (ramp down) to move it",
			p.cfg.Service, info.Proxy)
	}
	if p.cfg.MetricsListen == "" {
		return nil
	}
	if info.Metrics == "" {
		return input.Invalid("metrics-listen", p.cfg.MetricsListen,
			"the running local agent of %s serves no metrics; stop it first (ramp down) to turn them on", p.cfg.Service)
	}
	_, want, _ = net.SplitHostPort(p.cfg.MetricsListen)
	u, err := url.Parse(info.Metrics)
	if err == nil && want != "0" && u.Port() != want {
		return input.Invalid("metrics-listen", p.cfg.MetricsListen,
			"the running local agent of %s serves its metrics on %s; stop it first (ramp down) to move them", p.cfg.Service, info.Metrics)
	}
	return nil
}

// forget drops the cached agent after it stopped answering.
func (p *Provider) forget() {
	p.mu.Lock()
	p.cur = nil
	p.mu.Unlock()
}

// spawnAgent starts a detached agent for the service, with a clean
// environment (agentEnv), and waits until it has written agent.json and
// answers.
func (p *Provider) spawnAgent(ctx context.Context) (agentInfo, error) {
	return p.spawn(ctx, p.cfg.StateDir, agentLogName, AgentArgs(p.cfg), p.findAgent)
}

// spawn starts `<executable> args...` detached, with a clean environment
// (agentEnv) and its output appended to dir/logName, and waits until find
// names it (or, should it have lost a race, another one).
func (p *Provider) spawn(ctx context.Context, dir, logName string, args []string, find func(context.Context) (agentInfo, error)) (agentInfo, error) {
	exe := p.cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return agentInfo{}, fmt.Errorf("start local agent: find this program: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return agentInfo{}, fmt.Errorf("start local agent: create state directory: %w", err)
	}
	logPath := filepath.Join(dir, logName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return agentInfo{}, fmt.Errorf("start local agent: open its log: %w", err)
	}
	var logStart int64
	if fi, err := logf.Stat(); err == nil {
		logStart = fi.Size()
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = agentEnv() // never ramp's own: see env.go
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detachedAttr()
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return agentInfo{}, fmt.Errorf("start local agent %s: %w", exe, err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	info, err := awaitAgent(ctx, cmd.Process.Pid, exited, find)
	if err == nil || errors.Is(err, errNoAgent) {
		if err != nil {
			err = fmt.Errorf("start local agent: it exited (%v) without serving%s", exitErr, logTail(logPath, logStart))
		}
		return info, err
	}
	cmd.Process.Kill()
	return info, fmt.Errorf("start local agent: %w%s", err, logTail(logPath, logStart))
}

// awaitAgent polls find until the agent with pid (or, should it have lost
// a race, another one) answers. It returns errNoAgent if the spawned
// process exited with no agent answering.
func awaitAgent(ctx context.Context, pid int, exited <-chan struct{}, find func(context.Context) (agentInfo, error)) (agentInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, agentStartTimeout)
	defer cancel()
	delay := 10 * time.Millisecond
	for {
		info, err := find(ctx)
		if err == nil && info.PID == pid {
			return info, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-exited:
			t.Stop()
			return find(ctx)
		case <-ctx.Done():
			t.Stop()
			return agentInfo{}, fmt.Errorf("wait for agent (pid %d): %w", pid, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// call makes a control call, finding (and with start, starting) the agent
// first. A call that could not connect to a cached agent is retried once
// after finding the agent again, since it never reached the old one.
func (p *Provider) call(ctx context.Context, start bool, method, path string, in, out any) error {
	info, err := p.agent(ctx, start)
	if err != nil {
		return err
	}
	err = do(ctx, p.hc, info, method, path, in, out)
	if err == nil || !isDialError(err) || p.fixed != nil {
		return err
	}
	p.forget()
	if info, err = p.agent(ctx, start); err != nil {
		return err
	}
	return do(ctx, p.hc, info, method, path, in, out)
}
