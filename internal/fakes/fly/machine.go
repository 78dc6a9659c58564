package fly

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The states of a machine.
const (
	stateCreated   = "created"
	stateStarting  = "starting"
	stateStarted   = "started"
	stateStopped   = "stopped"
	stateDestroyed = "destroyed"
)

// machine is one machine as the fake keeps it.
type machine struct {
	id, name, region string
	instanceID       string
	config           map[string]any // as sent, with metadata written since
	state            string         // stateStarting until startAt, then started
	startAt          time.Time
	startedAt        time.Time
	cordoned         bool
	sick             bool // its checks fail (SetSick), whatever its image
	lease            *lease
	createdAt        time.Time
	updatedAt        time.Time
}

// add creates a machine in the app (not started).
func (a *app) add(region, name string, config map[string]any, now time.Time) *machine {
	id := newID()
	if name == "" {
		name = "machine-" + id[:6]
	}
	m := &machine{id: id, name: name, region: region, instanceID: newID(), config: config, state: stateCreated,
		createdAt: now, updatedAt: now}
	a.machines[id] = m
	a.order = append(a.order, id)
	return m
}

// settle moves a starting machine to started once its start time passed.
func (m *machine) settle(now time.Time) {
	if m.state == stateStarting && !now.Before(m.startAt) {
		m.state, m.startedAt = stateStarted, m.startAt
	}
}

// start makes the machine start, taking delay.
func (m *machine) start(now time.Time, delay time.Duration) {
	m.state, m.startAt, m.updatedAt = stateStarting, now.Add(delay), now
	m.settle(now)
}

// image is the machine's config.image.
func (m *machine) image() string {
	s, _ := m.config["image"].(string)
	return s
}

// metadata is the machine's config.metadata, created if missing.
func (m *machine) metadata() map[string]any {
	md, ok := m.config["metadata"].(map[string]any)
	if !ok {
		md = map[string]any{}
		m.config["metadata"] = md
	}
	return md
}

// hasServices reports whether the machine's config has services, which
// the proxy routes to.
func (m *machine) hasServices() bool {
	s, _ := m.config["services"].([]any)
	return len(s) > 0
}

// checkNames are the names of the machine's checks: config.checks' keys
// and one per check of its services.
func (m *machine) checkNames() []string {
	var names []string
	if c, ok := m.config["checks"].(map[string]any); ok {
		names = slices.Sorted(maps.Keys(c))
	}
	services, _ := m.config["services"].([]any)
	for i, s := range services {
		svc, _ := s.(map[string]any)
		port, _ := svc["internal_port"].(float64)
		for _, kind := range []string{"checks", "http_checks", "tcp_checks"} {
			cs, _ := svc[kind].([]any)
			for range cs {
				names = append(names, fmt.Sprintf("servicecheck-%02d-%s-%d", i, strings.TrimSuffix(kind, "_checks"), int(port)))
			}
		}
	}
	return names
}

// passing reports whether every check passes at now.
func (m *machine) passing(now time.Time, delay time.Duration) bool {
	for _, c := range m.checks(now, delay) {
		if c["status"] != "passing" {
			return false
		}
	}
	return true
}

// checks are the machine's check results at now.
func (m *machine) checks(now time.Time, delay time.Duration) []map[string]any {
	var out []map[string]any
	for _, name := range m.checkNames() {
		status, output := "passing", "OK"
		switch {
		case m.state != stateStarted:
			status, output = "critical", "machine is "+m.state
		case strings.Contains(m.image(), "unhealthy") || m.sick:
			status, output = "critical", "connect: connection refused"
		case now.Before(m.startedAt.Add(delay)):
			status, output = "warning", "waiting for status update"
		}
		out = append(out, map[string]any{"name": name, "status": status, "output": output, "updated_at": now.UTC().Format(time.RFC3339)})
	}
	return out
}

// routable reports whether the fly-proxy sends the machine requests.
func (m *machine) routable(now time.Time, delay time.Duration) bool {
	return m.state == stateStarted && !m.cordoned && m.hasServices() && m.passing(now, delay)
}

// view is the machine as the API shows it.
func (w *World) view(m *machine, now time.Time) map[string]any {
	m.settle(now)
	cfg, _ := json.Marshal(m.config)
	var config map[string]any
	_ = json.Unmarshal(cfg, &config) // a copy: the answer must not alias the state
	repo, tag, _ := strings.Cut(m.image(), ":")
	return map[string]any{
		"id": m.id, "name": m.name, "state": m.state, "region": m.region, "instance_id": m.instanceID,
		"private_ip": "fdaa:0:1::" + m.id[:4], "config": config, "cordoned": m.cordoned, "host_status": "ok",
		"image_ref":  map[string]any{"registry": "registry.fly.io", "repository": repo, "tag": tag},
		"checks":     w.checksOf(m, now),
		"created_at": m.createdAt.UTC().Format(time.RFC3339), "updated_at": m.updatedAt.UTC().Format(time.RFC3339),
	}
}

func (w *World) checksOf(m *machine, now time.Time) []map[string]any {
	c := m.checks(now, w.checkDelay)
	if c == nil {
		return []map[string]any{}
	}
	return c
}

