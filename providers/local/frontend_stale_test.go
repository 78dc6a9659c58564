package local

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFrontendRevisionClosedIdleConnections: a revision that closes idle
// kept-alive connections quickly (as gunicorn, Node.js and uvicorn do)
// answers every request after a quiet spell, whatever its method and body
// (none, short, too long to send twice), and no error is counted against
// it. fasthttp alone wrote them to the closed connections: 502s.
func TestFrontendRevisionClosedIdleConnections(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond) // long enough for the warm-up to open several connections
		fmt.Fprintf(w, "%s %d", r.Method, n)
	}))
	srv.Config.IdleTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	m := new(revMetrics)
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, m, nil, 0))})
	base, _ := serveFrontend(t, &rt, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	send := func(method string, size int) error {
		req, _ := http.NewRequest(method, base+"/", bytes.NewReader(make([]byte, size)))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%s %d", method, size); resp.StatusCode != http.StatusOK || string(b) != want {
			return fmt.Errorf("%d %q, want 200 %q", resp.StatusCode, b, want)
		}
		return nil
	}
	var wg sync.WaitGroup
	for range 8 { // warm: several connections to the revision
		wg.Go(func() {
			if err := send(http.MethodGet, 0); err != nil {
				t.Errorf("warm-up: %v", err)
			}
		})
	}
	wg.Wait()
	for round := range 2 {
		time.Sleep(time.Second) // the revision closes them all
		for _, c := range []struct {
			method string
			size   int
		}{{http.MethodGet, 0}, {http.MethodPost, 10}, {http.MethodPut, 5000}, {http.MethodPost, 30 << 10}, {http.MethodPost, 200 << 10}, {http.MethodDelete, 0}} {
			if err := send(c.method, c.size); err != nil {
				t.Errorf("round %d, %s of %d bytes after a quiet second: %v", round, c.method, c.size, err)
			}
		}
	}
	if c := lastMinute(m); c.Errors != 0 {
		t.Errorf("%d errors counted against the revision, want none", c.Errors)
	}
}

// TestFrontendClientAbortsUpload: a client that breaks off its upload is
// not the revision's failure: no 502 logged, counted as 499, not failed.
func TestFrontendClientAbortsUpload(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	var logged syncBuffer
	m := new(revMetrics)
	var rt router
	be := backendAt(t, "v1", srv, m, log.New(&logged, "", 0), 0)
	rt.set(table{stable: one(be)})
	base, _ := serveFrontend(t, &rt, nil)
	for _, size := range []int{1000, 40 << 10, 1 << 20} { // read whole, read whole after the first 8 KiB, streamed
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
		c.Write(make([]byte, size/2))
		time.Sleep(200 * time.Millisecond)
		c.Close()
	}
	// One the proxy had not read whole yet never reached the revision.
	waitFor(t, 30*time.Second, "the uploads to end", func() bool { return be.inflight.Load() == 0 && lastMinute(m).Requests >= 2 })
	if c := lastMinute(m); c.Errors != 0 {
		t.Errorf("%d of %d uploads the client broke off counted as the revision's errors", c.Errors, c.Requests)
	}
	if strings.Contains(logged.String(), "502") {
		t.Errorf("a 502 logged for a client that left: %s", logged.String())
	}
}

// TestFrontendEarlyAnswerToALongUpload: a version that refuses a long
// upload before reading it (413) and closes is heard: the 413 is what the
// proxy answers and counts, not failed, and uploads before and after go
// through. fasthttp, which writes the whole request before reading, met a
// closed connection: a 502, counted against the version. (The client may
// still see its connection reset before it reads the 413: the proxy, as
// net/http does, reads at most a little of an upload nobody wants.)
func TestFrontendEarlyAnswerToALongUpload(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 1<<20 {
			w.Header().Set("Connection", "close")
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "got %d", n)
	}))
	defer srv.Close()
	m := new(revMetrics)
	var logged syncBuffer
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, m, log.New(&logged, "", 0), 0))})
	base, _ := serveFrontend(t, &rt, nil)
	post := func(size int) (int, string, error) {
		resp, err := http.Post(base+"/upload", "application/octet-stream", bytes.NewReader(make([]byte, size)))
		if err != nil {
			return 0, "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), nil
	}
	for round := range 3 {
		if code, body, err := post(512 << 10); err != nil || code != http.StatusOK || body != "got 524288" {
			t.Errorf("round %d: upload of 512 KiB: %d %q %v, want 200 \"got 524288\"", round, code, body, err)
		}
		if code, body, err := post(20 << 20); err == nil && (code != http.StatusRequestEntityTooLarge || body != "too large\n") {
			t.Errorf("round %d: upload of 20 MiB: %d %q, want the version's 413", round, code, body)
		}
	}
	waitFor(t, 30*time.Second, "the uploads to be counted", func() bool { return lastMinute(m).Requests == 6 })
	if c := lastMinute(m); c.Errors != 0 || strings.Contains(logged.String(), "502") {
		t.Errorf("%d of %d uploads counted as failed; log: %s", c.Errors, c.Requests, logged.String())
	}
}

// TestFrontendRevisionAnswers408OnIdle: a revision that answers "408
// Request Timeout" on an idle kept-alive connection before closing it
// (as some servers do) does not have that 408 taken for the answer to the
// next request sent there.
func TestFrontendRevisionAnswers408OnIdle(t *testing.T) {
	t.Parallel()
	srv := rawRevision(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			req, err := http.ReadRequest(br)
			if err != nil {
				io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
				time.Sleep(2 * time.Second) // closes only later
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	m := new(revMetrics)
	var rt router
	rt.set(table{stable: one(backendAt(t, "v1", srv, m, nil, 0))})
	base, _ := serveFrontend(t, &rt, nil)
	for i := range 3 {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "ok" {
			t.Errorf("request %d after a quiet spell: %d %q, want 200 \"ok\"", i, resp.StatusCode, b)
		}
		time.Sleep(time.Second) // the revision answers 408 on the idle connection
	}
}
