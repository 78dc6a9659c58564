package prometheus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// series is one sample of an answer: its labels and value.
type series struct {
	labels map[string]string
	value  string
}

// answer is what the fake answers one query: a vector of series (empty
// when nil), a scalar when scalar is set, warnings, or an HTTP status and
// body.
type answer struct {
	vector   []series
	scalar   string
	warnings []string
	status   int
	body     string
}

// fakeAPI is a Prometheus HTTP API on loopback answering /api/v1/query
// from answers (by the query's exact text; anything else is an empty
// vector), recording each request's query, time and headers.
type fakeAPI struct {
	srv     *httptest.Server
	answers map[string]answer

	mu   sync.Mutex
	seen []request
}

// request is one query the fake received.
type request struct {
	query, time string
	header      http.Header
}

func newFakeAPI(t *testing.T, answers map[string]answer) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" || r.ParseForm() != nil {
		http.NotFound(w, r)
		return
	}
	q := r.Form.Get("query")
	f.mu.Lock()
	f.seen = append(f.seen, request{query: q, time: r.Form.Get("time"), header: r.Header.Clone()})
	f.mu.Unlock()
	a := f.answers[q]
	if a.status != 0 {
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
		return
	}
	data := map[string]any{"resultType": "vector", "result": vectorJSON(a.vector)}
	if a.scalar != "" {
		data = map[string]any{"resultType": "scalar", "result": []any{1700000000, a.scalar}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data, "warnings": a.warnings})
}

func vectorJSON(ss []series) []any {
	out := []any{}
	for _, s := range ss {
		labels := s.labels
		if labels == nil {
			labels = map[string]string{}
		}
		out = append(out, map[string]any{"metric": labels, "value": []any{1700000000, s.value}})
	}
	return out
}

// requests returns the requests received so far.
func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}

// queries returns the query texts received so far.
func (f *fakeAPI) queries() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.query)
	}
	return out
}

// codes is a vector of request counts by code label.
func codes(label string, kv ...string) []series {
	var out []series
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, series{labels: map[string]string{label: kv[i]}, value: kv[i+1]})
	}
	return out
}

// buckets is a vector of bucket counts by le.
func buckets(kv ...string) []series {
	return codes("le", kv...)
}

// source returns a source for the fake with cfg (URL set), failing the
// test on an invalid configuration; warnings are collected in warns.
func (f *fakeAPI) source(t *testing.T, cfg Config, warns *[]string) *Source {
	t.Helper()
	cfg.URL = f.srv.URL
	var mu sync.Mutex
	cfg.Warn = func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if warns != nil {
			*warns = append(*warns, msg)
		}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// contains reports whether some of ss contains sub.
func contains(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
