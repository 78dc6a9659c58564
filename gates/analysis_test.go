package gates_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// querySource records the windows asked for and answers each with one
// candidate request per second of it, or with err when set.
type querySource struct {
	asked []gates.Window
	err   error
	delay time.Duration // what MetricsDelay says, when the source is delayed
}

func (s *querySource) Observe(_ context.Context, q gates.CountQuery) (gates.Observation, error) {
	s.asked = append(s.asked, q.Window)
	if s.err != nil {
		return gates.Observation{}, s.err
	}
	n := int64(q.Window.Duration() / time.Second)
	return gates.Observation{Candidate: gates.Counts{Requests: n}, Stable: gates.Counts{Requests: 9 * n}}, nil
}

// delayedSource is a querySource that asks for a delay.
type delayedSource struct{ querySource }

func (s *delayedSource) MetricsDelay() time.Duration { return s.delay }

// TestPollDelayedWindows polls at the given offsets from t0 and checks the
// windows measured: each ends delay before its poll and starts where the
// last one measured ended, so every second of traffic counts once.
func TestPollDelayedWindows(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	win := func(from, to time.Duration) gates.Window { return gates.Window{Start: at(from), End: at(to)} }
	const m = time.Minute
	cases := []struct {
		name  string
		delay time.Duration
		polls []time.Duration
		fail  int // the poll, from 1, whose source call fails; 0: none
		asked []gates.Window
	}{
		{"no delay", 0, []time.Duration{m, 2 * m, 150 * time.Second}, 0,
			[]gates.Window{win(0, m), win(m, 2*m), win(2*m, 150*time.Second)}},
		{"three minutes late", 3 * m, []time.Duration{m, 2 * m, 4 * m}, 0,
			[]gates.Window{win(-3*m, -2*m), win(-2*m, -m), win(-m, m)}},
		{"a failed call is measured with the next window", 3 * m, []time.Duration{m, 2 * m, 3 * m}, 2,
			[]gates.Window{win(-3*m, -2*m), win(-2*m, -m), win(-2*m, 0)}},
		{"after a gap of more than ten windows, the last window only", 3 * m, []time.Duration{m, 13 * m}, 0,
			[]gates.Window{win(-3*m, -2*m), win(9*m, 10*m)}},
		{"a poll at the same time asks for nothing", 3 * m, []time.Duration{m, m, 2 * m}, 0,
			[]gates.Window{win(-3*m, -2*m), win(-2*m, -m)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := &querySource{}
			a := gates.Metrics{Source: src, Delay: tc.delay,
				Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 10, MinRequests: 1}}}.Start()
			target := gates.Target{Candidate: providers.Revision{ID: "v2"}, Stable: &providers.Revision{ID: "v1"}, Window: m}
			var counted int64
			for i, d := range tc.polls {
				src.err = nil
				if i+1 == tc.fail {
					src.err = errors.New("unavailable")
				}
				p := a.Poll(t.Context(), target, at(d))
				if (p.Err != nil) != (i+1 == tc.fail) || (p.Err == nil && len(p.Guardrails) != 1) {
					t.Fatalf("poll %d: error %v, %d guardrail checks", i+1, p.Err, len(p.Guardrails))
				}
				counted += p.Observation.Candidate.Requests
			}
			if len(src.asked) != len(tc.asked) {
				t.Fatalf("asked for %v, want %v", src.asked, tc.asked)
			}
			var want int64
			for i, w := range tc.asked {
				if !src.asked[i].Start.Equal(w.Start) || !src.asked[i].End.Equal(w.End) {
					t.Errorf("window %d: %v, want %v", i+1, src.asked[i], w)
				}
				if i+1 != tc.fail {
					want += int64(w.Duration() / time.Second)
				}
			}
			if counted != want {
				t.Errorf("counted %d requests, want %d: each second once", counted, want)
			}
		})
	}
}

// TestMetricsDelayDefault checks where Build takes the delay from: the
// metrics-delay given, even 0, else the source's own MetricsDelay, else 0.
func TestMetricsDelayDefault(t *testing.T) {
	t.Parallel()
	zero, five := time.Duration(0), 5*time.Minute
	for _, tc := range []struct {
		name  string
		src   gates.MetricSource
		given *time.Duration
		want  time.Duration
	}{
		{"a prompt source", &querySource{}, nil, 0},
		{"a late source", &delayedSource{querySource{delay: 3 * time.Minute}}, nil, 3 * time.Minute},
		{"a late source, 0 given", &delayedSource{querySource{delay: 3 * time.Minute}}, &zero, 0},
		{"a prompt source, 5m given", &querySource{}, &five, five},
		{"a source asking for a negative delay", &delayedSource{querySource{delay: -time.Minute}}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSpec()
			s.MetricsDelay = tc.given
			_, m, err := gates.Build(s, tc.src, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			if m.Delay != tc.want || s.Delay(tc.src) != tc.want {
				t.Errorf("delay %s (Spec.Delay %s), want %s", m.Delay, s.Delay(tc.src), tc.want)
			}
		})
	}
}