func (w *World) listMachines(q *request) {
	now := time.Now()
	all := q.r.URL.Query().Get("include_deleted") == "true"
	region, state := q.r.URL.Query().Get("region"), q.r.URL.Query().Get("state")
	out := []map[string]any{}
	for _, id := range q.app.order {
		m := q.app.machines[id]
		m.settle(now)
		if (m.state == stateDestroyed && !all) || (region != "" && m.region != region) || (state != "" && m.state != state) {
			continue
		}
		out = append(out, w.view(m, now))
	}
	writeJSON(q.rw, http.StatusOK, out)
}

func (w *World) getMachine(q *request) { writeJSON(q.rw, http.StatusOK, w.view(q.m, time.Now())) }

// launchInput is the body of a create or an update.
type launchInput struct {
	Config                  map[string]any `json:"config"`
	Region                  string         `json:"region"`
	Name                    string         `json:"name"`
	SkipLaunch              bool           `json:"skip_launch"`
	SkipServiceRegistration bool           `json:"skip_service_registration"`
}

// decodeLaunch reads a create or update body, answering 400 when it is bad.
func decodeLaunch(q *request) (launchInput, bool) {
	var in launchInput
	if err := json.NewDecoder(q.r.Body).Decode(&in); err != nil {
		writeError(q.rw, http.StatusBadRequest, "invalid_body", "invalid JSON body: "+err.Error())
		return in, false
	}
	if img, _ := in.Config["image"].(string); img == "" {
		writeError(q.rw, http.StatusBadRequest, "invalid_config", "config.image is required")
		return in, false
	}
	return in, true
}

func (w *World) createMachine(q *request) {
	in, ok := decodeLaunch(q)
	if !ok {
		return
	}
	if in.Region == "" {
		in.Region = "ord"
	}
	now := time.Now()
	m := q.app.add(in.Region, in.Name, in.Config, now)
	m.cordoned = in.SkipServiceRegistration
	if !in.SkipLaunch {
		m.start(now, w.startDelay)
	}
	writeJSON(q.rw, http.StatusOK, w.view(m, now))
}

func (w *World) updateMachine(q *request) {
	if !w.leaseOK(q) {
		return
	}
	in, ok := decodeLaunch(q)
	if !ok {
		return
	}
	now := time.Now()
	q.m.settle(now)
	if q.m.state == stateDestroyed {
		writeError(q.rw, http.StatusNotFound, "not_found", "machine "+q.m.id+" is destroyed")
		return
	}
	q.m.config, q.m.instanceID, q.m.updatedAt = in.Config, newID(), now
	if !in.SkipLaunch && q.m.state != stateStopped && q.m.state != stateCreated {
		q.m.start(now, w.startDelay)
	}
	writeJSON(q.rw, http.StatusOK, w.view(q.m, now))
}

func (w *World) startMachine(q *request) {
	if !w.leaseOK(q) || !alive(q) {
		return
	}
	now := time.Now()
	if q.m.state == stateStopped || q.m.state == stateCreated {
		q.m.start(now, w.startDelay)
	}
	writeJSON(q.rw, http.StatusOK, map[string]any{"previous_state": q.m.state, "migrated": false, "new_host": ""})
}

func (w *World) stopMachine(q *request) {
	if !w.leaseOK(q) || !alive(q) {
		return
	}
	q.m.state, q.m.updatedAt = stateStopped, time.Now()
	writeJSON(q.rw, http.StatusOK, map[string]any{"ok": true})
}

func (w *World) destroyMachine(q *request) {
	if !w.leaseOK(q) || !alive(q) {
		return
	}
	q.m.settle(time.Now())
	if q.m.state == stateStarted && q.r.URL.Query().Get("kill") != "true" {
		writeError(q.rw, http.StatusPreconditionFailed, "failed_precondition", "machine "+q.m.id+" is started; stop it first or pass kill=true")
		return
	}
	q.m.state, q.m.updatedAt, q.m.lease = stateDestroyed, time.Now(), nil
	writeJSON(q.rw, http.StatusOK, map[string]any{"ok": true})
}

// cordon sets the machine's cordon state.
func (w *World) cordon(on bool) func(*request) {
	return func(q *request) {
		if !w.leaseOK(q) || !alive(q) {
			return
		}
		q.m.cordoned = on
		writeJSON(q.rw, http.StatusOK, map[string]any{"ok": true})
	}
}

// alive answers 404 for a destroyed machine.
func alive(q *request) bool {
	if q.m.state == stateDestroyed {
		writeError(q.rw, http.StatusNotFound, "not_found", "machine "+q.m.id+" is destroyed")
		return false
	}
	return true
}

func (w *World) getMetadata(q *request) { writeJSON(q.rw, http.StatusOK, q.m.metadata()) }

func (w *World) setMetadata(q *request) {
	if !w.leaseOK(q) || !alive(q) {
		return
	}
	var in struct {
		Value *string `json:"value"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&in); err != nil || in.Value == nil {
		writeError(q.rw, http.StatusBadRequest, "invalid_body", `want {"value": "..."}`)
		return
	}
	q.m.metadata()[q.r.PathValue("key")] = *in.Value
	q.rw.WriteHeader(http.StatusNoContent)
}

func (w *World) deleteMetadata(q *request) {
	if !w.leaseOK(q) || !alive(q) {
		return
	}
	delete(q.m.metadata(), q.r.PathValue("key"))
	q.rw.WriteHeader(http.StatusNoContent)
}
