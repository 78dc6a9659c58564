package local

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
)

// serveFrontend serves r's routing table through a frontend on loopback
// and returns its URL; the frontend is shut down when the test ends.
func serveFrontend(t *testing.T, r *router, errLog *log.Logger) (string, *frontend) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFrontend(&proxyHandler{router: r, service: "svc"}, errLog)
	go f.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		f.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), f
}

// backendAt returns a backend named rev for srv, recording into m.
func backendAt(t *testing.T, rev string, srv *httptest.Server, m *revMetrics, errLog *log.Logger, timeout time.Duration) *backend {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return newBackend(rev, target, m, errLog, timeout)
}

// lastMinute counts what m recorded over the last minute.
func lastMinute(m *revMetrics) gates.Counts {
	now := time.Now()
	return m.counts(gates.Window{Start: now.Add(-time.Minute), End: now.Add(time.Second)})
}

// TestFrontendForwardsHTTP1: a request fasthttp reads reaches the revision
// as net/http's proxy sent it (Host kept, X-Forwarded-* set, hop-by-hop
// headers dropped, a large body streamed through) and its answer comes
// back with the revision named, hop-by-hop headers dropped and large
// headers intact; HEAD and Connection: close behave.
func TestFrontendForwardsHTTP1(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("c", 20<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Big", big)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "host=%s xff=%s xfh=%s xfp=%s ka=%q pa=%q body=%d cookie=%d hop=%q",
			r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"),
			r.Header.Get("Keep-Alive"), r.Header.Get("Proxy-Authorization"), n, len(r.Header.Get("Cookie")), r.Header.Get("X-Hop")+strings.Join(r.Header.Values("Connection"), ","))
	}))
	defer srv.Close()
	m := new(revMetrics)
	var rt router
	be := backendAt(t, "v7", srv, m, nil, 0)
	rt.set(table{stable: one(be)})
	base, _ := serveFrontend(t, &rt, nil)

	const size = 8 << 20
	req, _ := http.NewRequest(http.MethodPost, base+"/upload", io.LimitReader(zeros{}, size))
	req.Host = "shop.example"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("Keep-Alive", "timeout=9")
	req.Header.Set("Proxy-Authorization", "Basic Zm9vOmJhcg==")
	req.Header.Set("Cookie", "session="+big)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`host=shop.example xff=203.0.113.9, 127.0.0.1 xfh=shop.example xfp=http ka="" pa="" body=%d cookie=%d hop=""`, size, len(big)+len("session="))
	if string(body) != want {
		t.Errorf("the revision saw\n %s\nwant\n %s", body, want)
	}
	if got := resp.Header.Get(revisionHeader); got != "v7" {
		t.Errorf("%s = %q, want v7", revisionHeader, got)
	}
	if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-Big") != big {
		t.Errorf("response headers: Keep-Alive %q (want none), X-Big %d bytes (want %d)", resp.Header.Get("Keep-Alive"), len(resp.Header.Get("X-Big")), len(big))
	}

	head, err := http.Head(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || head.ContentLength <= 0 {
		t.Errorf("HEAD: status %d, content length %d; want 200 and the GET's length", head.StatusCode, head.ContentLength)
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Keep-Alive, and the headers Connection names, are hop-by-hop.
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-Hop\r\nX-Hop: for the proxy\r\nKeep-Alive: timeout=9\r\n\r\n")
	raw, _ := io.ReadAll(c) // ends only if the proxy closes the connection
	if !bytes.Contains(raw, []byte("Connection: close")) {
		t.Errorf("an answer to Connection: close does not say it closes:\n%.300s", raw)
	}
	if !bytes.Contains(raw, []byte(`ka="" pa="" body=0 cookie=0 hop=""`)) {
		t.Errorf("hop-by-hop headers reached the revision:\n%s", raw[bytes.Index(raw, []byte("host=")):])
	}
	deadline := time.Now().Add(10 * time.Second)
	for be.inflight.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := be.inflight.Load(); n != 0 {
		t.Errorf("%d requests still in flight", n)
	}
	if c := lastMinute(m); c.Requests != 3 || c.Errors != 0 {
		t.Errorf("metrics: %d requests, %d errors; want 3, 0", c.Requests, c.Errors)
	}
}

// zeros reads zero bytes forever.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestFrontendStreamsResponses: an event stream reaches the client as the
// revision writes it, and the request stays in flight until it ends.
func TestFrontendStreamsResponses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "data: two\n\n")
	}))
	defer srv.Close()
	m := new(revMetrics)
	var rt router
	be := backendAt(t, "v1", srv, m, nil, 0)
	rt.set(table{stable: one(be)})
	base, _ := serveFrontend(t, &rt, nil)
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event %q (%v) did not arrive before the stream ended", line, err)
	}
	if n := be.inflight.Load(); n != 1 {
		t.Errorf("in flight while streaming = %d, want 1", n)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rest), "data: two") {
		t.Errorf("rest of the stream %q", rest)
	}
	deadline := time.Now().Add(10 * time.Second)
	for be.inflight.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := lastMinute(m); c.Requests != 1 || c.Errors != 0 {
		t.Errorf("metrics: %d requests, %d errors; want 1, 0", c.Requests, c.Errors)
	}
}

