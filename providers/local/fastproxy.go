package local

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// The HTTP/1.1 path of the proxy (see frontend): fasthttp reads the
// request, the routing table picks a backend, and the backend's fasthttp
// client forwards it over a kept-alive connection. The response's header is
// copied and its body streamed to the client as it arrives, so an event
// stream or a large download is never held whole. The request is counted
// in flight, and measured, until its body has been passed on.

var (
	revisionHeaderKey = []byte(revisionHeader)
	forwardedForKey   = []byte("X-Forwarded-For")
	forwardedHostKey  = []byte("X-Forwarded-Host")
	forwardedProtoKey = []byte("X-Forwarded-Proto")
	protoHTTP         = []byte("http")
	http11            = []byte("HTTP/1.1")
	// hopHeaders are the hop-by-hop headers, besides Connection, a proxy
	// must not forward (RFC 9110 7.6.1), as httputil.ReverseProxy drops them.
	hopHeaders = []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer"}
)

// newFastClient returns the HTTP/1.1 client of one revision at target. A
// request it has not started answering after timeout (zero: never) fails
// with a timeout.
func newFastClient(target *url.URL, timeout time.Duration) *fasthttp.HostClient {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &fasthttp.HostClient{
		Addr: target.Host,
		Dial: func(addr string) (net.Conn, error) {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return c, err
			}
			return &revisionConn{Conn: c, timeout: timeout, lastIO: time.Now()}, nil
		},
		MaxConns:                  1 << 16,
		ConnPoolStrategy:          fasthttp.LIFO, // the warmest connection: the others idle out
		MaxIdleConnDuration:       30 * time.Second,
		ReadBufferSize:            32 << 10, // response headers up to 32 KiB
		StreamResponseBody:        true,
		DisablePathNormalizing:    true,
		NoDefaultUserAgentHeader:  true,
		RetryIfErr:                retryStale,
		MaxIdemponentCallAttempts: staleAttempts, // retryStale allows fewer for anything but errStaleConn
		SecureErrorLogMessage:     true,          // a malformed answer's bytes stay out of the 502's log line
	}
}

// retryStale says whether to send a request again after err, once: as
// net/http does, only an idempotent request, and only when the revision
// closed a kept-alive connection before answering (it may have been closing
// it as the request went out). A timeout, a refused connection or a broken
// answer is not retried: the revision's failure is the candidate's result.
func retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if errors.Is(err, errStaleConn) { // nothing was sent: any request goes again
		return false, attempts < staleAttempts
	}
	stale := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	idempotent := req.Header.IsGet() || req.Header.IsHead() || req.Header.IsPut() ||
		req.Header.IsDelete() || req.Header.IsOptions() || req.Header.IsTrace()
	return false, attempts < 2 && stale && idempotent && !req.IsBodyStream()
}

// isTimeout reports a timeout: a deadline passed (net.Error) or
// fasthttp's ErrTimeout.
func isTimeout(err error) bool {
	te, ok := errors.AsType[interface {
		error
		Timeout() bool
	}](err)
	return ok && te.Timeout()
}

// serveFast forwards one HTTP/1.1 request read by fasthttp.
func (p *proxyHandler) serveFast(ctx *fasthttp.RequestCtx, f *frontend) {
	req := &ctx.Request
	// A protocol switch or tunnel, and HTTP/1.0 (whose client cannot
	// read a chunked answer; nginx's proxy_pass speaks it by default), are
	// net/http's.
	if req.Header.ConnectionUpgrade() || req.Header.IsConnect() || len(req.Header.Peek("Upgrade")) > 0 || !req.Header.IsHTTP11() {
		f.handOff(ctx)
		return
	}
	b, cookie := p.router.route(fastRequest{ctx})
	if b == nil {
		ctx.Error("no revision of "+p.service+" has traffic", http.StatusServiceUnavailable)
		return
	}
	start := time.Now()
	closeClient := req.Header.ConnectionClose()
	prepareOutbound(ctx)
	body, err := bufferBody(req)
	switch {
	case err != nil: // the client broke off a body being read whole
		b.unanswered(ctx, start, err, err)
		return
	case body != nil:
		b.serveUpload(ctx, body, start, closeClient, cookie)
		return
	}
	up := fasthttp.AcquireResponse()
	if err := b.fast.Do(req, up); err != nil {
		fasthttp.ReleaseResponse(up)
		b.unanswered(ctx, start, nil, err)
		return
	}
	resp := &ctx.Response
	up.Header.CopyTo(&resp.Header)
	resp.Header.SetNoDefaultContentType(true) // none added where the revision sent none
	resp.Header.SetProtocol(http11)           // an HTTP/1.0 revision's answer goes on to an HTTP/1.1 client
	dropConnectionTokens(up.Header.PeekAll("Connection"), resp.Header.Del)
	resp.Header.ResetConnectionClose()
	if closeClient {
		resp.SetConnectionClose()
	}
	resp.Header.Del("Keep-Alive")
	resp.Header.SetCanonical(revisionHeaderKey, b.revValue)
	if cookie != nil {
		resp.Header.Add("Set-Cookie", cookie[0])
	}
	w := bodyWatches.Get().(*bodyWatch)
	*w = bodyWatch{up: up, b: b, start: start, headerAt: time.Now(), code: up.StatusCode()}
	w.streamed = w.code == http.StatusSwitchingProtocols || isEventStream(up.Header.ContentType())
	size := up.Header.ContentLength()
	if size < 0 {
		size = -1 // chunked to the client, whatever the revision framed it with
		// The header goes out at once, as the revision flushed it: an
		// event stream's client must not wait for the first event.
		resp.ImmediateHeaderFlush = true
	}
	resp.SetBodyStream(w, size)
}

