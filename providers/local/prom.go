package local

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The Prometheus metrics of the proxy. Each revision's totals since its
// metrics were made sit beside the judge's one-second slots and are counted
// under the same lock in revMetrics.observe, so a proxied request pays no
// other lock and no allocation for them; promCollector turns them into
// series only when /metrics is scraped.

const (
	// minCode and maxCode bound the status codes counted one by one: 101
	// Switching Protocols is the lowest final status the proxy records and
	// an http.ResponseWriter takes no code above 999.
	minCode = 100
	maxCode = 999
	// codeClientGone is the code counted for a request whose client went
	// away before any answer was written, as nginx logs it.
	codeClientGone = 499
)

// promBounds are the upper bounds, in seconds, of the buckets of
// ramp_local_request_duration_seconds (+Inf follows): from half a
// millisecond, since the local proxy adds well under one, to a minute.
var promBounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// promBoundsNS are promBounds in nanoseconds.
var promBoundsNS = func() (ns [len(promBounds)]int64) {
	for i, s := range promBounds {
		ns[i] = int64(math.Round(s * 1e9))
	}
	return ns
}()

// promBucketOf returns the bucket a request that took d falls in: the first
// whose bound d does not exceed (Prometheus's le), or len(promBounds), +Inf.
func promBucketOf(d time.Duration) int {
	for i, b := range promBoundsNS {
		if int64(d) <= b {
			return i
		}
	}
	return len(promBoundsNS)
}

// promCodeIndex returns where promTotals.codes counts a status code.
func promCodeIndex(code int) int { return min(max(code, minCode), maxCode) - minCode }

// promTotals is one revision's traffic since its metrics were made.
type promTotals struct {
	codes    [maxCode - minCode + 1]uint64 // requests by status code, from minCode
	buckets  [len(promBounds) + 1]uint64   // requests by latency bucket, not cumulative; the last is +Inf
	sumNanos int64                         // their latencies added up
	failures uint64                        // requests the judge counts as failed
}

// add counts one request: its code index, latency bucket and latency, and
// whether it failed. The caller holds the revMetrics lock.
func (t *promTotals) add(code, bucket int, d time.Duration, failed bool) {
	t.codes[code]++
	t.buckets[bucket]++
	t.sumNanos += max(int64(d), 0)
	if failed {
		t.failures++
	}
}

// revTotals is one revision's totals, copied out for a scrape.
type revTotals struct {
	rev   string
	total promTotals
}

// totals copies the totals of every revision the store keeps, oldest first.
func (s *metricsStore) totals() []revTotals {
	s.mu.Lock()
	out := make([]revTotals, len(s.order))
	ms := make([]*revMetrics, len(s.order))
	for i, id := range s.order {
		out[i].rev, ms[i] = id, s.byRev[id]
	}
	s.mu.Unlock()
	for i, m := range ms {
		m.mu.Lock()
		out[i].total = m.total
		m.mu.Unlock()
	}
	return out
}

// promCollector exports the proxy's metrics of one service.
type promCollector struct {
	store  *metricsStore
	router *router

	requests, failures, duration, weight, inflight *prometheus.Desc
}

// newPromCollector returns the collector of service's metrics, read from
// store and, for the split, router.
func newPromCollector(service string, store *metricsStore, rt *router) *promCollector {
	svc := prometheus.Labels{"service": service}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, svc)
	}
	return &promCollector{
		store:  store,
		router: rt,
		requests: desc("ramp_local_requests_total",
			"Requests the local proxy answered, by revision and HTTP status code (499: the client went away before any answer).",
			"revision", "code"),
		failures: desc("ramp_local_request_failures_total",
			"Requests the judge counts as failed, by revision: a 5xx answered to a client still there, or a response broken off.",
			"revision"),
		duration: desc("ramp_local_request_duration_seconds",
			"Time from the local proxy picking a revision for a request to the end of its response, by revision.",
			"revision"),
		weight: desc("ramp_local_traffic_weight_ratio",
			"Share of new requests the local proxy routes to the revision, from 0 to 1, by role (stable or candidate).",
			"revision", "role"),
		inflight: desc("ramp_local_requests_in_flight",
			"Requests the revision is serving now, for the revisions taking traffic.",
			"revision"),
	}
}

// Describe sends the descriptors of every metric Collect sends.
func (c *promCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.failures, c.duration, c.weight, c.inflight} {
		ch <- d
	}
}

// Collect sends the current metrics: the counters and histogram of every
// revision the store keeps, and the split of the routing table.
func (c *promCollector) Collect(ch chan<- prometheus.Metric) {
	for _, rt := range c.store.totals() {
		c.collectRevision(ch, rt)
	}
	t := c.router.current()
	stable, candidate := t.shares()
	for _, r := range []struct {
		p     pool
		role  string
		share float64
	}{{t.stable, "stable", stable}, {t.candidate, "candidate", candidate}} {
		if len(r.p.backends) == 0 {
			continue
		}
		var inflight int64
		for _, b := range r.p.backends {
			inflight += b.inflight.Load()
		}
		rev := r.p.backends[0].rev
		ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, r.share, rev, r.role)
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(inflight), rev)
	}
}

// collectRevision sends one revision's counters and histogram.
func (c *promCollector) collectRevision(ch chan<- prometheus.Metric, rt revTotals) {
	t := &rt.total
	var count uint64
	for i, n := range t.codes {
		if n > 0 {
			count += n
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), rt.rev, strconv.Itoa(minCode+i))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(t.failures), rt.rev)
	buckets := make(map[float64]uint64, len(promBounds))
	var cum uint64
	for i, le := range promBounds {
		cum += t.buckets[i]
		buckets[le] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.duration, count, float64(t.sumNanos)/1e9, buckets, rt.rev)
}

// shares returns the share of new requests choose gives the stable and the
// candidate revisions, from 0 to 1; a side the table lacks gets 0.
func (t *table) shares() (stable, candidate float64) {
	switch {
	case len(t.candidate.backends) == 0 || t.weight <= 0:
		stable = 1
	case t.weight >= 100:
		candidate = 1
	default:
		candidate = float64(t.weight) / 100
		stable = 1 - candidate
	}
	if len(t.stable.backends) == 0 {
		stable = 0
	}
	return stable, candidate
}
