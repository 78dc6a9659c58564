package local

import (
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
)

func TestTableChooseDistribution(t *testing.T) {
	t.Parallel()
	const picks = 100_000
	stable, cand := &backend{rev: "stable"}, &backend{rev: "cand"}
	tests := []struct {
		name    string
		t       table
		want    map[string]float64 // share of picks, "" for none
		exactly bool
	}{
		{name: "weight 0", t: table{stable: one(stable), candidate: one(cand), weight: 0}, want: map[string]float64{"stable": 1}},
		{name: "weight 100", t: table{stable: one(stable), candidate: one(cand), weight: 100}, want: map[string]float64{"cand": 1}},
		{name: "weight 1", t: table{stable: one(stable), candidate: one(cand), weight: 1}, want: map[string]float64{"stable": 0.99, "cand": 0.01}},
		{name: "weight 10", t: table{stable: one(stable), candidate: one(cand), weight: 10}, want: map[string]float64{"stable": 0.9, "cand": 0.1}},
		{name: "weight 50", t: table{stable: one(stable), candidate: one(cand), weight: 50}, want: map[string]float64{"stable": 0.5, "cand": 0.5}},
		{name: "weight 75", t: table{stable: one(stable), candidate: one(cand), weight: 75}, want: map[string]float64{"stable": 0.25, "cand": 0.75}},
		{name: "no candidate", t: table{stable: one(stable), weight: 30}, want: map[string]float64{"stable": 1}},
		{name: "first deploy at 0", t: table{candidate: one(cand)}, want: map[string]float64{"": 1}},
		{name: "first deploy at 20", t: table{candidate: one(cand), weight: 20}, want: map[string]float64{"": 0.8, "cand": 0.2}},
		{name: "empty", t: table{}, want: map[string]float64{"": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]int{}
			for range picks {
				if b := tt.t.choose(); b != nil {
					got[b.rev]++
				} else {
					got[""]++
				}
			}
			for name, n := range got {
				if _, ok := tt.want[name]; !ok {
					t.Errorf("picked %q %d times, want never", name, n)
				}
			}
			for name, share := range tt.want {
				// 0.6 points is more than 5 standard deviations at 100k picks.
				if gotShare := float64(got[name]) / picks; math.Abs(gotShare-share) > 0.006 {
					t.Errorf("picked %q %.2f%% of the time, want %.2f%%", name, 100*gotShare, 100*share)
				}
			}
		})
	}
}

// TestRouterDrain checks the in-flight accounting a drain relies on: a
// retired backend is drained only once its last picked request is released,
// and a swapped table never picks it again.
func TestRouterDrain(t *testing.T) {
	t.Parallel()
	old, cur := &backend{rev: "old", drained: make(chan struct{})}, &backend{rev: "cur", drained: make(chan struct{})}
	var r router
	r.set(table{stable: one(old)})
	picked := []*backend{r.pick(), r.pick()}
	r.set(table{stable: one(cur)})
	drained := old.retire()
	for range 100 {
		if b := r.pick(); b != cur {
			t.Fatalf("pick() after the swap = %v, want cur", b.rev)
		}
		cur.release()
	}
	picked[0].release()
	select {
	case <-drained:
		t.Fatal("drained with a request still in flight")
	default:
	}
	picked[1].release()
	select {
	case <-drained:
	default:
		t.Fatal("not drained after the last request ended")
	}
	if got := cur.inflight.Load(); got != 0 {
		t.Errorf("cur in flight = %d, want 0", got)
	}
	idle := &backend{drained: make(chan struct{})}
	select {
	case <-idle.retire():
	default:
		t.Fatal("an idle backend is not drained at once")
	}
}

// TestProxyErrors checks the proxy's own answers: 503 with no revision
// taking traffic, 502 (counted as a failure) for a backend that is gone.
func TestProxyErrors(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	target, _ := url.Parse(gone.URL)
	gone.Close()
	m := new(revMetrics)
	b := newBackend("gone", target, m, nil, 0)
	var r router
	h := &proxyHandler{router: &r, service: "svc"}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("with no revision: status %d, want 503", rec.Code)
	}
	r.set(table{stable: one(b)})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusBadGateway {
		t.Errorf("with the backend gone: status %d, want 502", rec.Code)
	}
	now := time.Now()
	if c := m.counts(gates.Window{Start: now.Add(-10 * time.Second), End: now.Add(time.Second)}); c.Requests != 1 || c.Errors != 1 {
		t.Errorf("metrics = %d requests, %d errors; want 1 failed request", c.Requests, c.Errors)
	}
	if got := b.inflight.Load(); got != 0 {
		t.Errorf("in flight after the request = %d, want 0", got)
	}
}

// TestResponseTimeout: a revision that has not started answering after
// its timeout is answered 504 and counted as failed; without a timeout the
// proxy waits.
func TestResponseTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	target, _ := url.Parse(slow.URL)
	m := new(revMetrics)
	var r router
	r.set(table{stable: one(newBackend("slow", target, m, nil, 100*time.Millisecond))})
	rec := httptest.NewRecorder()
	(&proxyHandler{router: &r, service: "svc"}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", rec.Code)
	}
	now := time.Now()
	if c := m.counts(gates.Window{Start: now.Add(-time.Minute), End: now.Add(time.Second)}); c.Requests != 1 || c.Errors != 1 {
		t.Errorf("metrics = %d requests, %d errors; want 1 failed request", c.Requests, c.Errors)
	}
}
