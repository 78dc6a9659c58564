package prometheus

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"

	"github.com/ramp-deploy/ramp/gates"
)

// rendered is one version's queries. byCode is the built-in request
// counter summed by status code, which gives the requests and the errors
// both, empty when the requests and errors queries are both custom;
// requests and errors are the custom queries, empty for the built-in.
type rendered struct {
	byCode, requests, errors, latency string
	// series describes the request series for messages.
	series string
}

// render renders one version's queries with vars.
func (s *Source) render(vars gates.QueryVars) (rendered, error) {
	var r rendered
	sel, err := gates.RenderQuery(s.tmpl.selector, vars)
	if err != nil {
		return r, err
	}
	r.series = fmt.Sprintf("%s{%s}", s.cfg.RequestsMetric, sel)
	if s.tmpl.requests == nil || s.tmpl.errors == nil {
		r.byCode = fmt.Sprintf("sum by (%s) (increase(%s[%s]))", s.cfg.CodeLabel, r.series, vars.Window)
	}
	r.latency = fmt.Sprintf("sum by (le) (increase(%s_bucket{%s}[%s]))", s.cfg.LatencyMetric, sel, vars.Window)
	for _, c := range []struct {
		t    *template.Template
		into *string
	}{{s.tmpl.requests, &r.requests}, {s.tmpl.errors, &r.errors}, {s.tmpl.latency, &r.latency}} {
		if c.t == nil {
			continue
		}
		if *c.into, err = gates.RenderQuery(c.t, vars); err != nil {
			return r, err
		}
	}
	if s.tmpl.requests != nil { // not the rendered text, which changes with each window
		r.series = "the prometheus-requests-query"
	}
	return r, nil
}

// measured is one version's traffic as Prometheus estimates it, before
// rounding. found is false when the requests query had no sample.
type measured struct {
	found            bool
	requests, errors float64
	latency          gates.Histogram
	series           string
}

// Observe measures both versions over q.Window with instant queries at its
// end over a range of its length: increase() of the request counter by
// status code (5xx are the errors) and of the latency histogram's buckets
// by le, or the custom queries.
//
// Counts. increase() is Prometheus's estimate, extrapolated to the range's
// edges from the samples inside it, so it is fractional. Each version's
// requests and errors are rounded to whole counts, and the rounding's
// remainder is carried to the version's next window: over a rollout the
// counts stay within one of the estimates' sum, and a candidate failing
// 0.4 requests a window shows 2 errors in 5 windows instead of none. The
// histogram's buckets are rounded window by window, kept cumulative.
//
// No data. A version's request series that answer nothing (no series
// matched, or they are stale) are not a zero:
//   - the candidate's, once they have answered in an earlier window, make
//     Observe fail with ErrNoData: the analysis records a failed read,
//     holds the step, and rolls back after error-threshold in a row;
//   - the candidate's, before they first answered, are a version that has
//     served nothing yet (the windows the metrics delay reads from before
//     the first shift): zero counts, with a warning naming the series;
//   - the stable's are zero counts: it may take no traffic (during a bake)
//     and scale to nothing, and zero only withholds evidence from the
//     judge, it never counts for the candidate.
//
// With the request series there, no 5xx series is zero errors, and no
// latency series is no latency measured (an empty histogram), while a
// custom errors query must answer (end it with `or vector(0)` if an empty
// result means none).
func (s *Source) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	o := gates.Observation{Window: q.Window}
	if err := checkQuery(q); err != nil {
		return o, fmt.Errorf("%s: %w", s.cfg, err)
	}
	vars := gates.QueryVars{Candidate: q.Candidate, Stable: q.Stable, Service: s.cfg.Service, Window: s.WindowVar(q.Window)}
	cand, err := s.measure(ctx, vars, q.Candidate, q.Window.End)
	if err != nil {
		return o, err
	}
	var stable measured
	if q.Stable != "" {
		if stable, err = s.measure(ctx, vars, q.Stable, q.Window.End); err != nil {
			return o, err
		}
	}
	if !cand.found {
		if s.wasSeen(q.Candidate) {
			return o, fmt.Errorf("%s: no data for the candidate %s in the %s to %s (%s): its series answered before, so they are "+
				"missing or stale now, not zero; is Prometheus still scraping it? (an interval shorter than two scrape intervals "+
				"holds too few samples for increase()): %w", s.cfg, q.Candidate, q.Window.Start.Format(time.TimeOnly),
				q.Window.End.Format(time.TimeOnly), cand.series, ErrNoData)
		}
		s.warn(fmt.Sprintf("%s: no data yet for the candidate %s (%s): counted as no traffic until its series first answer; "+
			"if this lasts while it takes traffic, check prometheus-selector and prometheus-requests-metric", s.cfg, q.Candidate, cand.series))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o.Candidate = s.counts(q.Candidate, cand)
	if q.Stable != "" {
		o.Stable = s.counts(q.Stable, stable)
	}
	return o, nil
}

