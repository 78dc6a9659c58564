package local

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawExchange sends raw to the proxy at base and returns all it answered
// before closing the connection or d passed.
func rawExchange(t *testing.T, base, raw string, d time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// headerEcho answers with the forwarding headers it was sent, one per line.
func headerEcho() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "xff=%q\nxfh=%q\nxfp=%q\nhop=%q\nbody=%d\n", r.Header.Values("X-Forwarded-For"), r.Header.Values("X-Forwarded-Host"),
			r.Header.Values("X-Forwarded-Proto"), r.Header.Values("X-Hop"), r.ContentLength)
	}))
}

// TestFrontendForwardingHeaders sends what a client may repeat or name in
// Connection and checks what the revision receives, over HTTP/1.1
// (fasthttp) and, for the X-Forwarded-For chain, over h2c (net/http): one
// X-Forwarded-For line holding every hop, one X-Forwarded-Host, no header
// a Connection line names, and the body's length never removed.
func TestFrontendForwardingHeaders(t *testing.T) {
	t.Parallel()
	srv := headerEcho()
	defer srv.Close()
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, new(revMetrics), nil, 0))})
	base, _ := serveFrontend(t, &rt, nil)
	for _, tc := range []struct {
		name, raw string
		want      []string
	}{
		{"repeated X-Forwarded-For and -Host lines",
			"GET / HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 198.51.100.7\r\n" +
				"X-Forwarded-Host: evil\r\nX-Forwarded-Host: evil2\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n",
			[]string{`xff=["192.0.2.1, 198.51.100.7, 127.0.0.1"]`, `xfh=["app"]`, `xfp=["http"]`}},
		{"Connection on two lines",
			"GET / HTTP/1.1\r\nHost: app\r\nConnection: keep-alive\r\nConnection: X-Hop\r\nX-Hop: secret\r\nConnection: close\r\n\r\n",
			[]string{`hop=[]`}},
		{"Connection naming the body's length",
			"POST / HTTP/1.1\r\nHost: app\r\nConnection: Content-Length, close\r\nContent-Length: 5\r\n\r\nhello",
			[]string{"HTTP/1.1 200", "body=5"}},
	} {
		out := rawExchange(t, base, tc.raw, 10*time.Second)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the revision's answer lacks %s:\n%s", tc.name, w, out)
			}
		}
	}

	h2 := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Header["X-Forwarded-For"] = []string{"192.0.2.1", "198.51.100.7"}
	resp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `xff=["192.0.2.1, 198.51.100.7, 127.0.0.1"]`; resp.ProtoMajor != 2 || !strings.Contains(string(b), want) {
		t.Errorf("over h2c (HTTP/%d): %s; want %s", resp.ProtoMajor, b, want)
	}
}

// TestFrontendResponseHeaders checks what the client receives: no
// Content-Type where the revision sent none, and an event stream's header
// before its first event.
func TestFrontendResponseHeaders(t *testing.T) {
	t.Parallel()
	first := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-first
			fmt.Fprint(w, "data: one\n\n")
			return
		}
		w.Header()["Content-Type"] = nil // net/http sniffs none
		w.Write([]byte("<html></html>"))
	}))
	defer srv.Close()
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, new(revMetrics), nil, 0))})
	base, _ := serveFrontend(t, &rt, nil)

	resp, err := http.Get(base + "/page")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if ct, ok := resp.Header["Content-Type"]; ok {
		t.Errorf("Content-Type %q added to an answer that had none", ct)
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /events HTTP/1.1\r\nHost: app\r\n\r\n")
	got := make(chan error, 1)
	go func() {
		_, err := http.ReadResponse(bufio.NewReader(c), nil)
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("event stream header: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the event stream's header did not arrive before its first event")
	}
	close(first)
}

