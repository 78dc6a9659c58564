package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ramp-deploy/ramp/gates"
)

// ErrNoData is the error of a query whose answer holds no sample: no
// series matched, or the series are stale (no sample in the range, or
// marked stale once their target went away). It is never read as a zero.
var ErrNoData = errors.New("no data")

// DefaultDelay is the metrics delay the analysis applies to Prometheus when
// metrics-delay is not given: a sample is stored with the time its scrape
// began, so a window's last samples are in the server a scrape's duration
// after the window ends when Prometheus scrapes the service itself, but a
// managed or remote-write backend (Grafana Cloud, Google Managed
// Prometheus, Mimir, Thanos Receive) receives them in batches, sent every
// few seconds and retried on failure, and makes them queryable up to tens
// of seconds later. A minute covers that with room to spare; a Prometheus
// scraping the service directly can take metrics-delay 5s.
const DefaultDelay = time.Minute

// Source reads both versions' traffic, and the checks' values, from a
// Prometheus-compatible API. It is safe for concurrent use.
type Source struct {
	cfg  Config
	api  v1.API
	tmpl queries

	mu sync.Mutex
	// carry holds, per version and count, the part of the estimates
	// rounding left out so far (see Observe).
	carry map[string]float64
	// seen holds the versions whose request series answered once.
	seen map[string]bool
	// warned holds the warnings already passed to cfg.Warn.
	warned map[string]bool
}

var (
	_ gates.MetricSource  = (*Source)(nil)
	_ gates.QuerySource   = (*Source)(nil)
	_ gates.DelayedSource = (*Source)(nil)
	_ gates.AccessChecker = (*Source)(nil)
)

// New checks cfg and returns its source; it calls nothing.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h, _ := cfg.header()
	tmpl, _ := cfg.templates()
	client, err := api.NewClient(api.Config{
		Address:      strings.TrimSuffix(cfg.URL, "/"),
		RoundTripper: headerTransport{header: h, next: http.DefaultTransport},
	})
	if err != nil { // only a URL that does not parse, which Validate refused
		return nil, fmt.Errorf("%s: %w", cfg, err)
	}
	return &Source{cfg: cfg, api: v1.NewAPI(client), tmpl: tmpl,
		carry: map[string]float64{}, seen: map[string]bool{}, warned: map[string]bool{}}, nil
}

// headerTransport adds the configured headers (authorization included) to
// every request.
type headerTransport struct {
	header http.Header
	next   http.RoundTripper
}

// RoundTrip sends a copy of req with the headers added.
func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, vs := range t.header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return t.next.RoundTrip(req)
}

// MetricsDelay returns DefaultDelay.
func (s *Source) MetricsDelay() time.Duration { return DefaultDelay }

// WindowVar formats w's length as a PromQL duration: whole seconds, or
// milliseconds when the length is not whole seconds (at least 1ms).
func (s *Source) WindowVar(w gates.Window) string {
	d := w.Duration().Round(time.Millisecond)
	if d%time.Second == 0 && d > 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", max(d/time.Millisecond, 1))
}

// query runs one instant query at ts, passing its warnings on. Errors name
// the server's URL (never a credential) and the query.
func (s *Source) query(ctx context.Context, q string, ts time.Time) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	v, warnings, _, err := s.api.Query(ctx, q, ts, v1.WithTimeout(s.cfg.Timeout))
	for _, w := range warnings {
		s.warn(fmt.Sprintf("%s warns about %q: %s", s.cfg, q, w))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: query %q: %w", s.cfg, q, err)
	}
	return v, nil
}

// warn passes a warning on once.
func (s *Source) warn(msg string) {
	if s.cfg.Warn == nil {
		return
	}
	s.mu.Lock()
	first := !s.warned[msg]
	s.warned[msg] = true
	s.mu.Unlock()
	if first {
		s.cfg.Warn(msg)
	}
}

// Value runs query at w's end and returns its one value: ok is false when
// the answer holds no sample or its value is NaN (a ratio of two zeros),
// and more than one series is an error naming the query.
func (s *Source) Value(ctx context.Context, query string, w gates.Window) (float64, bool, error) {
	v, err := s.query(ctx, query, w.End)
	if err != nil {
		return 0, false, err
	}
	f, ok, err := single(v)
	if err != nil {
		return 0, false, fmt.Errorf("%s: query %q: %w", s.cfg, query, err)
	}
	return f, ok, nil
}

// single reads an answer that should be one value.
func single(v model.Value) (float64, bool, error) {
	var f float64
	switch r := v.(type) {
	case *model.Scalar:
		f = float64(r.Value)
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, false, nil
		case 1:
			f = float64(r[0].Value)
		default:
			return 0, false, fmt.Errorf("returned %d series, want one value (aggregate it, e.g. with sum)", len(r))
		}
	default:
		return 0, false, fmt.Errorf("returned a %s, want one value", v.Type())
	}
	if math.IsNaN(f) {
		return 0, false, nil
	}
	return f, true, nil
}

// CheckMetricsAccess proves, for `ramp plan`, that the API answers with
// these credentials and that the queries parse: it runs the request and
// latency queries for a version no series has, over the last minute. The
// built-in queries also need the request counter to exist at all.
func (s *Source) CheckMetricsAccess(ctx context.Context) error {
	now := time.Now()
	w := gates.Window{Start: now.Add(-time.Minute), End: now}
	vars := gates.QueryVars{Version: "ramp-plan", Candidate: "ramp-plan", Service: s.cfg.Service, Window: s.WindowVar(w)}
	qs, err := s.render(vars)
	if err != nil {
		return err
	}
	for _, q := range []string{qs.byCode, qs.requests, qs.errors, qs.latency} {
		if q == "" {
			continue
		}
		if _, err := s.query(ctx, q, now); err != nil {
			return err
		}
	}
	if s.tmpl.requests != nil && s.tmpl.errors != nil {
		return nil
	}
	q := fmt.Sprintf("count(%s)", s.cfg.RequestsMetric)
	v, err := s.query(ctx, q, now)
	if err != nil {
		return err
	}
	if _, ok, _ := single(v); !ok {
		return fmt.Errorf("%s has no series named %s (prometheus-requests-metric): %w", s.cfg, s.cfg.RequestsMetric, ErrNoData)
	}
	return nil
}
