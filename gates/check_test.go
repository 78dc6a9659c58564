package gates_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// fakeQueries answers every query with one value, or no data, or an
// error, and records the queries and windows it was asked.
type fakeQueries struct {
	value float64
	ok    bool
	err   error

	queries []string
	windows []gates.Window
}

func (q *fakeQueries) Value(_ context.Context, query string, w gates.Window) (float64, bool, error) {
	q.queries = append(q.queries, query)
	q.windows = append(q.windows, w)
	return q.value, q.ok, q.err
}

func (q *fakeQueries) WindowVar(w gates.Window) string {
	return fmt.Sprintf("%ds", int(w.Duration().Seconds()))
}

// Observe makes it a MetricSource too, as a real query source is.
func (q *fakeQueries) Observe(context.Context, gates.CountQuery) (gates.Observation, error) {
	return gates.Observation{}, nil
}

func ptr(f float64) *float64 { return &f }

func TestCheckGate(t *testing.T) {
	t.Parallel()
	spec := gates.CheckSpec{Name: "p99", Query: `q{v="{{.Version}}",s="{{.Stable}}",c="{{.Candidate}}",svc="{{.Service}}"}[{{.Window}}]`,
		Min: ptr(0.1), Max: ptr(0.5)}
	cases := []struct {
		name   string
		src    fakeQueries
		weight int
		want   gates.Outcome
		msg    string
	}{
		{"within", fakeQueries{value: 0.3, ok: true}, 10, gates.Successful, ""},
		{"at max", fakeQueries{value: 0.5, ok: true}, 10, gates.Successful, ""},
		{"above max", fakeQueries{value: 0.51, ok: true}, 10, gates.Failed, ""},
		{"below min", fakeQueries{value: 0.05, ok: true}, 10, gates.Failed, ""},
		{"no data holds", fakeQueries{}, 10, gates.Inconclusive, "no data"},
		{"no data at 0% is not judged", fakeQueries{}, 0, gates.Successful, "not judged"},
		{"data at 0% is judged", fakeQueries{value: 9, ok: true}, 0, gates.Failed, ""},
		{"unreachable", fakeQueries{err: errors.New("connection refused")}, 10, gates.Error, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				src := c.src
				g, err := gates.NewCheckGate(spec, &src, "web", 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now()
				r := g.Check(t.Context(), gates.Target{Candidate: providers.Revision{ID: "v2"}, Stable: &providers.Revision{ID: "v1"},
					Weight: c.weight, Window: 10 * time.Second})
				if r.Outcome != c.want || !strings.Contains(r.Message, c.msg) {
					t.Errorf("outcome %s (%s), want %s saying %q", r.Outcome, r.Message, c.want, c.msg)
				}
				if r.Gate != "check:p99" || r.Threshold != "0.1..0.5" {
					t.Errorf("gate %q threshold %q", r.Gate, r.Threshold)
				}
				wantQ := `q{v="v2",s="v1",c="v2",svc="web"}[10s]`
				wantW := gates.Window{Start: now.Add(-40 * time.Second), End: now.Add(-30 * time.Second)}
				if len(src.queries) != 1 || src.queries[0] != wantQ || src.windows[0] != wantW || r.Query != wantQ {
					t.Errorf("asked %q over %v, want %q over %v (the interval that ended the delay ago)", src.queries, src.windows, wantQ, wantW)
				}
			})
		})
	}
}

func TestCheckThreshold(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		min, max *float64
		want     string
	}{{nil, ptr(5), "<= 5"}, {ptr(0.99), nil, ">= 0.99"}, {ptr(1), ptr(2), "1..2"}} {
		g, err := gates.NewCheckGate(gates.CheckSpec{Name: "x", Query: "q", Min: c.min, Max: c.max}, &fakeQueries{}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if r := g.Check(t.Context(), gates.Target{Window: time.Second, Weight: 1}); r.Threshold != c.want {
			t.Errorf("threshold %q, want %q", r.Threshold, c.want)
		}
	}
}

// metricsOnly is a MetricSource that answers no query.
type metricsOnly struct{}

func (metricsOnly) Observe(context.Context, gates.CountQuery) (gates.Observation, error) {
	return gates.Observation{}, nil
}

func TestBuildChecks(t *testing.T) {
	t.Parallel()
	spec := func() gates.Spec {
		s := gates.Spec{Compare: "off", ErrorThreshold: 1, ProgressDeadline: time.Minute, Service: "web",
			Checks: []gates.CheckSpec{{Name: "a", Query: "up", Max: ptr(1)}, {Name: "b", Query: "down", Min: ptr(0)}}}
		return s
	}
	gs, _, err := gates.Build(spec(), &fakeQueries{}, nil)
	if err != nil || len(gs) != 2 || gs[0].Name() != "check:a" || gs[1].Name() != "check:b" {
		t.Errorf("Build with a query source: %d gates, %v; want check:a and check:b", len(gs), err)
	}
	for name, src := range map[string]gates.MetricSource{"no source": nil, "a provider's source": metricsOnly{}} {
		_, _, err := gates.Build(spec(), src, nil)
		ie, ok := errors.AsType[*input.Error](err)
		if !ok || ie.Input != "checks" || !strings.Contains(err.Error(), "metrics-source") {
			t.Errorf("%s: Build = %v, want an input error naming checks and metrics-source", name, err)
		}
	}
	bad := spec()
	bad.Checks[1].Query = "{{.Nope}}"
	if _, _, err := gates.Build(bad, &fakeQueries{}, nil); err == nil || !strings.Contains(err.Error(), `checks[1] "b"`) {
		t.Errorf("a query template that does not render: %v, want an error naming checks[1]", err)
	}
}

// TestCheckDirection: a check with a direction and no bound is compared
// in an A/B test only (no gate); a bad direction is named; a check with
// neither bound nor direction is refused.
func TestCheckDirection(t *testing.T) {
	t.Parallel()
	spec := gates.Spec{Compare: "errors", Alpha: 0.01, Tolerance: 1, ErrorThreshold: 1, ProgressDeadline: time.Minute, Service: "web",
		Checks: []gates.CheckSpec{{Name: "conversions", Query: `sum(conv{version="{{.Version}}"})`, Direction: gates.HigherIsBetter},
			{Name: "p99", Query: "lat", Max: ptr(1), Direction: gates.LowerIsBetter}, {Name: "up", Query: "up", Min: ptr(1)}}}
	gs, _, err := gates.Build(spec, &fakeQueries{}, nil)
	if err != nil || len(gs) != 2 || gs[0].Name() != "check:p99" || gs[1].Name() != "check:up" {
		t.Errorf("Build: %d gates, %v; want check:p99 and check:up (conversions is compared only)", len(gs), err)
	}
	ab := spec.AB()
	if !ab.Errors || ab.Latency || len(ab.Checks) != 2 || ab.Checks[0].Name != "conversions" || ab.Checks[1].Name != "p99" {
		t.Errorf("AB() = %+v, want errors and the two checks with a direction", ab)
	}
	for _, c := range []struct {
		check gates.CheckSpec
		want  string
	}{
		{gates.CheckSpec{Name: "x", Query: "up", Direction: "up"}, `input "direction": must be higher-is-better or lower-is-better`},
		{gates.CheckSpec{Name: "x", Query: "up"}, "a check needs max, min or both, or a direction"},
	} {
		if err := c.check.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.check, err, c.want)
		}
	}
}