// prepareOutbound turns the request fasthttp read into the one forwarded:
// hop-by-hop headers dropped, the connection kept alive to the revision,
// and X-Forwarded-For (appended to), -Host and -Proto set, as
// httputil.ProxyRequest.SetXForwarded sets them.
func prepareOutbound(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	dropConnectionTokens(h.PeekAll("Connection"), h.Del)
	h.Del("Connection")
	h.ResetConnectionClose()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	// Every X-Forwarded-For line the client sent, joined: a second line
	// left as it was would be read as the last hop by many frameworks.
	var buf [128]byte
	xff := buf[:0]
	for _, v := range h.PeekAll("X-Forwarded-For") {
		if len(xff) > 0 {
			xff = append(xff, ", "...)
		}
		xff = append(xff, v...)
	}
	if ip, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		if len(xff) > 0 {
			xff = append(xff, ", "...)
		}
		xff = ip.Unmap().AppendTo(xff)
	}
	h.DelBytes(forwardedForKey)
	h.DelBytes(forwardedHostKey)
	h.DelBytes(forwardedProtoKey)
	h.SetCanonical(forwardedForKey, xff)
	h.SetCanonical(forwardedHostKey, h.Host())
	h.SetCanonical(forwardedProtoKey, protoHTTP)
}

// dropConnectionTokens deletes, with del, the headers the Connection
// header lines conn name besides its own options (close, keep-alive,
// upgrade): hop-by-hop by RFC 9110 7.6.1, as httputil.ReverseProxy drops
// them. The message's framing and Host are never deleted: a client naming
// Content-Length there would otherwise break its own request's body.
func dropConnectionTokens(conn [][]byte, del func(string)) {
	var buf [128]byte
	rest := buf[:0] // del may reuse the header's buffers
	for _, line := range conn {
		rest = append(append(rest, line...), ',')
	}
	for len(rest) > 0 {
		var tok []byte
		tok, rest, _ = bytes.Cut(rest, comma)
		tok = bytes.TrimSpace(tok)
		if len(tok) == 0 || bytes.EqualFold(tok, keepAlive) || bytes.EqualFold(tok, closeToken) || bytes.EqualFold(tok, upgradeToken) || framing(tok) {
			continue
		}
		del(string(tok))
	}
}

// framing reports the headers a Connection header may not remove.
func framing(tok []byte) bool {
	for _, k := range framingHeaders {
		if bytes.EqualFold(tok, k) {
			return true
		}
	}
	return false
}

var (
	comma        = []byte{','}
	keepAlive    = []byte("keep-alive")
	closeToken   = []byte("close")
	upgradeToken = []byte("upgrade")
	// framingHeaders delimit a message or name its target.
	framingHeaders = [][]byte{[]byte("Content-Length"), []byte("Transfer-Encoding"), []byte("Host")}
)

// isEventStream reports a text/event-stream content type.
func isEventStream(ct []byte) bool {
	const es = "text/event-stream"
	return len(ct) >= len(es) && string(ct[:len(es)]) == es
}

// fastError answers a request the revision did not answer: 504 when it
// timed out, else 502, logging why; it returns the code.
func (b *backend) fastError(ctx *fasthttp.RequestCtx, err error) int {
	method, path := string(ctx.Method()), string(ctx.Path())
	if isTimeout(err) {
		b.logBadGateway(time.Now(), http.StatusGatewayTimeout, method, path, err)
		ctx.Error("gateway timeout: the revision did not answer in time", http.StatusGatewayTimeout)
		return http.StatusGatewayTimeout
	}
	b.logBadGateway(time.Now(), http.StatusBadGateway, method, path, err)
	ctx.Error("bad gateway: the revision did not answer", http.StatusBadGateway)
	return http.StatusBadGateway
}

// bodyWatches recycles the body watches, one per response in flight.
var bodyWatches = sync.Pool{New: func() any { return new(bodyWatch) }}

