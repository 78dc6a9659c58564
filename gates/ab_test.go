package gates

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// abSource is a deterministic source for an A/B test: every window, each
// variant serves 1000 requests with the given errors, and its conversion
// query (conversions{version="..."}) answers the given count.
type abSource struct {
	errs, conv map[string]int64
}

func (s abSource) Observe(_ context.Context, q CountQuery) (Observation, error) {
	return Observation{Candidate: Counts{Requests: 1000, Errors: s.errs[q.Candidate]},
		Stable: Counts{Requests: 1000, Errors: s.errs[q.Stable]}}, nil
}

func (s abSource) Value(_ context.Context, query string, _ Window) (float64, bool, error) {
	for v, n := range s.conv {
		if strings.Contains(query, `"`+v+`"`) {
			return float64(n), true, nil
		}
	}
	return 0, false, nil
}

func (abSource) WindowVar(w Window) string { return w.Duration().String() }

// TestABComparison runs an A/B test's analysis over 12 deterministic
// windows and checks the verdict: a clear winner on a higher-is-better
// conversion check, a stable that wins on errors, no difference at all,
// and metrics that disagree.
func TestABComparison(t *testing.T) {
	t.Parallel()
	conv := CheckSpec{Name: "conversions", Query: `sum(increase(conversions_total{version="{{.Version}}"}[{{.Window}}]))`,
		Direction: HigherIsBetter}
	for _, c := range []struct {
		name       string
		errs, conv map[string]int64
		winner     string
		summary    string
		perMetric  map[string]string
	}{
		{"candidate converts better", map[string]int64{"c": 5, "s": 5}, map[string]int64{"c": 60, "s": 30},
			VariantCandidate, "the candidate wins: conversions: candidate 6% (720/12000), stable 3% (360/12000)",
			map[string]string{MetricErrorRate: "", "conversions": VariantCandidate}},
		{"candidate fails more", map[string]int64{"c": 20, "s": 2}, map[string]int64{"c": 40, "s": 40},
			VariantStable, "the stable wins: error-rate: candidate 2% (240/12000), stable 0.2% (24/12000)",
			map[string]string{MetricErrorRate: VariantStable, "conversions": ""}},
		{"no difference", map[string]int64{"c": 5, "s": 5}, map[string]int64{"c": 40, "s": 40},
			"", "no difference found over 12 windows (each side of a metric needs evidence 400)",
			map[string]string{MetricErrorRate: "", "conversions": ""}},
		{"metrics disagree", map[string]int64{"c": 20, "s": 2}, map[string]int64{"c": 60, "s": 30},
			"", "no single winner: the candidate is better on conversions, the stable on error-rate",
			map[string]string{MetricErrorRate: VariantStable, "conversions": VariantCandidate}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := Metrics{Source: abSource{errs: c.errs, conv: c.conv}, AB: &ABSpec{Alpha: 0.01, Errors: true, Checks: []CheckSpec{conv}}}
			a := m.Start()
			target := Target{Candidate: providers.Revision{ID: "c"}, Stable: &providers.Revision{ID: "s"}, Weight: 50, Window: time.Minute}
			now := time.Unix(1_700_000_000, 0)
			var last Poll
			for i := range 12 {
				last = a.Poll(context.Background(), target, now.Add(time.Duration(i)*time.Minute))
				if last.Err != nil {
					t.Fatal(last.Err)
				}
			}
			v := a.AB()
			if last.AB == nil || v.Summary != last.AB.Summary {
				t.Fatalf("the last poll's verdict %v differs from the analysis' %v", last.AB, v)
			}
			if v.Winner != c.winner || !strings.HasPrefix(v.Summary, c.summary) {
				t.Errorf("winner %q, summary:\n%s\nwant winner %q, summary starting:\n%s", v.Winner, v.Summary, c.winner, c.summary)
			}
			for _, m := range v.Metrics {
				if want := c.perMetric[m.Metric]; m.Winner != want {
					t.Errorf("%s: winner %q, want %q (%s)", m.Metric, m.Winner, want, m.Explain(v.Needed))
				}
			}
		})
	}
}

// TestABLatencyWinner: a candidate whose requests are all slower is found
// worse on latency, from histograms alone.
func TestABLatencyWinner(t *testing.T) {
	t.Parallel()
	c, err := NewComparison(ABSpec{Alpha: 0.01, Latency: true})
	if err != nil {
		t.Fatal(err)
	}
	bounds := []float64{10, 20, 40, 80, 160}
	fast := Histogram{Bounds: bounds, Counts: []int64{100, 500, 900, 1000, 1000}, Total: 1000}
	slow := Histogram{Bounds: bounds, Counts: []int64{10, 100, 500, 900, 1000}, Total: 1000}
	for range 6 {
		c.Observe(Observation{Candidate: Counts{Requests: 1000, Latency: slow}, Stable: Counts{Requests: 1000, Latency: fast}}, nil)
	}
	v := c.Verdict()
	if v.Winner != VariantStable || len(v.Metrics) != 1 || v.Metrics[0].BoundMS == 0 {
		t.Errorf("verdict %+v, want the stable to win on latency", v)
	}
}
