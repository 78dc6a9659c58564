// Package fly is a stateful fake of the Fly.io Machines REST API
// (https://api.machines.dev/v1) for tests and black-box runs of ramp: apps
// and their machines with the lifecycle created → started → stopped →
// destroyed, full configs (image, services, checks, metadata) kept as
// sent, cordon and uncordon, health checks that pass a while after a
// machine starts, leases (409 while another nonce holds one, the
// fly-machine-lease-nonce header on every write to a leased machine) and
// the wait endpoint (408 when its timeout passes first).
//
// The fly-proxy is modelled by cordon state alone: a machine is routable
// when it is started, not cordoned, registered with the proxy (created
// without skip_service_registration, or uncordoned since), has services,
// and all its checks pass. A machine whose image contains "unhealthy"
// never passes its checks. AppHandler serves an app as the fly-proxy
// would, honouring the fly-force-instance-id request header.
//
// Time is read from the time package, so a World used inside a
// testing/synctest bubble (through Doer) runs on the bubble's clock.
package fly

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of a new World.
const (
	// DefaultStartDelay is how long a machine takes from start to started.
	DefaultStartDelay = 2 * time.Second
	// DefaultCheckDelay is how long after it started a machine's checks pass.
	DefaultCheckDelay = 5 * time.Second
	// MaxWait is the longest timeout the wait endpoint takes, in seconds.
	MaxWait = 60
	// NonceHeader carries a lease's nonce on a write.
	NonceHeader = "fly-machine-lease-nonce"
)

// World is the fake's state: apps by name. Its zero value is not usable;
// build one with NewWorld.
type World struct {
	mu         sync.Mutex
	apps       map[string]*app
	startDelay time.Duration
	checkDelay time.Duration
	token      string // empty: any token is taken
	onWrite    func(op string)
	fail       map[string][]int // operation → statuses to answer next
	calls      map[string]int
	auth       []string // the scheme of each request's Authorization
	handler    http.Handler
	once       sync.Once
}

type app struct {
	name     string
	org      string
	machines map[string]*machine
	order    []string // IDs in creation order
}

// NewWorld returns an empty world with the default delays.
func NewWorld() *World {
	return &World{apps: map[string]*app{}, startDelay: DefaultStartDelay, checkDelay: DefaultCheckDelay,
		fail: map[string][]int{}, calls: map[string]int{}}
}

// SetDelays sets how long machines take to start and their checks to pass.
func (w *World) SetDelays(start, checks time.Duration) {
	w.locked(func() { w.startDelay, w.checkDelay = start, checks })
}

// RequireToken makes every request without exactly this token (after its
// scheme, Bearer or FlyV1) a 401.
func (w *World) RequireToken(token string) { w.locked(func() { w.token = token }) }

// OnWrite installs tap, called with the operation's name (e.g.
// "cordon", "metadata.set") before each request that changes something,
// from the goroutine serving it and with no lock held.
func (w *World) OnWrite(tap func(op string)) { w.locked(func() { w.onWrite = tap }) }

// Fail makes the next len(statuses) requests of the operation answer those
// statuses (with an error body) without doing anything.
func (w *World) Fail(op string, statuses ...int) {
	w.locked(func() { w.fail[op] = append(w.fail[op], statuses...) })
}

// Calls counts the requests served by operation.
func (w *World) Calls() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.calls)
}

// AuthSchemes lists the Authorization scheme of every request so far.
func (w *World) AuthSchemes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.auth)
}

// CreateApp adds an empty app in org.
func (w *World) CreateApp(name, org string) {
	w.locked(func() { w.apps[name] = &app{name: name, org: org, machines: map[string]*machine{}} })
}

// Launch adds a machine running config (JSON of a MachineConfig) in region
// to the app, started, registered and with its checks passing already,
// and returns its ID.
func (w *World) Launch(appName, region string, config map[string]any) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.apps[appName]
	if a == nil {
		return "", fmt.Errorf("no app %q", appName)
	}
	m := a.add(region, "", config, time.Now())
	m.state, m.startedAt = stateStarted, time.Now().Add(-w.checkDelay)
	return m.id, nil
}

func (w *World) locked(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
}

// Handler serves the Machines API under /v1.
func (w *World) Handler() http.Handler {
	w.once.Do(func() { w.handler = w.mux() })
	return w.handler
}