// bodyWatch passes a revision's response body on to the client and, once
// fasthttp closes it (the body was sent, or the client went away), records
// the request for its revision and ends it in flight.
type bodyWatch struct {
	up       *fasthttp.Response
	src      io.ReadCloser // instead of up, an answer read by net/http (serveUpload)
	b        *backend
	start    time.Time
	headerAt time.Time
	code     int
	streamed bool // latency is to the header: a protocol switch or an event stream
	failed   bool // the revision broke off the body
}

// Read reads the revision's body.
func (w *bodyWatch) Read(p []byte) (int, error) {
	n, err := w.readSource(p)
	if err != nil && err != io.EOF {
		w.failed = true
	}
	return n, err
}

// CloseWithError ends the response: fasthttp calls it once, after the body
// was written or failed to be.
func (w *bodyWatch) CloseWithError(error) error {
	err := w.closeSource()
	end := time.Now()
	lat := end.Sub(w.start)
	if w.streamed {
		lat = w.headerAt.Sub(w.start)
	}
	w.b.metrics.observe(end, lat, w.code, w.failed || w.code >= 500)
	w.b.release()
	*w = bodyWatch{}
	bodyWatches.Put(w)
	return err
}

// fastRequest is a request read by fasthttp, as routing reads it.
type fastRequest struct{ ctx *fasthttp.RequestCtx }

// headerHas reports whether a header called name has value.
func (r fastRequest) headerHas(name, value string) bool {
	for _, v := range r.ctx.Request.Header.PeekAll(name) {
		if string(v) == value {
			return true
		}
	}
	return false
}

// cookieIs reports whether the cookie called name has value.
func (r fastRequest) cookieIs(name, value string) bool {
	return string(r.ctx.Request.Header.Cookie(name)) == value
}

// query returns the raw query, valid until the request ends.
func (r fastRequest) query() string {
	q := r.ctx.URI().QueryString()
	return unsafe.String(unsafe.SliceData(q), len(q))
}

// revisionConn is a kept-alive connection to a revision. Before a write
// after idleCheckAfter without any traffic, it checks that the revision
// has not closed it (errStaleConn; see fastbody.go). With a timeout, it
// gives each response that long to start, as net/http's
// ResponseHeaderTimeout: from the first read after the request was
// written (a slow upload is the client's time, not the revision's) until
// the end of the final response's header, then no deadline for its body.
// An interim 1xx answer (100 Continue, 103 Early Hints) does not end the
// wait.
type revisionConn struct {
	net.Conn
	timeout  time.Duration
	lastIO   time.Time // the end of the last read or write
	waiting  bool      // a request was written; its final response header is not in
	deadline time.Time // when its header must have ended; zero until the first read
	matched  int       // bytes of "\r\n\r\n" seen at the end of what was read
	at       int       // bytes read of the header block now being read
	interim  bool      // that block's status is 1xx
}

// Write writes to the revision; with a timeout, the first write of a
// request makes the next read wait for its answer.
func (c *revisionConn) Write(p []byte) (int, error) {
	now := time.Now()
	if now.Sub(c.lastIO) >= idleCheckAfter && peerClosed(c.Conn) {
		return 0, errStaleConn
	}
	if c.timeout > 0 && !c.waiting {
		c.waiting, c.matched, c.at, c.interim = true, 0, 0, false
		c.deadline = time.Time{}
	}
	n, err := c.Conn.Write(p)
	c.lastIO = time.Now()
	return n, err
}

// Read reads from the revision and lifts the deadline once the final
// response's header ended.
func (c *revisionConn) Read(p []byte) (int, error) {
	if c.waiting {
		if c.deadline.IsZero() { // the request is written: the revision's time starts
			c.deadline = time.Now().Add(c.timeout)
		}
		c.Conn.SetReadDeadline(c.deadline)
	}
	n, err := c.Conn.Read(p)
	c.lastIO = time.Now()
	if c.waiting && c.headerEnds(p[:n]) {
		c.waiting = false
		c.Conn.SetReadDeadline(time.Time{})
	}
	return n, err
}

// headerEnds scans b, read while waiting, and reports whether the final
// response's header ended in it. The status digit is the 10th byte of a
// block ("HTTP/1.1 100 Continue").
func (c *revisionConn) headerEnds(b []byte) bool {
	const end, statusAt = "\r\n\r\n", len("HTTP/1.1 ")
	for _, ch := range b {
		if c.at == statusAt {
			c.interim = ch == '1'
		}
		c.at++
		switch {
		case ch == end[c.matched]:
			c.matched++
		case ch == '\r':
			c.matched = 1
		default:
			c.matched = 0
		}
		if c.matched == len(end) {
			if !c.interim {
				return true
			}
			// A 1xx: the final answer follows, its clock from the next
			// read (after 100 Continue, the body is written first).
			c.matched, c.at, c.interim, c.deadline = 0, 0, false, time.Time{}
		}
	}
	return false
}
