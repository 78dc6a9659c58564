package fly

import (
	"fmt"
	"time"
)

// Machine is a machine as a test sees it.
type Machine struct {
	ID, Region, Image, State string
	Cordoned, Routable       bool
	Metadata                 map[string]string
	// Lease is the nonce of the live lease, if any.
	Lease string
}

// Machines lists the app's machines that are not destroyed, in creation
// order.
func (w *World) Machines(appName string) []Machine {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.apps[appName]
	if a == nil {
		return nil
	}
	now := time.Now()
	var out []Machine
	for _, id := range a.order {
		m := a.machines[id]
		m.settle(now)
		if m.state == stateDestroyed {
			continue
		}
		md := map[string]string{}
		for k, v := range m.metadata() {
			md[k] = fmt.Sprint(v)
		}
		v := Machine{ID: m.id, Region: m.region, Image: m.image(), State: m.state, Cordoned: m.cordoned,
			Routable: m.routable(now, w.checkDelay), Metadata: md}
		if m.lease.live(now) {
			v.Lease = m.lease.nonce
		}
		out = append(out, v)
	}
	return out
}

// Routable counts the app's routable machines by image: what the fly-proxy
// balances requests over.
func (w *World) Routable(appName string) map[string]int {
	out := map[string]int{}
	for _, m := range w.Machines(appName) {
		if m.Routable {
			out[m.Image]++
		}
	}
	return out
}

// HoldLease gives the machine a lease held by owner for ttl, as another
// flyctl or ramp would, and returns its nonce.
func (w *World) HoldLease(appName, id, owner string, ttl time.Duration) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.apps[appName]
	if a == nil || a.machines[id] == nil {
		return "", fmt.Errorf("no machine %s in app %q", id, appName)
	}
	l := &lease{nonce: newID(), owner: owner, expires: time.Now().Add(ttl), version: 1}
	a.machines[id].lease = l
	return l.nonce, nil
}

// SetCordoned cordons or uncordons a machine, as someone else would.
func (w *World) SetCordoned(appName, id string, on bool) {
	w.locked(func() {
		if a := w.apps[appName]; a != nil && a.machines[id] != nil {
			a.machines[id].cordoned = on
		}
	})
}

// SetSick makes a machine's checks fail (critical) from now on, or pass
// again, as an app that stops answering its health check would.
func (w *World) SetSick(appName, id string, sick bool) {
	w.locked(func() {
		if a := w.apps[appName]; a != nil && a.machines[id] != nil {
			a.machines[id].sick = sick
		}
	})
}

// Config is a MachineConfig with image, one HTTP service on internal port
// 8080 with a health check, and the process group, for seeding.
func Config(image, group string) map[string]any {
	return map[string]any{
		"image": image,
		"guest": map[string]any{"cpu_kind": "shared", "cpus": float64(1), "memory_mb": float64(256)},
		"services": []any{map[string]any{
			"protocol": "tcp", "internal_port": float64(8080),
			"ports":  []any{map[string]any{"port": float64(443), "handlers": []any{"tls", "http"}}},
			"checks": []any{map[string]any{"type": "http", "interval": "10s", "timeout": "2s", "path": "/healthz"}},
		}},
		"metadata": map[string]any{"fly_process_group": group, "fly_release_version": "1"},
	}
}