// TestFrontendErrors: 503 with no revision; 502 for a revision that is
// gone, logged with its cause and counted failed; 504 for one that does not
// start answering within its timeout, while one that answers its header in
// time may take longer over its body; a body broken off counts failed.
func TestFrontendErrors(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	release := make(chan struct{})
	slowBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-header" {
			<-release // answers only once the test ends
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(1500 * time.Millisecond) // longer than the timeout
		fmt.Fprint(w, "done")
	}))
	defer slowBody.Close()
	defer close(release)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		fmt.Fprint(w, "short")
		w.(http.Flusher).Flush()
		c, _, _ := http.NewResponseController(w).Hijack()
		c.Close()
	}))
	defer broken.Close()

	var logged syncBuffer
	errLog := log.New(&logged, "", 0)
	var rt router
	base, _ := serveFrontend(t, &rt, errLog)
	// A new connection each time: a client retries a request whose kept-alive
	// connection closed without an answer, which a broken body causes.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	if code, _, _ := get("/"); code != http.StatusServiceUnavailable {
		t.Errorf("no revision: %d, want 503", code)
	}

	mGone := new(revMetrics)
	rt.set(table{stable: one(backendAt(t, "gone", gone, mGone, errLog, 0))})
	if code, _, _ := get("/orders"); code != http.StatusBadGateway {
		t.Errorf("revision gone: %d, want 502", code)
	}
	if c := lastMinute(mGone); c.Requests != 1 || c.Errors != 1 {
		t.Errorf("revision gone: metrics %d requests, %d errors; want 1 failed", c.Requests, c.Errors)
	}
	if !strings.Contains(logged.String(), "502 for GET /orders: revision gone did not answer") {
		t.Errorf("the 502 is not logged with its request and cause: %q", logged.String())
	}

	mSlow := new(revMetrics)
	rt.set(table{stable: one(backendAt(t, "slow", slowBody, mSlow, errLog, 500*time.Millisecond))})
	if code, _, _ := get("/slow-header"); code != http.StatusGatewayTimeout {
		t.Errorf("header later than the timeout: %d, want 504", code)
	}
	if code, body, err := get("/slow-body"); code != http.StatusOK || body != "done" || err != nil {
		t.Errorf("header in time, body later: %d %q %v; want 200 done", code, body, err)
	}
	if c := lastMinute(mSlow); c.Requests != 2 || c.Errors != 1 {
		t.Errorf("timeouts: metrics %d requests, %d errors; want 2, 1", c.Requests, c.Errors)
	}

	mBroken := new(revMetrics)
	be := backendAt(t, "broken", broken, mBroken, errLog, 0)
	rt.set(table{stable: one(be)})
	if _, _, err := get("/"); err == nil {
		t.Error("a body broken off reached the client whole")
	}
	deadline := time.Now().Add(10 * time.Second)
	for be.inflight.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := lastMinute(mBroken); c.Requests != 1 || c.Errors != 1 {
		t.Errorf("broken body: metrics %d requests, %d errors; want 1 failed", c.Requests, c.Errors)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFrontendHandsOtherProtocolsToNetHTTP: an h2c connection and a
// websocket upgrade read by the frontend are served by net/http's proxy.
func TestFrontendHandsOtherProtocolsToNetHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			fmt.Fprintf(w, "proto %s", r.Proto)
			return
		}
		c, brw, ok := switchToEcho(w)
		if !ok {
			return
		}
		defer c.Close()
		line, _ := brw.ReadString('\n')
		fmt.Fprint(brw, "echo "+line)
		brw.Flush()
	}))
	defer srv.Close()
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, new(revMetrics), nil, 0))})
	base, _ := serveFrontend(t, &rt, nil)

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(base + "/")
	if err != nil {
		t.Fatalf("h2c: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "proto HTTP/1.1" || resp.Header.Get(revisionHeader) != "v1" {
		t.Errorf("h2c: answered over %s with %q, revision %q; want HTTP/2, the revision's answer, v1",
			resp.Proto, body, resp.Header.Get(revisionHeader))
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		t.Fatalf("upgrade answered %q, want 101", status)
	}
	for line, _ := br.ReadString('\n'); line != "\r\n" && line != ""; line, _ = br.ReadString('\n') {
	}
	fmt.Fprint(c, "hello\n")
	if got, _ := br.ReadString('\n'); got != "echo hello\n" {
		t.Errorf("over the upgraded connection: %q, want echo hello", got)
	}
}

// TestFrontendShutdownFinishesRequests: Shutdown stops accepting but lets
// a request in flight finish.
func TestFrontendShutdownFinishesRequests(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "finished")
	}))
	defer srv.Close()
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, new(revMetrics), nil, 0))})
	base, f := serveFrontend(t, &rt, nil)
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{string(b), err}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if r := <-done; r.err != nil || r.body != "finished" {
		t.Errorf("request in flight at shutdown: %q, %v; want finished", r.body, r.err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("a request after shutdown was served")
	}
}

// switchToEcho answers a request with a switch to the "echo" protocol, as
// a websocket server does, and returns the connection taken over.
func switchToEcho(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, bool) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, false
	}
	fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	brw.Flush()
	return c, brw, true
}
