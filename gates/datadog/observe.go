package datadog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"text/template"
	"time"

	"github.com/ramp-deploy/ramp/gates"
)

// bucket is the length of the points Observe asks for: a minute, as
// Cloud Run's; Datadog aligns rollup buckets to the Unix epoch, so every
// point covers one whole minute and ends on one.
const bucket = time.Minute

// Observe reads each version's requests and errors over q.Window in one
// timeseries call holding the requests and errors queries rendered for
// the candidate and, when q names one, for the stable.
//
// The window rule makes consecutive windows exact, as Cloud Run's
// Observe does: the call asks for one-minute buckets over the minutes that
// end inside the window (after Window.Start, up to and including
// Window.End), and each bucket counts in the window its end falls in. A
// window that holds no minute's end makes no call; the next one counts
// that minute. Datadog may widen the interval past a limit of points:
// Observe then fails rather than count a bucket in two windows.
//
// No data is not zero errors: a version whose requests query found
// requests while its errors query found no series at all (a misspelled
// metric or tag, or a metric that exists only while errors happen) makes
// Observe fail, naming the query, rather than report no errors. A version
// whose requests query finds no series served nothing. The source
// measures no latency: Datadog's latency distributions give percentiles,
// not the cumulative histogram the judge compares, so Latency is empty.
func (s *Source) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	o := gates.Observation{Window: q.Window}
	if err := checkQuery(q); err != nil {
		return o, s.fail("observe", err)
	}
	first, last, ok := minutesOf(q.Window)
	if !ok {
		return o, nil
	}
	versions := []string{q.Candidate}
	if q.Stable != "" {
		versions = append(versions, q.Stable)
	}
	var queries []string
	for _, v := range versions {
		vars := gates.QueryVars{Version: v, Candidate: q.Candidate, Stable: q.Stable, Service: s.cfg.Service, Window: s.WindowVar(q.Window)}
		for _, t := range []*template.Template{s.requests, s.errors} {
			text, err := gates.RenderQuery(t, vars)
			if err != nil {
				return o, s.fail("observe", err)
			}
			queries = append(queries, text)
		}
	}
	res, err := s.timeseries(ctx, queries, first.Add(-bucket), last, bucket)
	if err != nil {
		return o, err
	}
	counts := make([]gates.Counts, len(versions))
	var errs []error
	for i, v := range versions {
		c, err := tally(res, 2*i, q.Window)
		counts[i] = c
		if err != nil {
			errs = append(errs, fmt.Errorf("version %s: %w", v, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, s.fail("observe", err)
	}
	o.Candidate = counts[0]
	if q.Stable != "" {
		o.Stable = counts[1]
	}
	return o, nil
}

// checkQuery reports a query Observe cannot answer.
func checkQuery(q gates.CountQuery) error {
	switch {
	case q.Candidate == "":
		return errors.New("no candidate version to observe")
	case q.Stable == q.Candidate:
		return errors.New("the candidate and the stable are the same version")
	case q.Window.Start.IsZero() || !q.Window.End.After(q.Window.Start):
		return fmt.Errorf("empty window %s to %s", q.Window.Start.Format(time.RFC3339), q.Window.End.Format(time.RFC3339))
	}
	return nil
}

// minutesOf returns the ends of the first and last minutes that end inside
// w; false when none does.
func minutesOf(w gates.Window) (first, last time.Time, ok bool) {
	first = w.Start.Truncate(bucket).Add(bucket)
	last = w.End.Truncate(bucket)
	return first, last, !last.Before(first)
}

// tally adds up the requests (series of query at) and errors (query at+1)
// of the buckets that end inside w. Requests counted without an errors
// series are an error: no data is not zero errors.
func tally(res result, at int, w gates.Window) (gates.Counts, error) {
	var c gates.Counts
	requests, found := res.sum(at, w)
	c.Requests = requests
	if !found {
		return c, nil // no series: the version served nothing
	}
	errs, found := res.sum(at+1, w)
	if !found && requests > 0 {
		return c, fmt.Errorf("the errors query %s found no series while the requests query counted %d requests: "+
			"no data is not zero errors (the errors query must return a series whenever the requests query does)",
			strconv.Quote(res.queries[at+1]), requests)
	}
	c.Errors = min(errs, requests)
	return c, nil
}

// sum adds up, across the series of query i, the values of the buckets
// that end inside w, and reports whether the query had any series.
func (r result) sum(i int, w gates.Window) (int64, bool) {
	var total float64
	found := false
	for _, sr := range r.series {
		if sr.query != i {
			continue
		}
		found = true
		for j, v := range sr.values {
			end := r.times[j].Add(r.step)
			if v != nil && end.After(w.Start) && !end.After(w.End) {
				total += *v
			}
		}
	}
	return int64(math.Round(total)), found
}
