package datadog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The paths the fake serves.
const (
	PathTimeseries = "/api/v2/query/timeseries"
	PathValidate   = "/api/v1/validate"
)

// maxPoints is the most buckets a series holds: past it, the API widens
// the interval, as Datadog documents for its 1500-point limit.
const maxPoints = 1500

// timeseriesRequest is the body of POST /api/v2/query/timeseries.
type timeseriesRequest struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			From     int64          `json:"from"`
			To       int64          `json:"to"`
			Interval *int64         `json:"interval"`
			Queries  []requestQuery `json:"queries"`
			Formulas []struct {
				Formula string `json:"formula"`
			} `json:"formulas"`
		} `json:"attributes"`
	} `json:"data"`
}

// requestQuery is one metrics query of a request.
type requestQuery struct {
	DataSource string `json:"data_source"`
	Name       string `json:"name"`
	Query      string `json:"query"`
}

// responseSeries is one series of a timeseries response.
type responseSeries struct {
	GroupTags  []string `json:"group_tags"`
	QueryIndex int      `json:"query_index"`
	Unit       []any    `json:"unit"`
}

// ServeHTTP answers the two endpoints; anything else is 404.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathValidate && r.Method == http.MethodGet:
		if r.Header.Get("DD-API-KEY") != f.apiKey {
			refuse(w, http.StatusForbidden, "Forbidden")
			return
		}
		reply(w, http.StatusOK, map[string]bool{"valid": true})
	case r.URL.Path == PathTimeseries && r.Method == http.MethodPost:
		if r.Header.Get("DD-API-KEY") != f.apiKey || r.Header.Get("DD-APPLICATION-KEY") != f.appKey {
			refuse(w, http.StatusForbidden, "Forbidden")
			return
		}
		f.timeseries(w, r)
	default:
		refuse(w, http.StatusNotFound, "Not found")
	}
}

// timeseries answers a timeseries query.
func (f *Fake) timeseries(w http.ResponseWriter, r *http.Request) {
	var req timeseriesRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		refuse(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	a := req.Data.Attributes
	from, to := time.UnixMilli(a.From), time.UnixMilli(a.To)
	var interval time.Duration
	if a.Interval != nil {
		interval = time.Duration(*a.Interval) * time.Millisecond
	}
	if msg := checkRequest(req); msg != "" {
		refuse(w, http.StatusBadRequest, msg)
		return
	}
	queries := make([]query, len(a.Queries))
	for i, q := range a.Queries {
		f.record(Request{Query: q.Query, From: from, To: to, Interval: interval})
		p, err := parseQuery(q.Query)
		if err != nil {
			refuse(w, http.StatusBadRequest, err.Error())
			return
		}
		queries[i] = p
	}
	order := make([]int, len(queries)) // the query each output series answers
	for i := range order {
		order[i] = i
	}
	if len(a.Formulas) > 0 {
		order = order[:0]
		for _, fm := range a.Formulas {
			i := slices.IndexFunc(a.Queries, func(q requestQuery) bool { return q.Name == strings.TrimSpace(fm.Formula) })
			if i < 0 {
				refuse(w, http.StatusBadRequest, fmt.Sprintf("formula %q: the fake models only a formula naming one query", fm.Formula))
				return
			}
			order = append(order, i)
		}
	}
	reply(w, http.StatusOK, f.answer(queries, order, from, to, interval))
}

// checkRequest is what the real API refuses in a request's shape.
func checkRequest(req timeseriesRequest) string {
	a := req.Data.Attributes
	switch {
	case req.Data.Type != "timeseries_request":
		return fmt.Sprintf("invalid type %q, want timeseries_request", req.Data.Type)
	case a.From >= a.To:
		return "from must be before to"
	case len(a.Queries) == 0:
		return "at least one query is required"
	case a.Interval != nil && *a.Interval <= 0:
		return "interval must be positive"
	}
	for _, q := range a.Queries {
		if q.DataSource != "metrics" {
			return fmt.Sprintf("data_source %q is not modelled, only metrics", q.DataSource)
		}
		if len(a.Formulas) > 0 && q.Name == "" {
			return "a query a formula refers to needs a name"
		}
	}
	return ""
}

func (f *Fake) record(r Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received = append(f.received, r)
}

// answer computes the response body: the buckets, aligned to the Unix
// epoch, of each query's groups, in the order of order.
func (f *Fake) answer(queries []query, order []int, from, to time.Time, interval time.Duration) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	step := bucketLength(queries, from, to, interval)
	visible := f.clock().Add(-f.lag)
	series, values := []responseSeries{}, [][]*float64{}
	first := from.Truncate(step)
	n := int(to.Sub(first)+step-1) / int(step)
	for out, qi := range order {
		for _, g := range f.groups(queries[qi], from, to, visible) {
			series = append(series, responseSeries{GroupTags: g.tags, QueryIndex: out})
			values = append(values, g.buckets(queries[qi], first, step, n))
		}
	}
	times := []int64{}
	if len(series) > 0 {
		for i := range n {
			times = append(times, first.Add(time.Duration(i)*step).UnixMilli())
		}
	}
	return map[string]any{"data": map[string]any{"type": "timeseries_response",
		"attributes": map[string]any{"series": series, "times": times, "values": values}}}
}

