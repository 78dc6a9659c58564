package prometheus

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
)

var (
	start  = time.Unix(1700000000, 0)
	window = gates.Window{Start: start, End: start.Add(30 * time.Second)}
)

// builtIn returns the built-in queries of version over a 30s window.
func builtIn(version string) (byCode, latency string) {
	return `sum by (code) (increase(http_requests_total{version="` + version + `"}[30s]))`,
		`sum by (le) (increase(http_request_duration_seconds_bucket{version="` + version + `"}[30s]))`
}

func TestObserveBuiltInQueries(t *testing.T) {
	t.Parallel()
	cCodes, cLat := builtIn("v2")
	sCodes, sLat := builtIn("v1")
	f := newFakeAPI(t, map[string]answer{
		cCodes: {vector: codes("code", "200", "90.4", "503", "6.7", "500", "2.8")},
		cLat:   {vector: buckets("0.005", "40.2", "0.01", "39.6", "0.25", "99.7", "+Inf", "100.3")},
		sCodes: {vector: codes("code", "200", "900.2", "404", "10")},
		sLat:   {vector: buckets("0.005", "500", "0.01", "800", "0.25", "905", "+Inf", "910.2")},
	})
	src := f.source(t, Config{}, nil)
	o, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Stable: "v1", Window: window})
	if err != nil {
		t.Fatal(err)
	}
	wantCand := gates.Counts{Requests: 100, Errors: 10, Latency: gates.Histogram{Bounds: []float64{5, 10, 250}, Counts: []int64{40, 40, 100}, Total: 100}}
	wantStable := gates.Counts{Requests: 910, Errors: 0, Latency: gates.Histogram{Bounds: []float64{5, 10, 250}, Counts: []int64{500, 800, 905}, Total: 910}}
	if !sameCounts(o.Candidate, wantCand) || !sameCounts(o.Stable, wantStable) {
		t.Errorf("observed\n candidate %+v\n stable    %+v\nwant\n candidate %+v\n stable    %+v", o.Candidate, o.Stable, wantCand, wantStable)
	}
	for _, r := range f.requests() {
		if r.time != "1700000030" {
			t.Errorf("query %q evaluated at %s, want the window's end 1700000030", r.query, r.time)
		}
	}
	if got, want := f.queries(), []string{cCodes, cLat, sCodes, sLat}; !slices.Equal(got, want) {
		t.Errorf("queries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sameCounts(a, b gates.Counts) bool {
	return a.Requests == b.Requests && a.Errors == b.Errors && slices.Equal(a.Latency.Bounds, b.Latency.Bounds) &&
		slices.Equal(a.Latency.Counts, b.Latency.Counts) && a.Latency.Total == b.Latency.Total
}

func TestObserveCustomQueriesAndSelector(t *testing.T) {
	t.Parallel()
	cfg := Config{Selector: `revision="{{.Version}}",service="{{.Service}}"`, Service: "web",
		RequestsMetric: "ramp_local_requests_total", CodeLabel: "status", LatencyMetric: "ramp_local_request_duration_seconds",
		ErrorsQuery: `sum(increase(errors_total{rev="{{.Version}}",other="{{.Stable}}"}[{{.Window}}])) or vector(0)`}
	codesQ := `sum by (status) (increase(ramp_local_requests_total{revision="v2",service="web"}[30s]))`
	f := newFakeAPI(t, map[string]answer{
		codesQ: {vector: codes("status", "200", "50", "500", "50")},
		`sum(increase(errors_total{rev="v2",other="v1"}[30s])) or vector(0)`: {vector: []series{{value: "7"}}},
	})
	o, err := f.source(t, cfg, nil).Observe(t.Context(), gates.CountQuery{Candidate: "v2", Stable: "v1", Window: window})
	if err != nil {
		t.Fatal(err)
	}
	if o.Candidate.Requests != 100 || o.Candidate.Errors != 7 || !o.Candidate.Latency.Empty() {
		t.Errorf("candidate = %+v, want 100 requests, the custom query's 7 errors, no latency", o.Candidate)
	}
	if !contains(f.queries(), `sum by (le) (increase(ramp_local_request_duration_seconds_bucket{revision="v2",service="web"}[30s]))`) {
		t.Errorf("no latency query of the configured histogram among %q", f.queries())
	}
}

// TestObserveNoData walks the candidate from no series (before it took
// traffic: zero, with a warning) to data, then to no series again (an
// error, never a zero); the stable without series is zero.
func TestObserveNoData(t *testing.T) {
	t.Parallel()
	cCodes, _ := builtIn("v2")
	answers := map[string]answer{}
	f := newFakeAPI(t, answers)
	var warns []string
	src := f.source(t, Config{}, &warns)
	q := gates.CountQuery{Candidate: "v2", Stable: "v1", Window: window}
	o, err := src.Observe(t.Context(), q)
	if err != nil || o.Candidate.Requests != 0 || o.Stable.Requests != 0 {
		t.Fatalf("before any series: %+v, %v; want zero counts", o, err)
	}
	if !contains(warns, "no data yet for the candidate v2") || !contains(warns, `http_requests_total{version="v2"}`) {
		t.Errorf("no warning naming the candidate's series: %q", warns)
	}
	if got := len(f.queries()); got != 2 {
		t.Errorf("%d queries, want 2 (no errors or latency query without requests): %q", got, f.queries())
	}
	f.mu.Lock()
	answers[cCodes] = answer{vector: codes("code", "200", "12")}
	f.mu.Unlock()
	if o, err = src.Observe(t.Context(), q); err != nil || o.Candidate.Requests != 12 {
		t.Fatalf("with series: %+v, %v; want 12 requests", o.Candidate, err)
	}
	f.mu.Lock()
	delete(answers, cCodes)
	f.mu.Unlock()
	_, err = src.Observe(t.Context(), q)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "missing or stale") {
		t.Errorf("series gone: error %v, want ErrNoData saying they are missing or stale", err)
	}
}

