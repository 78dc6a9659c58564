package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// frontend serves the proxy's listener with two HTTP servers. HTTP/1.1, the
// bulk of any service's traffic, is served by fasthttp (serveFast), which
// costs a fraction of net/http's CPU per request; a connection that opens
// with HTTP/2's preface (h2c with prior knowledge, as gRPC clients speak)
// and any request that switches protocols (websockets) or tunnels (CONNECT)
// are served by net/http through proxyHandler.ServeHTTP. The frontend
// accepts every connection itself, reads its first bytes and hands it to
// one server or the other; a request fasthttp has read but cannot serve is
// handed to net/http with its bytes put back in front of the connection.
type frontend struct {
	fast *fasthttp.Server
	std  *http.Server
	// fastLn and stdLn are the servers' listeners: the connections the
	// frontend hands them.
	fastLn, stdLn *connQueue

	sniffing   sync.WaitGroup // connections being read, not handed yet
	mu         sync.Mutex
	ln         net.Listener  // the listener Serve accepts from
	stopped    bool          // Shutdown or Close was called
	dispatched chan struct{} // closed once Serve accepts no more and every connection is handed
	conns      map[net.Conn]struct{}
}

// sniffTimeout bounds how long a new connection may take to send its first
// bytes (net/http's ReadHeaderTimeout did so before).
const sniffTimeout = 10 * time.Second

// h2Start opens HTTP/2's connection preface; no HTTP/1 method is "PRI".
const h2Start = "PRI "

// newFrontend returns a frontend for h, logging to errLog.
func newFrontend(h *proxyHandler, errLog *log.Logger) *frontend {
	f := &frontend{dispatched: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	f.std = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: sniffTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
		Protocols:         proxyProtocols(),
	}
	f.fast = &fasthttp.Server{
		Handler:                      func(ctx *fasthttp.RequestCtx) { h.serveFast(ctx, f) },
		ReadTimeout:                  sniffTimeout,
		IdleTimeout:                  2 * time.Minute,
		ReadBufferSize:               32 << 10, // headers up to 32 KiB, as nginx's default allows
		StreamRequestBody:            true,     // a request body of any size goes through, as it arrives
		KeepHijackedConns:            true,     // a hijacked connection is handed to net/http
		CloseOnShutdown:              true,
		NoDefaultServerHeader:        true,
		NoDefaultDate:                true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		Logger:                       &fastLogger{l: errLog},
		SecureErrorLogMessage:        true, // a malformed request's bytes, which may hold credentials, stay out of the log
		ConnState:                    f.track,
		HeaderReceived: func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			// The header had sniffTimeout; a body streams as long as it takes.
			return fasthttp.RequestConfig{ReadTimeout: bodyReadTimeout}
		},
	}
	return f
}

// bodyReadTimeout bounds reading one request's body.
const bodyReadTimeout = 24 * time.Hour

// fastLogger logs fasthttp's errors (a malformed request, a connection
// broken mid-request) to the agent's log (nil: nowhere), at most one line
// a second, so that a scanner or a broken client cannot flood it.
type fastLogger struct {
	l      *log.Logger
	logged logLimiter
}

// Printf logs one line, unless one was logged this second.
func (f *fastLogger) Printf(format string, args ...any) {
	if f.l == nil {
		return
	}
	if more, ok := f.logged.allow(time.Now()); ok {
		f.l.Printf("proxy: "+format+"%s", append(args, more)...)
	}
}

// track counts fasthttp's open connections, for Close.
func (f *frontend) track(c net.Conn, st fasthttp.ConnState) {
	switch st {
	case fasthttp.StateNew:
		f.mu.Lock()
		f.conns[c] = struct{}{}
		f.mu.Unlock()
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
	}
}