// checkQuery reports a query Observe cannot answer.
func checkQuery(q gates.CountQuery) error {
	switch {
	case q.Candidate == "":
		return fmt.Errorf("no candidate revision to observe")
	case q.Stable == q.Candidate:
		return fmt.Errorf("the candidate and the stable are the same revision %q", q.Candidate)
	case q.Window.Start.IsZero() || !q.Window.End.After(q.Window.Start):
		return fmt.Errorf("empty window %s to %s", q.Window.Start.Format(time.RFC3339), q.Window.End.Format(time.RFC3339))
	}
	return nil
}

// wasSeen reports whether version's request series answered before.
func (s *Source) wasSeen(version string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[version]
}

// measure runs one version's queries at ts.
func (s *Source) measure(ctx context.Context, vars gates.QueryVars, version string, ts time.Time) (measured, error) {
	vars.Version = version
	if s.cfg.Instances != nil {
		ids, err := s.cfg.Instances(ctx, version)
		if err != nil {
			return measured{}, fmt.Errorf("%s: the instances of %s: %w", s.cfg, version, err)
		}
		vars.Instances = ids
	}
	r, err := s.render(vars)
	if err != nil {
		return measured{}, fmt.Errorf("%s: %w", s.cfg, err)
	}
	m := measured{series: r.series}
	var codes model.Vector
	var codesFound bool
	if r.byCode != "" {
		if codes, err = s.vector(ctx, r.byCode, ts); err != nil {
			return m, err
		}
		codesFound = len(codes) > 0
	}
	if r.requests != "" {
		if m.requests, m.found, err = s.Value(ctx, r.requests, gates.Window{End: ts}); err != nil {
			return m, err
		}
	} else {
		m.found = codesFound
		for _, c := range codes {
			m.requests += float64(c.Value)
		}
	}
	if !m.found {
		return m, nil
	}
	if m.errors, err = s.errorCount(ctx, r, codes, codesFound, ts); err != nil {
		return m, err
	}
	lat, err := s.vector(ctx, r.latency, ts)
	if err != nil {
		return m, err
	}
	if m.latency, err = histogram(lat); err != nil {
		return m, fmt.Errorf("%s: query %q: %w", s.cfg, r.latency, err)
	}
	return m, nil
}

// errorCount is a version's errors: the custom errors query's value, or
// the 5xx of the request counter by code. Codes starting with 5 count
// (500..599, or a "5xx" class); a series without the code label is a
// misconfiguration, not a success.
func (s *Source) errorCount(ctx context.Context, r rendered, codes model.Vector, codesFound bool, ts time.Time) (float64, error) {
	if r.errors != "" {
		v, ok, err := s.Value(ctx, r.errors, gates.Window{End: ts})
		switch {
		case err != nil:
			return 0, err
		case !ok:
			return 0, fmt.Errorf("%s: the errors query %q answered no data while the requests did (end it with `or vector(0)` "+
				"if an empty result means no errors): %w", s.cfg, r.errors, ErrNoData)
		}
		return v, nil
	}
	if !codesFound {
		return 0, fmt.Errorf("%s: query %q answered no data while the requests query did: %w", s.cfg, r.byCode, ErrNoData)
	}
	var errs float64
	label := model.LabelName(s.cfg.CodeLabel)
	for _, c := range codes {
		code, ok := c.Metric[label]
		if !ok || code == "" {
			return 0, fmt.Errorf("%s: the series of %s have no label %s: set prometheus-code-label to the label that holds the status code",
				s.cfg, r.series, label)
		}
		if strings.HasPrefix(string(code), "5") {
			errs += float64(c.Value)
		}
	}
	return errs, nil
}

// vector runs a query that should answer an instant vector.
func (s *Source) vector(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	v, err := s.query(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: query %q returned a %s, want an instant vector", s.cfg, q, v.Type())
	}
	return vec, nil
}

// counts turns a version's estimates into whole counts, carrying the
// rounding's remainder to its next window. The caller holds s.mu.
func (s *Source) counts(version string, m measured) gates.Counts {
	if m.found {
		s.seen[version] = true
	}
	c := gates.Counts{Requests: s.whole(version+"\x00requests", m.requests), Errors: s.whole(version+"\x00errors", m.errors),
		Latency: m.latency}
	if c.Errors > c.Requests { // both estimates, rounded apart
		s.carry[version+"\x00errors"] += float64(c.Errors - c.Requests)
		c.Errors = c.Requests
	}
	return c
}

// whole rounds the estimate v plus the remainder carried under key to the
// nearest whole count, never below zero, and carries the new remainder.
func (s *Source) whole(key string, v float64) int64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	t := s.carry[key] + v
	n := max(math.Round(t), 0)
	s.carry[key] = t - n
	return int64(n)
}