func TestObserveFailures(t *testing.T) {
	t.Parallel()
	cCodes, cLat := builtIn("v2")
	cases := []struct {
		name    string
		cfg     Config
		answers map[string]answer
		want    string
		noData  bool
	}{
		{"no code label", Config{}, map[string]answer{cCodes: {vector: []series{{value: "10"}}}},
			"have no label code: set prometheus-code-label", false},
		{"custom errors query empty", Config{ErrorsQuery: `sum(x{v="{{.Version}}"})`}, map[string]answer{cCodes: {vector: codes("code", "200", "5")}},
			"`or vector(0)`", true},
		{"histogram without +Inf", Config{}, map[string]answer{cCodes: {vector: codes("code", "200", "5")}, cLat: {vector: buckets("0.1", "5")}},
			`no le="+Inf" bucket`, false},
		{"server error", Config{}, map[string]answer{cCodes: {status: 422, body: `{"status":"error","errorType":"bad_data","error":"parse error"}`}},
			"bad_data: parse error", false},
		{"custom requests query of two series", Config{RequestsQuery: `rate(x{v="{{.Version}}"}[{{.Window}}])`},
			map[string]answer{`rate(x{v="v2"}[30s])`: {vector: []series{{value: "1", labels: map[string]string{"a": "1"}}, {value: "2", labels: map[string]string{"a": "2"}}}}},
			"returned 2 series", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, c.answers)
			_, err := f.source(t, c.cfg, nil).Observe(t.Context(), gates.CountQuery{Candidate: "v2", Window: window})
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrNoData) != c.noData {
				t.Errorf("error %v, want one saying %q (ErrNoData: %v)", err, c.want, c.noData)
			}
			if err != nil && !strings.Contains(err.Error(), f.srv.URL) {
				t.Errorf("error %v does not name the server %s", err, f.srv.URL)
			}
		})
	}
}

// TestObserveCarriesRounding checks that increase()'s fractions add up:
// 0.4 errors a window over five windows are 2 errors, not 0.
func TestObserveCarriesRounding(t *testing.T) {
	t.Parallel()
	cCodes, _ := builtIn("v2")
	f := newFakeAPI(t, map[string]answer{cCodes: {vector: codes("code", "200", "20.2", "500", "0.4")}})
	src := f.source(t, Config{}, nil)
	var requests, errs int64
	for range 5 {
		o, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Window: window})
		if err != nil {
			t.Fatal(err)
		}
		requests += o.Candidate.Requests
		errs += o.Candidate.Errors
		if o.Candidate.Errors > o.Candidate.Requests {
			t.Errorf("window with %d errors of %d requests", o.Candidate.Errors, o.Candidate.Requests)
		}
	}
	if requests != 103 || errs != 2 {
		t.Errorf("five windows counted %d requests and %d errors, want 103 (5 × 20.6) and 2 (5 × 0.4)", requests, errs)
	}
}

func TestObserveRefusesBadQueries(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, nil)
	src := f.source(t, Config{}, nil)
	for _, q := range []gates.CountQuery{
		{Window: window},
		{Candidate: "v1", Stable: "v1", Window: window},
		{Candidate: "v2", Window: gates.Window{Start: window.End, End: window.End}},
	} {
		if _, err := src.Observe(t.Context(), q); err == nil {
			t.Errorf("Observe(%+v) did not fail", q)
		}
	}
	if n := len(f.queries()); n != 0 {
		t.Errorf("bad queries sent %d requests", n)
	}
}
