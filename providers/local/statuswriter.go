package local

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// statusWriters recycles the status writers, one per request in flight.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter remembers the final status written through it, and when.
type statusWriter struct {
	http.ResponseWriter
	status     int
	clientGone bool
	// streamed is set for a response whose length is its life, not its
	// work: a protocol switch (websockets) or an event stream. Its latency
	// is the time to its header.
	streamed bool
	headerAt time.Time
}

// WriteHeader records the first final status: 101 Switching Protocols or
// one from 200 up (other 1xx answers are informational).
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status, w.headerAt = code, time.Now()
		w.streamed = code == http.StatusSwitchingProtocols ||
			strings.HasPrefix(w.ResponseWriter.Header().Get("Content-Type"), "text/event-stream")
	}
	w.ResponseWriter.WriteHeader(code)
}

// latency is the request's latency for the histograms: from start to end,
// or to the header for a streamed response.
func (w *statusWriter) latency(start, end time.Time) time.Duration {
	if w.streamed {
		return w.headerAt.Sub(start)
	}
	return end.Sub(start)
}

// Write records an implicit 200.
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Hijack hands the connection over, as ReverseProxy asks once a revision
// switched protocols: it writes the 101 itself, so the switch is recorded
// here, and the connection's life is not taken for the request's latency.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status, w.headerAt, w.streamed = http.StatusSwitchingProtocols, time.Now(), true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the flusher.
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
