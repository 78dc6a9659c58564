package verdict

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// scenario is how both versions behave over a rollout.
type scenario struct {
	name string
	// base is the stable's error probability; ratio multiplies it for the
	// candidate, and candBase, when set, is the candidate's own.
	base, ratio, candBase float64
	// noiseCV is the coefficient of variation of each version's rate,
	// drawn independently per window and version.
	noiseCV float64
	// incident adds this much error probability to both versions for one
	// minute, starting at a random time within the comparison.
	incident float64
	// slow multiplies the candidate's latencies; tailShare of its requests
	// take tailAdd longer.
	slow      float64
	tailShare float64
	tailAdd   float64 // milliseconds
	// regression says a rollback is the right verdict.
	regression bool
}

// latencyBounds are 20 histogram buckets per decade from 1 ms to 100 s.
var latencyBounds = func() []float64 {
	b := make([]float64, 0, 101)
	for k := 0; k <= 100; k++ {
		b = append(b, math.Pow(10, float64(k)/20))
	}
	return b
}()

// The stable's latency: lognormal with a median of 100 ms and σ 0.5 (p99
// about 320 ms).
const (
	latencyMedian = 100.0
	latencySigma  = 0.5
)

// sim is a metric source whose traffic follows a scenario, split between
// the versions by the weight the fake platform has when asked.
type sim struct {
	p        *providertest.Platform
	rng      *rand.Rand
	sc       scenario
	rps      float64
	start    time.Time
	incident time.Time
	// failures counts the candidate's failed requests served so far.
	failures int64
}

func newSim(p *providertest.Platform, sc scenario, rps float64, rng *rand.Rand, comparison time.Duration) *sim {
	s := &sim{p: p, rng: rng, sc: sc, rps: rps, start: time.Now()}
	s.incident = s.start.Add(time.Duration(rng.Int64N(int64(comparison))))
	return s
}

// Observe draws the window's requests (Poisson), errors (binomial) and
// latency histograms of both versions.
func (s *sim) Observe(_ context.Context, q gates.CountQuery) (gates.Observation, error) {
	w := float64(s.p.Snapshot().Weight) / 100
	lambda := s.rps * q.Window.Duration().Seconds()
	nc, ns := poisson(s.rng, lambda*w), poisson(s.rng, lambda*(1-w))
	pc, ps := s.rates(q.Window)
	o := gates.Observation{Window: q.Window,
		Candidate: gates.Counts{Requests: nc, Errors: binomial(s.rng, nc, pc), Latency: s.latency(nc, s.sc.slow, s.sc.tailShare)},
	}
	if q.Stable != "" {
		o.Stable = gates.Counts{Requests: ns, Errors: binomial(s.rng, ns, ps), Latency: s.latency(ns, 1, 0)}
	}
	s.failures += o.Candidate.Errors
	return o, nil
}

// rates are the versions' error probabilities in window w.
func (s *sim) rates(w gates.Window) (cand, stable float64) {
	stable = s.sc.base
	cand = s.sc.base * max(s.sc.ratio, 1)
	if s.sc.candBase > 0 {
		cand = s.sc.candBase
	}
	if cv := s.sc.noiseCV; cv > 0 {
		sigma := math.Sqrt(math.Log1p(cv * cv))
		draw := func() float64 { return math.Exp(sigma*s.rng.NormFloat64() - sigma*sigma/2) }
		cand, stable = cand*draw(), stable*draw()
	}
	if s.sc.incident > 0 {
		// The share of the window the incident covers adds to both rates.
		from, to := later(w.Start, s.incident), earlier(w.End, s.incident.Add(time.Minute))
		if to.After(from) {
			add := s.sc.incident * to.Sub(from).Seconds() / w.Duration().Seconds()
			cand, stable = cand+add, stable+add
		}
	}
	return min(cand, 1), min(stable, 1)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// latency draws the histogram of n requests, their latencies slowed by
// slow, tailShare of them tailAdd slower still.
func (s *sim) latency(n int64, slow, tailShare float64) gates.Histogram {
	if n == 0 {
		return gates.Histogram{}
	}
	cdf := func(x float64) float64 {
		body := lognormalCDF(x, latencyMedian*slow)
		if tailShare == 0 {
			return body
		}
		return (1-tailShare)*body + tailShare*lognormalCDF(x-s.sc.tailAdd, latencyMedian*slow)
	}
	h := gates.Histogram{Bounds: latencyBounds, Counts: make([]int64, len(latencyBounds)), Total: n}
	left, mass, prev := n, 1.0, 0.0
	var sum int64
	for i, b := range latencyBounds {
		p := cdf(b) - prev
		prev += p
		k := int64(0)
		if left > 0 && mass > 0 {
			k = binomial(s.rng, left, math.Min(1, p/mass))
		}
		left, mass = left-k, mass-p
		sum += k
		h.Counts[i] = sum
	}
	return h
}

func lognormalCDF(x, median float64) float64 {
	if x <= 0 {
		return 0
	}
	return 0.5 * math.Erfc(-math.Log(x/median)/(latencySigma*math.Sqrt2))
}

// poisson draws a Poisson count: exactly below a mean of 30, from the
// normal approximation above.
func poisson(rng *rand.Rand, lambda float64) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda < 30 {
		limit, k, p := math.Exp(-lambda), int64(0), rng.Float64()
		for p > limit {
			k++
			p *= rng.Float64()
		}
		return k
	}
	return int64(math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
}

// binomial draws a binomial count: by geometric skips while the mean is
// small, from the normal approximation otherwise.
func binomial(rng *rand.Rand, n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	}
	mean := float64(n) * p
	if mean < 25 || float64(n)*(1-p) < 25 {
		if p > 0.5 {
			return n - binomial(rng, n, 1-p)
		}
		var k int64
		i, logq := 0.0, math.Log1p(-p)
		for {
			i += math.Floor(math.Log(1-rng.Float64())/logq) + 1 // a float: a tiny p skips beyond any int64
			if i > float64(n) {
				return k
			}
			k++
		}
	}
	sd := math.Sqrt(mean * (1 - p))
	return int64(math.Min(float64(n), math.Max(0, math.Round(mean+sd*rng.NormFloat64()))))
}
