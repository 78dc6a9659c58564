// Package datadog fakes, at the wire level, the two Datadog API endpoints
// ramp's Datadog metric source calls: POST /api/v2/query/timeseries (the
// metrics query) and GET /api/v1/validate (the API key check). Fake is an
// http.Handler that the real datadog-api-client-go talks to; it keeps the
// points a test feeds per metric and tag set, hides those not yet
// ingested, checks the DD-API-KEY and DD-APPLICATION-KEY headers, and
// answers and refuses in the real API's JSON shapes, so a mismatch with
// the client's models shows.
package datadog

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultLag is how long after its timestamp a point becomes visible
// unless told otherwise: about the minute Datadog's APM stats take to be
// flushed by the agent and ingested.
const DefaultLag = time.Minute

// Fake is a stateful Datadog metrics API. Its methods are safe for
// concurrent use.
type Fake struct {
	mu             sync.Mutex
	apiKey, appKey string
	series         []*series
	// lag is how long after its timestamp a point becomes visible; now is
	// the clock (time.Now, the bubble's in synctest, when nil).
	lag      time.Duration
	now      func() time.Time
	received []Request
}

// series is one metric's points for one tag set.
type series struct {
	metric string
	tags   map[string]string
	points []point
}

type point struct {
	at time.Time
	v  float64
}

// Request is one timeseries query the fake answered or refused.
type Request struct {
	// Query is the metrics query; From and To the range asked for
	// (To exclusive); Interval the bucket length asked for (zero when
	// none).
	Query    string
	From, To time.Time
	Interval time.Duration
}

// New returns a Fake that holds no point, accepts the given keys and
// shows points DefaultLag after their timestamp.
func New(apiKey, appKey string) *Fake {
	return &Fake{apiKey: apiKey, appKey: appKey, lag: DefaultLag}
}

// SetLag sets the ingestion delay from now on.
func (f *Fake) SetLag(lag time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lag = lag
}

// StopClock fixes the fake's now at t.
func (f *Fake) StopClock(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = func() time.Time { return t }
}

// clock is the fake's now; f.mu is held.
func (f *Fake) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// Add records a point of metric with tags ("key:value", or a bare tag) at
// t, as the agent submits a COUNT: v happened in the flush ending at t.
func (f *Fake) Add(metric string, tags []string, t time.Time, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set := map[string]string{}
	for _, tag := range tags {
		k, val, _ := strings.Cut(tag, ":")
		set[k] = val
	}
	i := slices.IndexFunc(f.series, func(s *series) bool { return s.metric == metric && maps.Equal(s.tags, set) })
	if i < 0 {
		f.series = append(f.series, &series{metric: metric, tags: set})
		i = len(f.series) - 1
	}
	f.series[i].points = append(f.series[i].points, point{at: t, v: v})
}

// Received returns the timeseries queries received so far.
func (f *Fake) Received() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}
