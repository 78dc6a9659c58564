package local

import (
	"bytes"
	"errors"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestProxyHotPathAllocatesNothing: what ramp's own code does for each
// proxied request (routing, the buffer pool, the status writer, the
// metrics) allocates nothing once warm; every allocation of a proxied
// request is net/http's (BenchmarkProxyOverhead's bare against proxied).
func TestProxyHotPathAllocatesNothing(t *testing.T) {
	var rt router
	be := &backend{rev: "v1", metrics: new(revMetrics), drained: make(chan struct{})}
	rt.set(table{stable: one(be)})
	rec := httptest.NewRecorder()
	now := time.Unix(1_700_000_000, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		b := rt.pick()
		buf := copyBuffers.Get()
		copyBuffers.Put(buf)
		sw := statusWriters.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: rec}
		sw.WriteHeader(http.StatusOK)
		b.metrics.observe(now, sw.latency(now, now.Add(time.Millisecond)), sw.code(), sw.failed())
		*sw = statusWriter{}
		statusWriters.Put(sw)
		b.release()
	})
	if allocs != 0 {
		t.Errorf("ramp's per-request path allocates %.1f times, want 0", allocs)
	}
}

// TestStreamedLatencyIsTimeToHeader: a protocol switch or an event stream
// is measured to its header, not over its whole life.
func TestStreamedLatencyIsTimeToHeader(t *testing.T) {
	t.Parallel()
	start := time.Now()
	for _, c := range []struct {
		name        string
		code        int
		contentType string
		streamed    bool
	}{
		{"websocket", http.StatusSwitchingProtocols, "", true},
		{"event stream", http.StatusOK, "text/event-stream; charset=utf-8", true},
		{"plain", http.StatusOK, "text/plain", false},
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", c.contentType)
		sw := &statusWriter{ResponseWriter: rec}
		sw.WriteHeader(c.code)
		end := sw.headerAt.Add(time.Hour)
		got := sw.latency(start, end)
		if streamed := got < time.Hour; streamed != c.streamed {
			t.Errorf("%s: latency %v; want it measured to the header: %v", c.name, got, c.streamed)
		}
	}
}

// TestBadGatewaysAreLoggedAtABoundedRate: a 502 is logged with its cause,
// at most once a second, with how many were left out.
func TestBadGatewaysAreLoggedAtABoundedRate(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	b := &backend{rev: "v2", errLog: log.New(&out, "", 0)}
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	cause := errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		b.logBadGateway(t0.Add(time.Duration(i)*time.Millisecond), http.StatusBadGateway, r.Method, r.URL.Path, cause)
	}
	b.logBadGateway(t0.Add(time.Second), http.StatusBadGateway, r.Method, r.URL.Path, cause)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines for 1001 502s over one second, want 2:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "502 for GET /orders: revision v2 did not answer: dial tcp") {
		t.Errorf("first line %q does not name the request, revision and cause", lines[0])
	}
	if !strings.Contains(lines[1], "(and 999 more since the last line)") {
		t.Errorf("second line %q does not count the 502s left out", lines[1])
	}
}
