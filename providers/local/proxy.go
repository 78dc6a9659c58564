package local

import (
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// revisionHeader names the revision that served a proxied response.
const revisionHeader = "X-Ramp-Revision"

// backend is one revision as the proxy sees it: its address, its own
// connection pool and the requests it is serving now.
type backend struct {
	rev string
	// transport speaks HTTP/1.1 to the revision, h2c HTTP/2 with prior
	// knowledge: a request goes out as it came in (followProtocol).
	transport *http.Transport
	h2c       *http.Transport
	proxy     *httputil.ReverseProxy
	// fast forwards the requests fasthttp read (see fastproxy.go), but
	// for those with a long body (fastupload.go); host is the revision's
	// address; revValue is rev as their X-Ramp-Revision.
	fast     *fasthttp.HostClient
	host     string
	revValue []byte
	metrics  *revMetrics

	// errLog receives the 502s' causes, at most one line a second.
	errLog *log.Logger
	logged logLimiter

	inflight  atomic.Int64
	retired   atomic.Bool
	drainOnce sync.Once
	drained   chan struct{}
}

// newBackend returns a backend forwarding to target, recording into m. A
// request it has not started answering after timeout (zero: never) is
// answered 504.
func newBackend(rev string, target *url.URL, m *revMetrics, errLog *log.Logger, timeout time.Duration) *backend {
	revValue := []string{rev}
	b := &backend{
		rev: rev,
		transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
			ResponseHeaderTimeout: timeout,
		},
		fast:     newFastClient(target, timeout),
		host:     target.Host,
		revValue: []byte(rev),
		metrics:  m,
		drained:  make(chan struct{}),
		errLog:   errLog,
	}
	b.h2c = b.transport.Clone()
	b.h2c.Protocols = new(http.Protocols)
	b.h2c.Protocols.SetUnencryptedHTTP2(true)
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			// Rewrite starts from none: keep the client's chain to append to.
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
		},
		Transport: followProtocol{http1: b.transport, h2c: b.h2c},
		ModifyResponse: func(resp *http.Response) error {
			// One shared value: net/http only reads it, and it would
			// otherwise be rebuilt for every response.
			resp.Header[revisionHeader] = revValue
			return nil
		},
		ErrorHandler: b.proxyError,
		ErrorLog:     errLog,
		BufferPool:   copyBuffers,
	}
	return b
}

// proxyProtocols are what the proxy serves: HTTP/1.1, and HTTP/2 over
// cleartext with prior knowledge (h2c), as gRPC clients speak it.
func proxyProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// followProtocol forwards a gRPC request (HTTP/2, content type
// application/grpc or application/grpc+<codec>) over h2c, as gRPC needs,
// and every other request over HTTP/1.1, which any version speaks (an h2c
// client of a plain HTTP/1.1 version still gets its answer). So gRPC works
// through a canary with no setting.
type followProtocol struct{ http1, h2c *http.Transport }

// RoundTrip sends r over the transport its protocol needs.
func (f followProtocol) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.ProtoMajor == 2 && isGRPC(r.Header.Get("Content-Type")) {
		return f.h2c.RoundTrip(r)
	}
	return f.http1.RoundTrip(r)
}

// isGRPC reports whether a content type is gRPC's over HTTP/2 (gRPC-Web,
// application/grpc-web, works over HTTP/1.1 and is not).
func isGRPC(contentType string) bool {
	rest, ok := strings.CutPrefix(contentType, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// copyBuffers lends every proxy its body copy buffers, instead of a new
// 32 KiB buffer per request.
var copyBuffers = &bufferPool{}

// copyBufferSize is the size of the proxies' body copy buffers.
const copyBufferSize = 32 << 10

// bufferPool is an httputil.BufferPool of copyBufferSize buffers. It pools
// array pointers, which a slice converts to and from without allocating
// (pooling the slices themselves would allocate a header at every Put).
type bufferPool struct{ p sync.Pool }

// Get returns a buffer from the pool or a new one.
func (bp *bufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[copyBufferSize]byte); ok {
		return b[:]
	}
	return new([copyBufferSize]byte)[:]
}

// Put returns a buffer to the pool; one of another size is left to the
// garbage collector.
func (bp *bufferPool) Put(b []byte) {
	if cap(b) >= copyBufferSize {
		bp.p.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}

// proxyError answers 502 for a request the backend did not answer, unless
// the client itself went away, and logs why.
func (b *backend) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.clientGone = true
		}
		return
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		b.logBadGateway(time.Now(), http.StatusGatewayTimeout, r.Method, r.URL.Path, err)
		http.Error(w, "gateway timeout: the revision did not answer in time", http.StatusGatewayTimeout)
		return
	}
	b.logBadGateway(time.Now(), http.StatusBadGateway, r.Method, r.URL.Path, err)
	http.Error(w, "bad gateway: the revision did not answer", http.StatusBadGateway)
}