// Serve accepts connections on ln and hands each to the server for its
// protocol, until Shutdown or Close; then it returns http.ErrServerClosed.
func (f *frontend) Serve(ln net.Listener) error {
	f.mu.Lock()
	switch {
	case f.stopped:
		f.mu.Unlock()
		return http.ErrServerClosed
	case f.ln != nil:
		f.mu.Unlock()
		return errors.New("proxy: frontend already serves")
	}
	f.ln = ln
	f.fastLn, f.stdLn = newConnQueue(ln.Addr()), newConnQueue(ln.Addr())
	f.mu.Unlock()
	go f.fast.Serve(f.fastLn)
	go f.std.Serve(f.stdLn)
	defer func() {
		f.sniffing.Wait()
		close(f.dispatched)
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
				return http.ErrServerClosed
			}
			return fmt.Errorf("proxy: accept: %w", err)
		}
		delay = 0
		f.sniffing.Add(1)
		go f.sniff(c)
	}
}

// isTemporary reports an accept error worth retrying (out of file
// descriptors, a connection reset before it was accepted).
func isTemporary(err error) bool {
	te, ok := err.(interface{ Temporary() bool })
	return ok && te.Temporary()
}

// sniff reads a new connection's first bytes and hands it to net/http if
// it opens HTTP/2, else to fasthttp.
func (f *frontend) sniff(c net.Conn) {
	defer f.sniffing.Done()
	br := bufio.NewReaderSize(c, 16)
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	head, err := br.Peek(len(h2Start))
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	pc := &peekedConn{Conn: c, r: br}
	if string(head) == h2Start {
		f.stdLn.push(pc)
		return
	}
	f.fastLn.push(pc)
}

// handOff gives the connection of a request fasthttp read but net/http
// must serve (a protocol switch or CONNECT) to net/http, which reads the
// request again from head, the request as fasthttp read it.
func (f *frontend) handOff(ctx *fasthttp.RequestCtx) {
	head := append([]byte(nil), ctx.Request.Header.Header()...)
	if ctx.Request.Header.ContentLength() > 0 {
		head = append(head, ctx.Request.Body()...)
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		f.stdLn.push(&peekedConn{Conn: c, prefix: head})
	})
}

// Shutdown stops accepting and lets every request in flight finish:
// connections between requests are closed, busy ones once they answered.
// Connections handed over to another protocol (websockets) are left
// alone, as net/http leaves them.
func (f *frontend) Shutdown(ctx context.Context) error {
	if !f.stopAccepting() {
		return nil
	}
	select {
	case <-f.dispatched:
	case <-ctx.Done():
		return fmt.Errorf("proxy: stop accepting: %w", ctx.Err())
	}
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = f.fast.ShutdownWithContext(ctx) })
	wg.Go(func() { errs[1] = f.std.Shutdown(ctx) })
	wg.Wait()
	f.fastLn.Close() // in case a server had not started serving yet
	f.stdLn.Close()
	return errors.Join(errs[:]...)
}

// stopAccepting closes the listener; false when the frontend never served.
func (f *frontend) stopAccepting() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	if f.ln == nil {
		return false
	}
	f.ln.Close()
	return true
}

// Close stops accepting and closes every connection at once.
func (f *frontend) Close() error {
	if !f.stopAccepting() {
		return nil
	}
	f.fastLn.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	return f.std.Close()
}

// connQueue is a net.Listener whose connections the frontend hands it.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

// newConnQueue returns a queue reporting addr as its address.
func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the queue's server; once the queue is closed, c is closed.
func (q *connQueue) push(c net.Conn) {
	select {
	case q.ch <- c:
	case <-q.done:
		c.Close()
	}
}

// Accept returns the next connection handed over.
func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close stops the queue.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr is the frontend's listen address.
func (q *connQueue) Addr() net.Addr { return q.addr }

// peekedConn is a connection some of whose bytes were read already: those
// (in r, or prefix) are read again first.
type peekedConn struct {
	net.Conn
	r      *bufio.Reader
	prefix []byte
}

// Read reads what was read ahead, then the connection.
func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.r = nil
	}
	return c.Conn.Read(p)
}
