package gates_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/gates"
)

// window is one window's counts: candidate requests and errors, stable
// requests and errors.
func window(nc, yc, ns, ys int64) gates.Observation {
	return gates.Observation{Candidate: gates.Counts{Requests: nc, Errors: yc}, Stable: gates.Counts{Requests: ns, Errors: ys}}
}

// TestJudgeEvidence pins the e-processes against values computed by hand
// (an independent script) from canary-judge.md §2: the mean over the
// alternatives r ∈ {1.5, 2, 3, 5, 10} of exp(Σ η·ℓ), where
// ℓ = y_c·ln(r/r0) − Y·[ln(1 + r·ρ) − ln(1 + r0·ρ)], against r0 = 1 and,
// for the evidence for the candidate, r0 = 2 with r = 2/{1.5, ..., 10}.
func TestJudgeEvidence(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		windows       []gates.Observation
		against, for_ float64
		verdict       gates.JudgeVerdict
	}{{
		// ρ = 1/9, Y = 12; no stable error seen before, so η = 1.
		name:    "one window",
		windows: []gates.Observation{window(100, 3, 900, 9)},
		against: 2.022647150972047, for_: 0.2511201897880486, verdict: gates.VerdictInconclusive,
	}, {
		// The second window is tempered by η = 0.5 (fewer than 3 stable windows).
		name:    "two windows",
		windows: []gates.Observation{window(100, 3, 900, 9), window(100, 2, 900, 8)},
		against: 2.2514860400962045, for_: 0.2047916100684266, verdict: gates.VerdictInconclusive,
	}, {
		// The split changes from 10/90 to 50/50; each window uses its own ρ.
		name:    "weight change",
		windows: []gates.Observation{window(100, 3, 900, 9), window(500, 6, 500, 4)},
		against: 1.7085617877333732, for_: 0.23352097134627758, verdict: gates.VerdictInconclusive,
	}, {
		// Stable errors 5, 15, 2, 18 per window: overdispersed, so the
		// fourth and fifth windows get η = 0.4846 and 0.5034.
		name: "dispersion tempers",
		windows: []gates.Observation{window(100, 0, 900, 5), window(100, 0, 900, 15), window(100, 0, 900, 2),
			window(100, 0, 900, 18), window(100, 4, 900, 10)},
		against: 0.16716122122890417, for_: 3.4603766760471735, verdict: gates.VerdictInconclusive,
	}, {
		name:    "zero errors",
		windows: []gates.Observation{window(100, 0, 900, 0), window(500, 0, 500, 0)},
		against: 1, for_: 1, verdict: gates.VerdictInconclusive,
	}, {
		name:    "zero stable traffic",
		windows: []gates.Observation{window(1000, 50, 0, 0)},
		against: 1, for_: 1, verdict: gates.VerdictNone,
	}, {
		// Four unmatched candidate errors at 5% reach 527 > 100.
		name: "unmatched errors roll back",
		windows: []gates.Observation{window(50, 1, 950, 0), window(50, 1, 950, 0), window(50, 1, 950, 0),
			window(50, 1, 950, 0)},
		against: 527.3332441102622, for_: 0.000, verdict: gates.VerdictRollback,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true})
			var e gates.Evidence
			for _, w := range tc.windows {
				e = j.Observe(w)
			}
			if !near(e.Errors.Against, tc.against) {
				t.Errorf("evidence against = %.12g, want %.12g", e.Errors.Against, tc.against)
			}
			if tc.for_ > 0 && !near(e.Errors.For, tc.for_) {
				t.Errorf("evidence for = %.12g, want %.12g", e.Errors.For, tc.for_)
			}
			if e.Verdict != tc.verdict || e.Needed != 100 {
				t.Errorf("verdict %s needing %v, want %s needing 100", e.Verdict, e.Needed, tc.verdict)
			}
		})
	}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

