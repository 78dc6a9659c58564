package local

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Kept-alive connections to a revision close on the revision's side while
// idle (Node.js and uvicorn after 5s, gunicorn after 2s). net/http notices
// at once, reading in the background; fasthttp only when it writes the
// next request there. So a connection idle for idleCheckAfter is checked
// before a request goes out on it: one the revision closed fails with
// errStaleConn, nothing written, and the request is sent again on another
// (retryStale). fasthttp never sends a streamed body twice, so a request
// body up to maxBufferedBody is read whole first (bufferBody).

const (
	idleCheckAfter  = 100 * time.Millisecond
	maxBufferedBody = 64 << 10
)

// errStaleConn is a kept-alive connection the revision closed while idle,
// found before anything was written to it.
var errStaleConn = errors.New("the revision closed the kept-alive connection, or answered on it unasked, while it was idle")

// bodyBufs lends bufferBody its buffers.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, maxBufferedBody); return &b }}

// clientBody is a streamed request body on its way to a revision, of
// left bytes (-1: chunked); err is why reading it from the client failed,
// if it did (an end before its length is one). net/http's transport may
// read it after RoundTrip returned, when the answer came first; done is
// closed when it closed it, and the request's stream must not be left to
// the server before that (it is released after the handler).
type clientBody struct {
	r    io.Reader
	left int
	err  error
	once sync.Once
	done chan struct{}
}

// Close says the transport is done with the body.
func (b *clientBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.left >= 0 {
		b.left -= n
	}
	switch {
	case err == io.EOF && b.left > 0:
		b.err = io.ErrUnexpectedEOF
	case err != nil && err != io.EOF:
		b.err = err
	}
	return n, err
}

// bufferBody prepares req's body to be forwarded: a streamed one of known
// length up to maxBufferedBody is read whole, so that the request may be
// sent again; a longer one is returned as a clientBody to stream from,
// which tells a client that broke off its upload from a revision that
// failed. An error is the client breaking off a body being read whole.
func bufferBody(req *fasthttp.Request) (*clientBody, error) {
	if !req.IsBodyStream() {
		return nil, nil
	}
	size := req.Header.ContentLength()
	if size >= 0 && size <= maxBufferedBody {
		bb := bodyBufs.Get().(*[]byte)
		defer bodyBufs.Put(bb)
		b := (*bb)[:size]
		if _, err := io.ReadFull(req.BodyStream(), b); err != nil {
			return nil, err
		}
		req.SetBody(b) // copied
		return nil, nil
	}
	// Read from the request's own stream: setting another on the request
	// would close this one, which the server still drains after.
	return &clientBody{r: req.BodyStream(), left: size, done: make(chan struct{})}, nil
}

// staleAttempts bounds the sends of one request over connections found
// closed (each costs one system call, nothing sent): more than the
// connections that can go stale together in a quiet spell, short of a new
// one dialed.
const staleAttempts = 16
