package local

import (
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// revisionHeader names the revision that served a proxied response.
const revisionHeader = "X-Ramp-Revision"

// backend is one revision as the proxy sees it: its address, its own
// connection pool and the requests it is serving now.
type backend struct {
	rev       string
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	metrics   *revMetrics

	inflight  atomic.Int64
	retired   atomic.Bool
	drainOnce sync.Once
	drained   chan struct{}
}

// newBackend returns a backend forwarding to target, recording into m.
func newBackend(rev string, target *url.URL, m *revMetrics, errLog *log.Logger) *backend {
	b := &backend{
		rev: rev,
		transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
		},
		metrics: m,
		drained: make(chan struct{}),
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: b.transport,
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(revisionHeader, rev)
			return nil
		},
		ErrorHandler: proxyError,
		ErrorLog:     errLog,
		BufferPool:   copyBuffers,
	}
	return b
}

// copyBuffers lends every proxy its body copy buffers, instead of a new
// 32 KiB buffer per request.
var copyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool of 32 KiB buffers.
type bufferPool struct{ p sync.Pool }

// Get returns a buffer from the pool or a new one.
func (bp *bufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 32<<10)
}

// Put returns a buffer to the pool.
func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }

// proxyError answers 502 for a request the backend did not answer, unless
// the client itself went away.
func proxyError(w http.ResponseWriter, r *http.Request, _ error) {
	if r.Context().Err() != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.clientGone = true
		}
		return
	}
	http.Error(w, "bad gateway: the revision did not answer", http.StatusBadGateway)
}

// release ends one request picked for b.
func (b *backend) release() {
	if b.inflight.Add(-1) == 0 && b.retired.Load() {
		b.drainOnce.Do(func() { close(b.drained) })
	}
}

// retire marks b as out of the routing table, which the caller must already
// have swapped, and returns a channel closed once its last request ended.
func (b *backend) retire() <-chan struct{} {
	b.retired.Store(true)
	if b.inflight.Load() == 0 {
		b.drainOnce.Do(func() { close(b.drained) })
	}
	return b.drained
}

// table is one routing decision: weight percent of the requests to the
// candidate and the rest to the stable revision. A nil stable leaves the
// rest unanswered (503), as on a first deploy.
type table struct {
	stable    *backend
	candidate *backend
	weight    int
}

// choose picks the backend for one request; nil means no revision has it.
func (t *table) choose() *backend {
	switch {
	case t.candidate == nil || t.weight <= 0:
		return t.stable
	case t.weight >= 100:
		return t.candidate
	case rand.IntN(100) < t.weight:
		return t.candidate
	default:
		return t.stable
	}
}

// router holds the routing table. Picking a backend and counting the request
// in flight happen under one read lock, so once set returns no new request
// can reach a backend the new table left out.
type router struct {
	mu sync.RWMutex
	t  table
}

// set swaps the routing table.
func (r *router) set(t table) {
	r.mu.Lock()
	r.t = t
	r.mu.Unlock()
}

// current returns the routing table in use.
func (r *router) current() table {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.t
}

// pick chooses the backend for one request and counts it in flight; the
// caller must release it.
func (r *router) pick() *backend {
	r.mu.RLock()
	b := r.t.choose()
	if b != nil {
		b.inflight.Add(1)
	}
	r.mu.RUnlock()
	return b
}

// proxyHandler serves the service's traffic through the router.
type proxyHandler struct {
	router  *router
	service string
}

// ServeHTTP forwards the request to the revision the routing table picks and
// records its status, outcome and latency for that revision.
func (p *proxyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := p.router.pick()
	if b == nil {
		http.Error(w, "no revision of "+p.service+" has traffic", http.StatusServiceUnavailable)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	aborted := true
	defer func() {
		// ReverseProxy panics with http.ErrAbortHandler when a response
		// breaks off mid-body; count it as failed unless the client left.
		failed := sw.failed() || (aborted && r.Context().Err() == nil)
		end := time.Now()
		b.metrics.observe(end, end.Sub(start), sw.code(), failed)
		b.release()
	}()
	b.proxy.ServeHTTP(sw, r)
	aborted = false
}

// statusWriter remembers the final status written through it.
type statusWriter struct {
	http.ResponseWriter
	status     int
	clientGone bool
}

// WriteHeader records the first final status: 101 Switching Protocols or
// one from 200 up (other 1xx answers are informational).
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the flusher and hijacker.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code returns the status code the request is counted under: the status
// written; 499 if the client went away before any was; else the 200
// net/http answers for a handler that wrote nothing.
func (w *statusWriter) code() int {
	switch {
	case w.status != 0:
		return w.status
	case w.clientGone:
		return codeClientGone
	default:
		return http.StatusOK
	}
}

// failed reports whether the response counts as a failure: a 5xx the
// client was there to receive.
func (w *statusWriter) failed() bool { return w.status >= 500 && !w.clientGone }