// TestJudgeShowsAHealthyCandidate: many errors split as the traffic is
// is evidence for the candidate, and the interval closes around 1.
func TestJudgeShowsAHealthyCandidate(t *testing.T) {
	t.Parallel()
	j := gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true})
	var e gates.Evidence
	for range 20 {
		e = j.Observe(window(5000, 50, 5000, 50))
	}
	if e.Verdict != gates.VerdictPromote {
		t.Fatalf("verdict %s, want promote: %s", e.Verdict, e.Explain())
	}
	if lo, hi := e.Errors.RatioLow, e.Errors.RatioHigh; !(lo > 0.5 && lo < 1 && hi > 1 && hi < 2) {
		t.Errorf("rate ratio interval %v–%v, want it around 1", lo, hi)
	}
	if e.Errors.Candidate != (gates.Tally2{Requests: 100000, Bad: 1000}) || e.Windows != 20 {
		t.Errorf("counts %+v over %d windows", e.Errors.Candidate, e.Windows)
	}
}

// TestJudgeIgnoresASharedIncident: errors on both versions in proportion
// to their traffic are no evidence against the candidate.
func TestJudgeIgnoresASharedIncident(t *testing.T) {
	t.Parallel()
	j := gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true})
	e := j.Observe(window(150, 1, 1350, 7))
	for range 2 {
		e = j.Observe(window(150, 15, 1350, 135)) // both versions at 10%
	}
	if e.Errors.Against >= 1 || e.Verdict == gates.VerdictRollback {
		t.Errorf("a shared incident reads as evidence %v against the candidate (%s)", e.Errors.Against, e.Verdict)
	}
}

// TestJudgeToleranceNeedsMore: the same errors are weaker evidence against
// a null that allows 25% more errors.
func TestJudgeToleranceNeedsMore(t *testing.T) {
	t.Parallel()
	strict := gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true})
	lenient := gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1.25, Errors: true})
	w := window(100, 6, 900, 9)
	if s, l := strict.Observe(w).Errors.Against, lenient.Observe(w).Errors.Against; !(l < s) {
		t.Errorf("evidence with tolerance 1.25 = %v, not below %v with none", l, s)
	}
}

// spread is a histogram of n requests over bounds 10..100ms, shifted right
// by slow buckets.
func spread(n int64, slow int) gates.Histogram {
	bounds := []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	h := gates.Histogram{Bounds: bounds, Counts: make([]int64, len(bounds)), Total: n}
	for i := range bounds {
		h.Counts[i] = min(n, n*int64(max(0, i+1-slow))/int64(len(bounds)-2))
	}
	return h
}

// TestJudgeLatency: requests slower than the stable's own bounds, counted
// per version, roll a slower candidate back and show a like one no worse.
func TestJudgeLatency(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		slow int
		want gates.JudgeVerdict
	}{{0, gates.VerdictPromote}, {2, gates.VerdictRollback}} {
		j := gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Latency: true})
		var e gates.Evidence
		for range 12 {
			e = j.Observe(gates.Observation{
				Candidate: gates.Counts{Requests: 800, Latency: spread(800, c.slow)},
				Stable:    gates.Counts{Requests: 800, Latency: spread(800, 0)}})
		}
		if e.Verdict != c.want || e.Latency == nil || len(e.Latency.Parts) != 3 || e.Errors.Metric != "" {
			t.Errorf("candidate %d buckets slower: verdict %s, want %s: %s", c.slow, e.Verdict, c.want, e.Explain())
		}
	}
}

// TestEvidenceJSONCapsInfinity: infinite evidence, which encoding/json
// refuses, is written as 1e300, in the parts of a latency comparison too.
func TestEvidenceJSONCapsInfinity(t *testing.T) {
	t.Parallel()
	inf := gates.MetricEvidence{Metric: gates.MetricErrorRate, Verdict: gates.VerdictRollback, Against: math.Inf(1), For: math.NaN()}
	e := gates.Evidence{Verdict: gates.VerdictRollback, Needed: 100, Errors: inf,
		Latency: &gates.MetricEvidence{Metric: "latency", Against: 2, Parts: []gates.MetricEvidence{inf}}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back gates.Evidence
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if back.Errors.Against != 1e300 || back.Errors.For != 0 || back.Latency.Parts[0].Against != 1e300 || back.Latency.Against != 2 {
		t.Errorf("round trip gave %+v from %s", back, b)
	}
	if want := `"against":1e+300,"for":0,`; !strings.Contains(string(b), want) {
		t.Errorf("JSON lacks %s: %s", want, b)
	}
	if b, _ := json.Marshal(gates.Evidence{Verdict: gates.VerdictNone, Needed: 100}); strings.Contains(string(b), `"errors"`) {
		t.Errorf("a comparison without errors still writes them: %s", b)
	}
}
