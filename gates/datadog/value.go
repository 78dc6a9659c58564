package datadog

import (
	"context"
	"fmt"
	"strconv"
	"text/template"
	"time"

	"github.com/ramp-deploy/ramp/gates"
)

// rollups are the bucket lengths Value evaluates a check over, in minutes:
// the divisors of a day up to one, so that buckets aligned to the Unix
// epoch are aligned to the day as well.
var rollups = []int{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440}

// checkBucket is the bucket Value evaluates over w: the longest of rollups
// not longer than w (a minute at least).
func checkBucket(w gates.Window) time.Duration {
	d := time.Minute
	for _, m := range rollups {
		if b := time.Duration(m) * time.Minute; b <= w.Duration() {
			d = b
		}
	}
	return d
}

// WindowVar is the length of the bucket Value evaluates, in seconds, as
// Datadog's .rollup() takes it: a check may say .rollup(sum, {{.Window}}).
func (s *Source) WindowVar(w gates.Window) string {
	return strconv.Itoa(int(checkBucket(w).Seconds()))
}

// Value evaluates query (a custom check's, rendered) as one point: over
// the last bucket of the window's length (see checkBucket) that ends by
// w.End, as Datadog aggregates it in time (a sum for .as_count(), the
// percentile for p95:, the average for a gauge). As Datadog aligns
// buckets to the Unix epoch, that bucket is one point of the answer. A
// query with no series, or no value in that bucket, is no data: ok is
// false. More than one series is an error naming the query.
func (s *Source) Value(ctx context.Context, query string, w gates.Window) (float64, bool, error) {
	step := checkBucket(w)
	end := w.End.Truncate(step)
	start := end.Add(-step)
	res, err := s.timeseries(ctx, []string{query}, start, end, step)
	if err != nil {
		return 0, false, err
	}
	switch len(res.series) {
	case 0:
		return 0, false, nil
	case 1:
	default:
		return 0, false, s.fail(fmt.Sprintf("query %q", query), fmt.Errorf("returned %d series, a check needs one: aggregate them (sum:, avg:, no by {})", len(res.series)))
	}
	for i, t := range res.times {
		if v := res.series[0].values[i]; t.Equal(start) && v != nil {
			return *v, true, nil
		}
	}
	return 0, false, nil
}

// CheckMetricsAccess proves, for `ramp plan`, that the keys may read the
// metrics and that Datadog accepts both queries: it validates the API key,
// then runs the requests and errors queries, for any version (version:*
// stands for the version), over the last five whole minutes. An empty
// answer is fine; a refusal is the error, saying which key is wrong.
func (s *Source) CheckMetricsAccess(ctx context.Context) error {
	if s.validAPIKey(ctx) == keyInvalid {
		return s.fail("validate the API key", fmt.Errorf("403 Forbidden: the API key (%s, DD_API_KEY) is not valid for this site", optAPIKey))
	}
	vars := gates.QueryVars{Version: "*", Candidate: "*", Stable: "*", Service: s.cfg.Service, Window: "60"}
	var queries []string
	for _, t := range []*template.Template{s.requests, s.errors} {
		text, err := gates.RenderQuery(t, vars)
		if err != nil {
			return s.fail("check access", err)
		}
		queries = append(queries, text)
	}
	end := time.Now().Truncate(bucket)
	_, err := s.timeseries(ctx, queries, end.Add(-5*bucket), end, bucket)
	return err
}
