package report

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// screen is a terminal's output, safe to read while the console writes.
type screen struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// take returns what was written since the last take.
func (s *screen) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// TestStatusLine follows a hold on a fake clock: the status line counts
// down every second, gives way to each printed line and comes back under
// it, and is erased when the step ends.
func TestStatusLine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		scr := &screen{}
		c := &Console{W: scr, Status: true, Width: 200}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); c.Refresh(ctx) }()
		emit := func(ev engine.Event) {
			at := engine.At{At: time.Now()}
			switch e := ev.(type) {
			case *engine.Started:
				e.At = at
			case *engine.StepStarted:
				e.At = at
			case *engine.GateChecked:
				e.At = at
			case *engine.Judged:
				e.At = at
			case *engine.StepDone:
				e.At = at
			}
			c.Event(ev)
		}
		step := strategies.Step{Kind: strategies.KindAnalyze, Weight: 10, Hold: time.Minute}
		emit(&engine.Started{Service: "web", Strategy: "canary", Stable: "v1", Candidate: "v2",
			Plan: strategies.Plan{Steps: []strategies.Step{{Kind: strategies.KindShift, Weight: 10}, step}, Interval: 10 * time.Second}})
		emit(&engine.StepStarted{Index: 1, Total: 2, Step: step})
		want := "[00:00]   0% | step 2/2: analyse at 10% for 1m\n" + clearLine +
			"step 2 of 2 · analyse at 10% · 1m left in the hold · next check in 10s · no check yet"
		if got := scr.take(); !strings.HasSuffix(got, want) {
			t.Errorf("at the step's start the screen ends with %q, want %q", got, want)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got, want := scr.take(), clearLine+"step 2 of 2 · analyse at 10% · 57s left in the hold · next check in 7s · no check yet"; !strings.HasSuffix(got, want) {
			t.Errorf("3s in, the screen ends with %q, want %q", got, want)
		}
		time.Sleep(7 * time.Second)
		emit(&engine.GateChecked{Index: 1, Weight: 10, Result: gates.Result{Gate: "probe", Outcome: gates.Successful, Value: 100,
			Unit: "%", Threshold: ">= 95", Samples: 10, Window: 10 * time.Second}})
		got := scr.take()
		want = clearLine + "[00:10]  10% | probe = 100% (threshold ≥ 95%, 10 samples over 10s) ok\n" + clearLine +
			"step 2 of 2 · analyse at 10% · 50s left in the hold · next check in 10s · checks: 1 passed, 0 not"
		if !strings.HasSuffix(got, want) {
			t.Errorf("after a check the screen ends with %q, want %q", got, want)
		}
		e := gates.Evidence{Verdict: gates.VerdictInconclusive, Needed: 100,
			Errors: gates.MetricEvidence{Metric: gates.MetricErrorRate, Against: 0.76, For: 0.72}}
		emit(&engine.Judged{Index: 1, Weight: 10, Candidate: gates.Tally2{Requests: 10}, Stable: gates.Tally2{Requests: 90}, Evidence: &e})
		if got, want := scr.take(), "judge: evidence against 0.76, for 0.72 of 100 needed"; !strings.HasSuffix(got, want) {
			t.Errorf("after the judge the screen ends with %q, want %q", got, want)
		}
		emit(&engine.StepDone{Index: 1, Step: step, Took: time.Minute})
		if got, want := scr.take(), clearLine+"[00:10]  10% | step 2/2 done in 1m\n"; got != want {
			t.Errorf("at the step's end the screen got %q, want %q", got, want)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := scr.take(); got != "" {
			t.Errorf("outside a hold the screen got %q", got)
		}
		cancel()
		<-done
	})
}

// TestStatusLineCut: a line wider than the terminal is cut, never wrapped.
func TestStatusLineCut(t *testing.T) {
	t.Parallel()
	p := Progress{Step: 2, Steps: 5, Kind: strategies.KindAnalyze, Weight: 10, HoldLeft: -1, NextCheck: -1,
		Waiting: strings.Repeat("guardrail error-rate: not enough data ", 5)}
	for _, w := range []int{20, 40, 80} {
		if got := fit(p.String(), w-1); len([]rune(got)) > w-1 || !strings.HasSuffix(got, "…") {
			t.Errorf("width %d: %q", w, got)
		}
	}
}

// TestConsoleWithoutStatusWritesPlainLines: without Status (not a
// terminal) the console writes no control character at all.
func TestConsoleWithoutStatusWritesPlainLines(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	c := &Console{W: &b}
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	step := strategies.Step{Kind: strategies.KindAnalyze, Weight: 10, Hold: time.Minute}
	c.Event(&engine.Started{At: engine.At{At: start}, Plan: strategies.Plan{Steps: []strategies.Step{step}, Interval: time.Second}})
	c.Event(&engine.StepStarted{At: engine.At{At: start}, Total: 1, Step: step})
	c.Event(&engine.Holding{At: engine.At{At: start.Add(time.Minute)}, Weight: 10, Reason: "no data"})
	c.Refresh(t.Context()) // returns at once without Status
	if got := b.String(); strings.ContainsAny(got, "\r\x1b") || strings.Count(got, "\n") != 3 {
		t.Errorf("plain output %q", got)
	}
}