func (w *World) mux() http.Handler {
	mux := http.NewServeMux()
	routes := map[string]func(*request){
		"GET /v1/apps/{app}":                                 w.getApp,
		"GET /v1/apps/{app}/machines":                        w.listMachines,
		"POST /v1/apps/{app}/machines":                       w.createMachine,
		"GET /v1/apps/{app}/machines/{id}":                   w.getMachine,
		"POST /v1/apps/{app}/machines/{id}":                  w.updateMachine,
		"DELETE /v1/apps/{app}/machines/{id}":                w.destroyMachine,
		"POST /v1/apps/{app}/machines/{id}/start":            w.startMachine,
		"POST /v1/apps/{app}/machines/{id}/stop":             w.stopMachine,
		"POST /v1/apps/{app}/machines/{id}/cordon":           w.cordon(true),
		"POST /v1/apps/{app}/machines/{id}/uncordon":         w.cordon(false),
		"GET /v1/apps/{app}/machines/{id}/wait":              w.wait,
		"GET /v1/apps/{app}/machines/{id}/lease":             w.getLease,
		"POST /v1/apps/{app}/machines/{id}/lease":            w.acquireLease,
		"DELETE /v1/apps/{app}/machines/{id}/lease":          w.releaseLease,
		"GET /v1/apps/{app}/machines/{id}/metadata":          w.getMetadata,
		"POST /v1/apps/{app}/machines/{id}/metadata/{key}":   w.setMetadata,
		"DELETE /v1/apps/{app}/machines/{id}/metadata/{key}": w.deleteMetadata,
	}
	for pattern, h := range routes {
		op := opName(pattern)
		mux.HandleFunc(pattern, func(rw http.ResponseWriter, r *http.Request) { w.serve(op, h, rw, r) })
	}
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		writeError(rw, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// opName names a route's operation: "machines.list", "cordon",
// "metadata.set", ...
func opName(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	parts := strings.Split(strings.TrimPrefix(path, "/v1/apps/{app}"), "/")
	last := parts[len(parts)-1]
	switch {
	case path == "/v1/apps/{app}":
		return "apps.get"
	case last == "machines":
		return map[string]string{"GET": "machines.list", "POST": "machines.create"}[method]
	case last == "{id}":
		return map[string]string{"GET": "machines.get", "POST": "machines.update", "DELETE": "machines.destroy"}[method]
	case last == "lease":
		return map[string]string{"GET": "lease.get", "POST": "lease.acquire", "DELETE": "lease.release"}[method]
	case last == "{key}":
		return map[string]string{"POST": "metadata.set", "DELETE": "metadata.delete"}[method]
	}
	return last
}

// reads are the operations that change nothing.
var reads = map[string]bool{"apps.get": true, "machines.list": true, "machines.get": true, "wait": true, "lease.get": true, "metadata": true}

// request is one call being served.
type request struct {
	rw  http.ResponseWriter
	r   *http.Request
	app *app
	m   *machine // nil for app-level routes
}

// serve checks the token, counts the call, answers an injected failure,
// taps a write, and runs h under the lock (which wait releases).
func (w *World) serve(op string, h func(*request), rw http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	w.mu.Lock()
	w.calls[op]++
	w.auth = append(w.auth, scheme)
	want, tap := w.token, w.onWrite
	var injected int
	if q := w.fail[op]; len(q) > 0 {
		injected, w.fail[op] = q[0], q[1:]
	}
	w.mu.Unlock()
	switch {
	case (scheme != "Bearer" && scheme != "FlyV1") || token == "" || (want != "" && token != want):
		writeError(rw, http.StatusUnauthorized, "unauthorized", "missing or invalid Authorization (Bearer or FlyV1)")
		return
	case injected != 0:
		writeError(rw, injected, "injected", fmt.Sprintf("injected failure %d of %s", injected, op))
		return
	}
	if tap != nil && !reads[op] {
		tap(op)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	req := &request{rw: rw, r: r, app: w.apps[r.PathValue("app")]}
	if req.app == nil {
		writeError(rw, http.StatusNotFound, "not_found", fmt.Sprintf("app %q not found", r.PathValue("app")))
		return
	}
	if id := r.PathValue("id"); id != "" {
		if req.m = req.app.machines[id]; req.m == nil {
			writeError(rw, http.StatusNotFound, "not_found", fmt.Sprintf("machine %q not found", id))
			return
		}
	}
	h(req)
}

func (w *World) getApp(q *request) {
	n := 0
	for _, m := range q.app.machines {
		if m.state != stateDestroyed {
			n++
		}
	}
	writeJSON(q.rw, http.StatusOK, map[string]any{"id": q.app.name, "name": q.app.name, "status": "deployed",
		"machine_count": n, "volume_count": 0, "organization": map[string]any{"name": q.app.org, "slug": q.app.org}})
}

// writeJSON answers v as JSON.
func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v) // a client gone away is not the fake's problem
}

// writeError answers the API's error body.
func writeError(rw http.ResponseWriter, status int, code, msg string) {
	writeJSON(rw, status, map[string]string{"error": msg, "status": code})
}

// newID is a machine ID like Fly's: 14 hex digits.
func newID() string {
	return strings.ToLower(rand.Text()[:14])
}

// Doer is an HTTP client that hands each request to the world's Handler in
// the calling goroutine, without a network: the client of tests that run
// under testing/synctest, where a socket would keep the clock from moving.
type Doer struct{ W *World }

// Do serves req.
func (d Doer) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	d.W.Handler().ServeHTTP(rec, req)
	return rec.Result(), nil
}
