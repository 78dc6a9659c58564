package datadog_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates/datadog"
	fake "github.com/ramp-deploy/ramp/internal/fakes/datadog"
	"github.com/ramp-deploy/ramp/internal/pipenet"
)

// The keys the fake accepts.
const (
	apiKey = "test-api-key-0123456789"
	appKey = "test-app-key-9876543210"
)

// hosts is a transport that records the host each request was for and
// sends it, as plain HTTP, to the in-memory fake: the real client still
// builds https://api.<site>/... URLs.
type hosts struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (h *hosts) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
	h.mu.Unlock()
	r = r.Clone(r.Context())
	r.URL.Scheme = "http"
	return h.next.RoundTrip(r)
}

func (h *hosts) Seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// serve starts f on an in-memory server; it must be called inside a
// synctest bubble. It returns a Config reaching it through the real
// client, for service shop, and the transport's record.
func serve(t *testing.T, f *fake.Fake) (datadog.Config, *hosts) {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	_ = srv.Listener.Close()
	l := pipenet.Listen("datadog.test")
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	h := &hosts{next: tr}
	return datadog.Config{APIKey: apiKey, AppKey: appKey, Service: "shop", Transport: h}, h
}

// newSource is datadog.New that fails the test on error.
func newSource(t *testing.T, cfg datadog.Config) *datadog.Source {
	t.Helper()
	s, err := datadog.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// traffic feeds f, for each minute from..to (exclusive, in minutes after
// t0), one APM stats point 5 s into the minute: hits requests of version,
// errs of them failed. APM sends the errors count even when it is zero.
func traffic(f *fake.Fake, t0 time.Time, version string, from, to int, hits, errs float64) {
	tags := []string{"service:shop", "env:prod", "version:" + version}
	for m := from; m < to; m++ {
		at := t0.Add(time.Duration(m)*time.Minute + 5*time.Second)
		f.Add("trace.http.request.hits", tags, at, hits)
		f.Add("trace.http.request.errors", tags, at, errs)
	}
}