// logBadGateway logs a 502's or 504's cause: the first in each second, with how
// many were left out since the last line, so a dead revision under load
// cannot flood the log.
func (b *backend) logBadGateway(now time.Time, code int, method, path string, err error) {
	if b.errLog == nil {
		return
	}
	more, ok := b.logged.allow(now)
	if !ok {
		return
	}
	b.errLog.Printf("%d for %s %s: revision %s did not answer: %v%s", code, method, path, b.rev, err, more)
}

// logLimiter lets one log line a second through, and says how many it
// held back since the last.
type logLimiter struct {
	last       atomic.Int64 // the second of the last line
	suppressed atomic.Int64
}

// allow reports whether a line may be logged at now and, if so, the note
// to end it with on the lines held back ("" when none).
func (l *logLimiter) allow(now time.Time) (more string, ok bool) {
	sec, last := now.Unix(), l.last.Load()
	if sec <= last || !l.last.CompareAndSwap(last, sec) {
		l.suppressed.Add(1)
		return "", false
	}
	if n := l.suppressed.Swap(0); n > 0 {
		more = fmt.Sprintf(" (and %d more since the last line)", n)
	}
	return more, true
}

// grpcFailed reports a gRPC call that failed on the server's side, which
// gRPC answers with HTTP 200: a grpc-status, in the trailers or (for an
// answer without a body) the header, that gRPC's own HTTP mapping makes a
// 5xx: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
// DATA_LOSS. The caller's mistakes (NOT_FOUND, INVALID_ARGUMENT, ...) are
// not the revision's failures, as a 4xx is not.
func grpcFailed(h http.Header) bool {
	v := h.Get("Grpc-Status")
	if v == "" {
		v = h.Get(http.TrailerPrefix + "Grpc-Status")
	}
	switch v {
	case "2", "4", "12", "13", "14", "15":
		return true
	}
	return false
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
// candidate and the rest to the stable revision, each spread round-robin
// over the version's replicas. A stable with no replica leaves the rest
// unanswered (503), as on a first deploy.
type table struct {
	stable    pool
	candidate pool
	weight    int
	// routes routes by request too (strategy ab); nil routes by weight.
	routes *routes
}

// pool is one version's replicas in the routing table, taken in turn.
type pool struct {
	backends []*backend
	// next is the version's round-robin cursor, shared by every table
	// that holds the version.
	next *atomic.Uint64
}

// take returns the pool's next backend; nil when it has none.
func (p pool) take() *backend {
	switch len(p.backends) {
	case 0:
		return nil
	case 1:
		return p.backends[0]
	}
	return p.backends[p.next.Add(1)%uint64(len(p.backends))]
}

// one is the pool of a single backend, nil for none.
func one(b *backend) pool {
	if b == nil {
		return pool{}
	}
	return pool{backends: []*backend{b}, next: new(atomic.Uint64)}
}

// choose picks the backend for one request; nil means no revision has it.
func (t *table) choose() *backend {
	switch {
	case len(t.candidate.backends) == 0 || t.weight <= 0:
		return t.stable.take()
	case t.weight >= 100:
		return t.candidate.take()
	case rand.IntN(100) < t.weight:
		return t.candidate.take()
	default:
		return t.stable.take()
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

// route chooses the backend for r, by its routes when the table has any,
// counts it in flight (the caller must release it) and returns the
// Set-Cookie value to answer with, nil for none.
func (r *router) route(req request) (*backend, []string) {
	r.mu.RLock()
	var b *backend
	var cookie []string
	if r.t.routes == nil {
		b = r.t.choose()
	} else {
		b, cookie = r.t.routes.choose(&r.t, req)
	}
	if b != nil {
		b.inflight.Add(1)
	}
	r.mu.RUnlock()
	return b, cookie
}

// proxyHandler serves the service's traffic through the router.
type proxyHandler struct {
	router  *router
	service string
}

// ServeHTTP forwards the request to the revision the routing table picks and
// records its status, outcome and latency for that revision.
func (p *proxyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, cookie := p.router.route(stdRequest{r})
	if b == nil {
		http.Error(w, "no revision of "+p.service+" has traffic", http.StatusServiceUnavailable)
		return
	}
	if cookie != nil { // the revision's answer adds its own cookies to it
		w.Header()["Set-Cookie"] = cookie
	}
	start := time.Now()
	sw := statusWriters.Get().(*statusWriter)
	*sw = statusWriter{ResponseWriter: w}
	aborted := true
	defer func() {
		// ReverseProxy panics with http.ErrAbortHandler when a response
		// breaks off mid-body; count it as failed unless the client left.
		failed := sw.failed() || (aborted && r.Context().Err() == nil) || grpcFailed(sw.Header())
		end := time.Now()
		b.metrics.observe(end, sw.latency(start, end), sw.code(), failed)
		b.release()
		*sw = statusWriter{}
		statusWriters.Put(sw)
	}()
	b.proxy.ServeHTTP(sw, r)
	aborted = false
}
