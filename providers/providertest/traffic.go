package providertest

import (
	"context"
	"math"

	"github.com/ramp-deploy/ramp/gates"
)

// Health is how a revision answers the fake's traffic.
type Health struct {
	// ErrorRate is the share (0..1) of its requests that fail.
	ErrorRate float64
	// LatencyMS is its typical latency: half its requests take half as
	// long, 45% this long, 4% twice and 1% four times as long.
	LatencyMS float64
}

// LatencyBounds are the fake's latency histogram bounds, in milliseconds.
var LatencyBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000}

// SetTraffic makes the service receive rps requests per second, split
// between the versions by the current weight; Observe reports them.
func (p *Platform) SetTraffic(rps float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rps = rps
}

// SetHealth sets how revision answers the traffic (healthy and instant
// when never set).
func (p *Platform) SetHealth(revision string, h Health) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.health[revision] = h
}

// Observe reports the traffic SetTraffic and SetHealth describe over the
// window, split by the weight the platform has when asked: each version
// serves its share of rps × window seconds (rounded), of which ErrorRate
// fail (rounded), all taking LatencyMS.
func (f Fake) Observe(_ context.Context, q gates.CountQuery) (gates.Observation, error) {
	if err := f.P.enter("Observe", "Observe"); err != nil {
		return gates.Observation{}, err
	}
	f.P.mu.Lock()
	defer f.P.mu.Unlock()
	total := f.P.rps * q.Window.Duration().Seconds()
	o := gates.Observation{Window: q.Window}
	if c := f.P.candidate; c != nil && c.ID == q.Candidate {
		o.Candidate = f.P.counts(q.Candidate, total*float64(f.P.weight)/100)
		if s := f.P.stable; s != nil && s.ID == q.Stable {
			o.Stable = f.P.counts(q.Stable, total*float64(100-f.P.weight)/100)
		}
	} else if s := f.P.stable; s != nil && s.ID == q.Candidate { // promoted: all the traffic
		o.Candidate = f.P.counts(q.Candidate, total)
	}
	return o, nil
}

// latencySpread is how a revision's latencies spread around LatencyMS.
var latencySpread = []struct{ times, share float64 }{{0.5, 0.5}, {1, 0.45}, {2, 0.04}, {4, 0.01}}

// counts is n requests of revision as its Health answers them.
func (p *Platform) counts(revision string, n float64) gates.Counts {
	h := p.health[revision]
	c := gates.Counts{Requests: int64(math.Round(n))}
	c.Errors = int64(math.Round(float64(c.Requests) * h.ErrorRate))
	if c.Requests == 0 {
		return c
	}
	c.Latency = gates.Histogram{Bounds: LatencyBounds, Counts: make([]int64, len(LatencyBounds)), Total: c.Requests}
	for i, b := range LatencyBounds {
		for _, part := range latencySpread {
			if h.LatencyMS*part.times <= b {
				c.Latency.Counts[i] += int64(math.Round(float64(c.Requests) * part.share))
			}
		}
		c.Latency.Counts[i] = min(c.Latency.Counts[i], c.Requests)
	}
	return c
}
