package local

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseMetrics parses a text exposition with Prometheus's own parser.
func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	return fams
}

// scrapeHandler scrapes h's /metrics.
func scrapeHandler(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, metricsPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", rec.Code, rec.Body)
	}
	return parseMetrics(t, rec.Body)
}

// series returns the series of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range fams[name].GetMetric() {
		n := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				n++
			}
		}
		if n == len(want) {
			out = append(out, m)
		}
	}
	return out
}

// value returns the value of the one series of name with labels, or -1 if
// there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	ms := series(fams, name, labels)
	switch {
	case len(ms) == 0:
		return -1
	case len(ms) > 1:
		t.Fatalf("%s%v: %d series, want one", name, labels, len(ms))
	}
	switch fams[name].GetType() {
	case dto.MetricType_COUNTER:
		return ms[0].GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return ms[0].GetGauge().GetValue()
	}
	t.Fatalf("%s is a %v", name, fams[name].GetType())
	return 0
}

// checkHistogram checks rev's latency histogram: count requests in all,
// cumulative buckets at every bound of promBounds and +Inf holding all of
// them, and returns it.
func checkHistogram(t *testing.T, fams map[string]*dto.MetricFamily, rev string, count uint64) *dto.Histogram {
	t.Helper()
	const name = "ramp_local_request_duration_seconds"
	ms := series(fams, name, map[string]string{"revision": rev, "service": "svc"})
	if len(ms) != 1 || fams[name].GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("%s{revision=%q}: %d series of type %v, want one histogram", name, rev, len(ms), fams[name].GetType())
	}
	h := ms[0].GetHistogram()
	if h.GetSampleCount() != count {
		t.Errorf("%s{revision=%q} count = %d, want %d", name, rev, h.GetSampleCount(), count)
	}
	bs := h.GetBucket()
	if len(bs) != len(promBounds)+1 || !math.IsInf(bs[len(bs)-1].GetUpperBound(), 1) || bs[len(bs)-1].GetCumulativeCount() != count {
		t.Fatalf("%s{revision=%q}: buckets %v, want %d and +Inf holding all %d", name, rev, bs, len(promBounds), count)
	}
	var prev uint64
	for i, b := range bs[:len(promBounds)] {
		if b.GetUpperBound() != promBounds[i] || b.GetCumulativeCount() < prev || b.GetCumulativeCount() > count {
			t.Errorf("bucket %d = le %v: %d (previous %d, count %d), want le %v, cumulative", i, b.GetUpperBound(),
				b.GetCumulativeCount(), prev, count, promBounds[i])
		}
		prev = b.GetCumulativeCount()
	}
	return h
}

func TestPromBucketOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {-time.Second, 0}, {500 * time.Microsecond, 0}, {500*time.Microsecond + 1, 1},
		{time.Millisecond, 1}, {time.Second, 10}, {time.Minute, len(promBounds) - 1}, {time.Minute + 1, len(promBounds)},
	} {
		if got := promBucketOf(tt.d); got != tt.want {
			t.Errorf("promBucketOf(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
	for i, b := range promBounds[1:] {
		if b <= promBounds[i] {
			t.Errorf("promBounds not increasing at %d: %v", i+1, promBounds)
		}
	}
}

// TestPromHistogramOfKnownLatencies records requests of known latencies
// and checks what a scrape shows of them: Prometheus's le (at most the
// bound), the sum and the count, and the codes.
func TestPromHistogramOfKnownLatencies(t *testing.T) {
	t.Parallel()
	var s metricsStore
	m := s.fresh("r1")
	now := time.Now()
	for _, d := range []time.Duration{300 * time.Microsecond, time.Millisecond, 1200 * time.Microsecond, 70 * time.Second} {
		m.observe(now, d, 200, false)
	}
	m.observe(now, 2*time.Millisecond, 503, true)
	h, err := metricsHandler(newPromCollector("svc", &s, new(router)), nil)
	must(t, "metricsHandler", err)
	fams := scrapeHandler(t, h)
	hist := checkHistogram(t, fams, "r1", 5)
	want := map[float64]uint64{0.0005: 1, 0.001: 2, 0.0025: 4, 1: 4, 60: 4}
	for _, b := range hist.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v = %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	if got, want := hist.GetSampleSum(), 0.0003+0.001+0.0012+70+0.002; math.Abs(got-want) > 1e-9 {
		t.Errorf("sum = %v, want %v", got, want)
	}
	for code, want := range map[string]float64{"200": 4, "503": 1} {
		if got := value(t, fams, "ramp_local_requests_total", map[string]string{"revision": "r1", "code": code, "service": "svc"}); got != want {
			t.Errorf("requests_total{code=%s} = %v, want %v", code, got, want)
		}
	}
	if got := value(t, fams, "ramp_local_request_failures_total", map[string]string{"revision": "r1"}); got != 1 {
		t.Errorf("request_failures_total = %v, want 1", got)
	}
	if fams["go_goroutines"] == nil {
		t.Error("no go_goroutines: the Go collector is missing")
	}
}

// statusBackend answers every request with the status its path names
// (/503 answers 503); / answers 200.
func statusBackend(t *testing.T) *url.URL {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Path[1:])
		if err != nil {
			code = http.StatusOK
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	must(t, "parse the backend URL", err)
	return u
}

// TestPromThroughProxy sends requests through the proxy to two revisions
// and checks that a scrape counts them by revision and code, that the
// histograms hold every request, and that the split is exported.
func TestPromThroughProxy(t *testing.T) {
	t.Parallel()
	var (
		store metricsStore
		rt    router
	)
	stable := newBackend("v1", statusBackend(t), store.fresh("v1"), nil, 0)
	cand := newBackend("v2", statusBackend(t), store.fresh("v2"), nil, 0)
	t.Cleanup(stable.transport.CloseIdleConnections)
	t.Cleanup(cand.transport.CloseIdleConnections)
	proxy := &proxyHandler{router: &rt, service: "svc"}
	send := func(path string, n int) {
		for range n {
			proxy.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		}
	}
	rt.set(table{stable: one(stable), candidate: one(cand), weight: 0})
	send("/", 5)
	send("/404", 2)
	gone, cancel := context.WithCancel(t.Context())
	cancel() // a client that left before any answer
	proxy.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(gone))
	rt.set(table{stable: one(stable), candidate: one(cand), weight: 100})
	send("/", 3)
	send("/503", 4)
	rt.set(table{stable: one(stable), candidate: one(cand), weight: 30})

	h, err := metricsHandler(newPromCollector("svc", &store, &rt), nil)
	must(t, "metricsHandler", err)
	fams := scrapeHandler(t, h)
	for _, c := range []struct {
		rev, code string
		want      float64
	}{{"v1", "200", 5}, {"v1", "404", 2}, {"v1", "499", 1}, {"v1", "503", -1}, {"v2", "200", 3}, {"v2", "503", 4}, {"v2", "404", -1}} {
		if got := value(t, fams, "ramp_local_requests_total", map[string]string{"revision": c.rev, "code": c.code}); got != c.want {
			t.Errorf("ramp_local_requests_total{revision=%q,code=%q} = %v, want %v (-1: no series)", c.rev, c.code, got, c.want)
		}
	}
	for rev, want := range map[string]float64{"v1": 0, "v2": 4} {
		if got := value(t, fams, "ramp_local_request_failures_total", map[string]string{"revision": rev}); got != want {
			t.Errorf("ramp_local_request_failures_total{revision=%q} = %v, want %v", rev, got, want)
		}
	}
	checkHistogram(t, fams, "v1", 8)
	checkHistogram(t, fams, "v2", 7)
	for _, g := range []struct {
		rev, role string
		want      float64
	}{{"v1", "stable", 0.7}, {"v2", "candidate", 0.3}} {
		if got := value(t, fams, "ramp_local_traffic_weight_ratio", map[string]string{"revision": g.rev, "role": g.role}); math.Abs(got-g.want) > 1e-9 {
			t.Errorf("ramp_local_traffic_weight_ratio{revision=%q,role=%q} = %v, want %v", g.rev, g.role, got, g.want)
		}
		if got := value(t, fams, "ramp_local_requests_in_flight", map[string]string{"revision": g.rev}); got != 0 {
			t.Errorf("ramp_local_requests_in_flight{revision=%q} = %v, want 0", g.rev, got)
		}
	}
}

func TestTableShares(t *testing.T) {
	t.Parallel()
	a, b := &backend{rev: "a"}, &backend{rev: "b"}
	for _, tt := range []struct {
		t            table
		stable, cand float64
	}{
		{table{stable: one(a)}, 1, 0},
		{table{stable: one(a), candidate: one(b), weight: 0}, 1, 0},
		{table{stable: one(a), candidate: one(b), weight: 25}, 0.75, 0.25},
		{table{stable: one(a), candidate: one(b), weight: 100}, 0, 1},
		{table{candidate: one(b), weight: 10}, 0, 0.1},
		{table{}, 0, 0},
	} {
		s, c := tt.t.shares()
		if math.Abs(s-tt.stable) > 1e-9 || math.Abs(c-tt.cand) > 1e-9 {
			t.Errorf("%+v.shares() = %v, %v; want %v, %v", tt.t, s, c, tt.stable, tt.cand)
		}
	}
}
