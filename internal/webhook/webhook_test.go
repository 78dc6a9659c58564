package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/internal/pipenet"
	"github.com/ramp-deploy/ramp/internal/webhook"
)

// server starts handler on an in-memory server inside a synctest bubble;
// its URL is http://hooks.test.
func server(t *testing.T, handler http.Handler) *http.Client {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	_ = srv.Listener.Close() // the loopback listener is not used
	l := pipenet.Listen("hooks.test")
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &http.Client{Transport: tr}
}

// script answers the nth request (from 1) with statuses[n-1], the last
// one again past the end; 0 hangs until the client gives up.
type script struct {
	statuses []int
	mu       sync.Mutex
	n        int
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.ReadAll(r.Body) // a hung handler then hears of the client leaving
	s.mu.Lock()
	s.n++
	status := s.statuses[min(s.n, len(s.statuses))-1]
	s.mu.Unlock()
	if status == 0 {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte("answer body"))
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func TestSendRetriesOnlyWhatIsWorthRetrying(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		statuses []int
		retries  int
		ok       bool
		attempts int
		status   int
	}{
		{"ok at once", []int{200}, 2, true, 1, 200},
		{"503 then ok", []int{503, 503, 204}, 2, true, 3, 204},
		{"5xx until the retries run out", []int{500}, 2, false, 3, 500},
		{"408 is retried", []int{408, 200}, 1, true, 2, 200},
		{"429 is retried", []int{429, 200}, 1, true, 2, 200},
		{"400 is final", []int{400, 200}, 3, false, 1, 400},
		{"403 is final", []int{403, 200}, 3, false, 1, 403},
		{"a timeout is retried", []int{0, 200}, 1, true, 2, 200},
		{"no retries", []int{503, 200}, 0, false, 1, 503},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := &script{statuses: c.statuses}
				s := webhook.Sender{Client: server(t, h), Timeout: time.Second, Retries: c.retries}
				start := time.Now()
				res := s.Send(t.Context(), "http://hooks.test/x", []byte(`{}`))
				if res.OK() != c.ok || res.Attempts != c.attempts || res.Status != c.status || h.count() != c.attempts {
					t.Errorf("ok %v attempts %d (server saw %d) status %d (%v), want ok %v attempts %d status %d",
						res.OK(), res.Attempts, h.count(), res.Status, res.Err, c.ok, c.attempts, c.status)
				}
				if took := time.Since(start); took > s.Bound() {
					t.Errorf("took %s, more than the bound %s", took, s.Bound())
				}
				if !c.ok && !strings.Contains(res.Err.Error(), "attempts") {
					t.Errorf("error %q does not count the attempts", res.Err)
				}
			})
		})
	}
}

func TestHungReceiverIsBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := &script{statuses: []int{0}}
		s := webhook.Sender{Client: server(t, h), Timeout: 3 * time.Second, Retries: 3, Backoff: time.Second, MaxBackoff: 2 * time.Second}
		start := time.Now()
		res := s.Send(t.Context(), "http://hooks.test/hang", []byte(`{}`))
		took := time.Since(start)
		// 4 attempts of 3s and waits of at most 1s, 2s and 2s.
		if bound := s.Bound(); bound != 17*time.Second || took > bound || took < 4*3*time.Second {
			t.Errorf("took %s, want between 12s and the bound %s (17s)", took, bound)
		}
		if res.OK() || res.Attempts != 4 || res.Status != 0 || !strings.Contains(res.Err.Error(), "no answer within 3s") {
			t.Errorf("res = %+v", res)
		}
	})
}

func TestSendStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := &script{statuses: []int{0}}
		s := webhook.Sender{Client: server(t, h), Timeout: time.Minute, Retries: 5}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		res := s.Send(ctx, "http://hooks.test/hang", []byte(`{}`))
		if took := time.Since(start); took != 5*time.Second || res.Attempts != 1 || res.OK() {
			t.Errorf("took %s with %d attempts (%v), want 5s and 1", took, res.Attempts, res.Err)
		}
	})
}

func TestErrorsNeverShowThePath(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := &script{statuses: []int{500}}
		s := webhook.Sender{Client: server(t, h), Timeout: time.Second}
		res := s.Send(t.Context(), "http://hooks.test/services/T000/B000/XXXXSECRET", []byte(`{}`))
		if res.OK() || strings.Contains(res.Err.Error(), "XXXXSECRET") || !strings.Contains(res.Err.Error(), "http://hooks.test/…") {
			t.Errorf("error %q", res.Err)
		}
	})
	// An endpoint that cannot be reached: the transport's error names the URL.
	res := webhook.Sender{Timeout: time.Second}.Send(t.Context(), "http://127.0.0.1:1/services/XXXXSECRET", []byte(`{}`))
	if res.OK() || strings.Contains(res.Err.Error(), "XXXXSECRET") {
		t.Errorf("error %q", res.Err)
	}
}

func TestSignIsHMACOfTimestampDotBody(t *testing.T) {
	t.Parallel()
	cases := []struct{ secret, ts, body, want string }{
		// printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
		{"s3cret", "1700000000", `{"a":1}`, "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"},
	}
	for _, c := range cases {
		if got := webhook.Sign(c.secret, c.ts, []byte(c.body)); got != c.want {
			t.Errorf("Sign = %s, want %s", got, c.want)
		}
	}
}
