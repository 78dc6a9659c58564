package local

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/ramp-deploy/ramp/providers"
)

// A shared agent's upgrade (ramp local-upgrade on any of its services)
// moves every service it runs to a host started from a new executable, as
// a service's own agent hands over (handover.go): the host freezes the
// state of each of its agents, which refuses a deploy in progress in any
// of them, and asks its supervisor to start a host from the executable
// beside it, on the same listeners. That host re-adopts every service's
// revisions and split from state.json and serves; then this one stops
// accepting, finishes the requests in flight and exits, leaving the
// revisions running and the state files to the new host. Connections go
// to either host meanwhile, so none waits. If the new host exits or does
// not serve within upgradeTimeout, the supervisor kills it and this one
// goes on. Joins and the control calls that change state are refused
// meanwhile with the kind the client retries.

// upgrade upgrades the host to exe (see above), answering the upgrade call
// of one of its agents.
func (h *host) upgrade(ctx context.Context, exe string) (UpgradeResult, error) {
	h.joins.Lock() // no agent is starting
	h.mu.Lock()
	var err error
	switch {
	case h.sup == nil:
		err = fmt.Errorf("upgrade: this shared agent runs without a supervisor, so it cannot hand its sockets over: %w", providers.ErrInvalid)
	case h.closing:
		err = fmt.Errorf("upgrade: the shared agent of %s: %w", h.dir, errClosing)
	case h.upgrading:
		err = fmt.Errorf("upgrade: another upgrade of the shared agent of %s is in progress: %w", h.dir, providers.ErrConflict)
	}
	services := slices.Sorted(maps.Keys(h.agents))
	agents := make([]*Agent, len(services))
	for i, name := range services {
		agents[i] = h.agents[name]
	}
	h.upgrading = err == nil
	h.mu.Unlock()
	h.joins.Unlock()
	if err != nil {
		return UpgradeResult{}, err
	}
	var frozen []*Agent
	for _, a := range agents {
		if err = a.freeze(); err != nil {
			err = fmt.Errorf("upgrade the shared agent: service %s: %w", a.cfg.Service, err)
			break
		}
		frozen = append(frozen, a)
	}
	var outcome <-chan linkMsg
	if err == nil {
		h.log.Printf("upgrade: %d service(s) frozen; asking the supervisor to start %s", len(agents), exe)
		outcome, err = h.sup.upgrade(exe)
	}
	if err != nil {
		h.resume(frozen)
		return UpgradeResult{}, err
	}
	done := make(chan linkMsg, 1)
	go func() { // whether or not the caller still waits
		m := <-outcome
		if m.Op == opHandover {
			h.mu.Lock()
			h.handedTo = m.PID
			h.mu.Unlock()
			h.handed <- m.PID
		} else {
			h.log.Printf("upgrade to %s failed; going on: %s", exe, m.Error)
			h.resume(frozen)
		}
		done <- m
	}()
	select {
	case m := <-done:
		if m.Op != opHandover {
			return UpgradeResult{}, fmt.Errorf("upgrade of the shared agent to %s failed, the shared agent (pid %d) goes on: %s: %w",
				exe, os.Getpid(), m.Error, providers.ErrNotReady)
		}
		return UpgradeResult{From: os.Getpid(), To: m.PID, Executable: exe, Services: services}, nil
	case <-ctx.Done():
		return UpgradeResult{}, fmt.Errorf("upgrade: %w", ctx.Err())
	}
}

// resume lets the agents an upgrade froze go on.
func (h *host) resume(frozen []*Agent) {
	for _, a := range frozen {
		a.thaw()
	}
	h.mu.Lock()
	h.upgrading = false
	h.mu.Unlock()
}

// handOver ends a host another one took over from after an upgrade: every
// agent hands over (Agent.handOver), and the control API stops accepting
// and answers the calls it accepted; the supervisor's copies of the
// listeners keep them open for the new host. host.json, which names the
// same control address, stays.
func (h *host) handOver(to int) error {
	h.mu.Lock()
	h.closing = true
	agents := slices.Collect(maps.Values(h.agents))
	h.mu.Unlock()
	h.log.Printf("shared agent pid %d took over; draining %d service(s)", to, len(agents))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), closeTimeout)
	defer cancel()
	errs := make([]error, len(agents)+1)
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() { errs[i] = a.handOver(ctx, to) })
	}
	wg.Go(func() {
		if err := h.conns.drain(ctx, h.srv, h.ln); err != nil {
			h.srv.Close()
			errs[len(agents)] = fmt.Errorf("hand over the shared agent's control API: %w", err)
		}
	})
	wg.Wait()
	h.log.Printf("shared agent pid %d handed over to pid %d", os.Getpid(), to)
	return errors.Join(errs...)
}

// stop stops taking calls, closes every agent and removes host.json if it
// still names this host.
func (h *host) stop(info agentInfo) error {
	if h.sup != nil {
		h.sup.exit()
	}
	h.mu.Lock()
	h.closing = true
	agents := slices.Collect(maps.Values(h.agents))
	h.mu.Unlock()
	h.srv.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), closeTimeout)
	defer cancel()
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() { errs[i] = a.Close(ctx) })
	}
	wg.Wait()
	if cur, err := readInfo(h.dir, hostFileName); err == nil && cur.Control == info.Control {
		errs = append(errs, os.Remove(filepath.Join(h.dir, hostFileName)))
	}
	h.log.Printf("shared agent for %s stopped", h.dir)
	return errors.Join(errs...)
}