// bucketLength is the interval asked for (or a default of about 300
// points), widened to the queries' rollup intervals and to the point
// limit.
func bucketLength(queries []query, from, to time.Time, interval time.Duration) time.Duration {
	span := to.Sub(from)
	step := interval
	if step <= 0 {
		step = max(span/300, time.Second)
	}
	for _, q := range queries {
		step = max(step, time.Duration(q.rollup)*time.Second)
	}
	if span/step > maxPoints {
		step = (span/maxPoints + time.Second - 1).Truncate(time.Second)
	}
	return step
}

// group is the series of one query that share their group-by tags.
type group struct {
	tags   []string
	series []*series
	from   time.Time
	to     time.Time
	seen   time.Time
}

// groups returns q's groups that hold at least one visible point in
// [from, to); f.mu is held.
func (f *Fake) groups(q query, from, to, visible time.Time) []*group {
	var out []*group
	byKey := map[string]*group{}
	for _, s := range f.series {
		if s.metric != q.metric || !q.matches(s.tags) {
			continue
		}
		if !slices.ContainsFunc(s.points, func(p point) bool { return inRange(p.at, from, to, visible) }) {
			continue
		}
		tags := []string{}
		for _, k := range q.by {
			v, ok := s.tags[k]
			if !ok {
				v = "N/A"
			}
			tags = append(tags, k+":"+v)
		}
		key := strings.Join(tags, ",")
		if byKey[key] == nil {
			byKey[key] = &group{tags: tags, from: from, to: to, seen: visible}
			out = append(out, byKey[key])
		}
		byKey[key].series = append(byKey[key].series, s)
	}
	return out
}

func inRange(at, from, to, visible time.Time) bool {
	return !at.Before(from) && at.Before(to) && !at.After(visible)
}

// buckets aggregates the group's points into n buckets of step from
// first: in time per series (q.time), then across series (q.space); a
// bucket no series has a point in is null.
func (g *group) buckets(q query, first time.Time, step time.Duration, n int) []*float64 {
	out := make([]*float64, n)
	for i := range n {
		start := first.Add(time.Duration(i) * step)
		var perSeries []float64
		for _, s := range g.series {
			var in []float64
			for _, p := range s.points {
				if inRange(p.at, g.from, g.to, g.seen) && !p.at.Before(start) && p.at.Before(start.Add(step)) {
					in = append(in, p.v)
				}
			}
			if len(in) > 0 {
				perSeries = append(perSeries, aggregate(q.time, in))
			}
		}
		if len(perSeries) == 0 {
			continue
		}
		v := aggregate(q.space, perSeries)
		if q.rate {
			v /= step.Seconds()
		}
		out[i] = &v
	}
	return out
}

// aggregate reduces vs (not empty) with agg.
func aggregate(agg string, vs []float64) float64 {
	switch agg {
	case "sum":
		var s float64
		for _, v := range vs {
			s += v
		}
		return s
	case "min":
		return slices.Min(vs)
	case "max":
		return slices.Max(vs)
	case "count":
		return float64(len(vs))
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// refuse writes the API's error shape: {"errors": [msg]}.
func refuse(w http.ResponseWriter, code int, msg string) {
	reply(w, code, map[string][]string{"errors": {msg}})
}

func reply(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