// TestFrontendMeasuresSessionsAndUploadsFairly: a websocket session is
// counted as a 101 measured to its switch, not its life; an upload slower
// than the response-header timeout is the client's time, not the
// revision's, so its prompt answer is no 504.
func TestFrontendMeasuresSessionsAndUploadsFairly(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "got %d", n)
			return
		}
		c, _, ok := switchToEcho(w)
		if !ok {
			return
		}
		defer c.Close()
		time.Sleep(1500 * time.Millisecond) // the session
	}))
	defer srv.Close()
	ws, up := new(revMetrics), new(revMetrics)
	var rtWS, rtUp router
	rtWS.set(table{stable: one(backendAt(t, "v1", srv, ws, nil, 0))})
	rtUp.set(table{stable: one(backendAt(t, "v1", srv, up, nil, 500*time.Millisecond))})
	baseWS, _ := serveFrontend(t, &rtWS, nil)
	baseUp, _ := serveFrontend(t, &rtUp, nil)

	out := rawExchange(t, baseWS, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", 30*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 101") {
		t.Fatalf("upgrade answered %q", out)
	}
	waitFor(t, 30*time.Second, "the session to be counted", func() bool { return lastMinute(ws).Requests == 1 })
	if c := lastMinute(ws); c.Errors != 0 || c.Latency.Slower(1000) != 0 {
		t.Errorf("a 1.5 s websocket session: %d errors, %d of %d requests slower than 1 s; want it measured to its switch",
			c.Errors, c.Latency.Slower(1000), c.Requests)
	}

	req, _ := http.NewRequest(http.MethodPut, baseUp+"/upload", &trickle{n: 10, every: 100 * time.Millisecond})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "got 10" {
		t.Errorf("a 1 s upload to a revision answering at once, with a 500ms timeout: %d %q, want 200 \"got 10\"", resp.StatusCode, b)
	}
	if c := lastMinute(up); c.Errors != 0 {
		t.Errorf("the slow upload counted %d errors against the revision", c.Errors)
	}
}

// trickle is a request body of n bytes, one every every.
type trickle struct {
	n     int
	every time.Duration
}

func (r *trickle) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.every)
	r.n--
	p[0] = 'x'
	return 1, nil
}

// TestFrontendHTTP10 checks both HTTP/1.0 sides: an HTTP/1.0 revision's
// answer, read to its close, reaches an HTTP/1.1 client as an HTTP/1.1
// answer it can read to its end; an HTTP/1.0 client (as nginx's
// proxy_pass by default) gets an answer it can read, never chunked.
func TestFrontendHTTP10(t *testing.T) {
	t.Parallel()
	old := rawRevision(t, func(c net.Conn) { // an HTTP/1.0 revision: no length, the body ends with the connection
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from 1.0")
		}
	})
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush()
		fmt.Fprintf(w, "part2 %s", r.Proto)
	}))
	defer chunked.Close()
	var rtOld, rtNew router
	rtOld.set(table{stable: one(backendAt(t, "v1", old, new(revMetrics), nil, 0))})
	rtNew.set(table{stable: one(backendAt(t, "v2", chunked, new(revMetrics), nil, 0))})
	baseOld, _ := serveFrontend(t, &rtOld, nil)
	baseNew, _ := serveFrontend(t, &rtNew, nil)

	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(baseOld + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "hello from 1.0" || resp.ProtoMinor != 1 {
		t.Errorf("an HTTP/1.0 revision's answer: HTTP/1.%d %q, %v; want HTTP/1.1 \"hello from 1.0\"", resp.ProtoMinor, b, err)
	}

	out := rawExchange(t, baseNew, "GET / HTTP/1.0\r\nHost: x\r\n\r\n", 10*time.Second)
	head, body, _ := strings.Cut(out, "\r\n\r\n")
	if strings.Contains(strings.ToLower(head), "transfer-encoding") || body != "part1 part2 HTTP/1.1" {
		t.Errorf("an HTTP/1.0 client got\n%s\n\n%q; want no chunked framing and the whole body", head, body)
	}
}

// rawRevision is a revision written by hand: serve has each connection
// made to it, closed after.
func rawRevision(t *testing.T, serve func(net.Conn)) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return &httptest.Server{Listener: ln, URL: "http://" + ln.Addr().String()}
}
