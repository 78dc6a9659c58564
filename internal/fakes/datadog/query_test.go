package datadog

import (
	"strconv"
	"strings"
	"testing"
)

// TestParseQuery: the grammar the fake models, and what it refuses as the
// real API does (a 400 "Error parsing query").
func TestParseQuery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		query   string
		want    string // space/metric/time/rollup/by, or the error's text
		matches map[string]string
	}{
		{"sum:trace.http.request.hits{service:shop,version:v2}.as_count()", "sum/trace.http.request.hits/sum/0/", map[string]string{"service": "shop", "version": "v2", "env": "prod"}},
		{"avg:system.load.1{*}", "avg/system.load.1/avg/0/", map[string]string{}},
		{"trace.x{!version:v1,service:sh*} by {version}.rollup(max, 120)", "avg/trace.x/max/120/version", map[string]string{"service": "shop", "version": "v2"}},
		{"sum:trace.x{service:shop,version:{{.Version}}}.as_count()", "Error parsing query", nil},
		{"sum:trace.x{service:shop", "Error parsing query", nil},
		{"p95:trace.x{*}", "unmodelled space aggregator", nil},
		{"sum:trace.x{*}.as_count().timeshift(60)", "unmodelled function", nil},
		{"sum:9x{*}", "invalid metric name", nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			t.Parallel()
			q, err := parseQuery(c.query)
			if err != nil {
				if !strings.Contains(err.Error(), c.want) || c.matches != nil {
					t.Errorf("parseQuery error = %v, want %q", err, c.want)
				}
				return
			}
			got := strings.Join([]string{q.space, q.metric, q.time, strconv.FormatInt(q.rollup, 10), strings.Join(q.by, ",")}, "/")
			if got != c.want || !q.matches(c.matches) {
				t.Errorf("parseQuery = %s (matches %v: %v), want %s", got, c.matches, q.matches(c.matches), c.want)
			}
		})
	}
}
