package report_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/report"
)

func console(events []engine.Event, live bool) []string {
	var b strings.Builder
	c := &report.Console{W: &b, Live: live}
	for _, ev := range events {
		c.Event(ev)
	}
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

type consoleCase struct {
	name   string
	events []engine.Event
	live   bool
	want   []string // lines that must appear, in this order
	absent []string // text that must not appear
}

var consoleCases = []consoleCase{{
	name:   "rolled back",
	events: rolledBackCanary(),
	want: []string{
		"[00:00]   0% | canary rollout of web: candidate v2, stable v1 (5 steps, checks every 30s)",
		"[00:00]   0% | step 1/5: shift to 10%",
		"[00:00]   0% | warning: set weight 10% failed (attempt 1 of 5), retrying in 150ms: quota <exceeded>",
		"[00:01]  10% | shifted 0% -> 10%",
		"[00:01]  10% | step 1/5 done in 1s",
		"[00:31]  10% | error-rate: not enough data: 3 requests < min-requests 10 (holding)",
		"[01:01]  10% | holding at 10%: error-rate: not enough data: 3 requests < min-requests 10",
		"[01:31]  10% | error-rate = 0.4% (threshold ≤ 1%, 260 samples over 30s) ok",
		"[01:32]  50% | shifted 10% -> 50%",
		"[02:02]  50% | error-rate = 4.2% (threshold ≤ 1%, 380 samples over 30s) failed (below the failure threshold, checking again)",
		"[02:32]  50% | error-rate = 6.75% (threshold ≤ 1%, 402 samples over 30s) FAILED",
		"[02:33]   0% | rolled back from 50% to 0%: error-rate failed 2 times in a row (failure-threshold 2): " +
			"6.75% (threshold ≤ 1%, 402 samples over 30s)",
		"[02:33]   0% | verdict: rolled back: error-rate failed 2 times in a row (failure-threshold 2): " +
			"6.75% (threshold ≤ 1%, 402 samples over 30s)",
	},
}, {
	name:   "promoted",
	events: promotedCanary(),
	want: []string{
		"[01:32]  50% | probe = 90% (threshold ≥ 95%, 10 samples over 30s): 3 of 10 probes failed; last: status 500, want 200 " +
			"failed (below the failure threshold, checking again)",
		"[02:03] 100% | promoted v2 to stable; the previous revision stays warm for 10m",
		"[02:03] 100% | step 6/6: bake for 10m",
		"[02:03] 100% | verdict: promoted: every step before the bake passed (not waiting for the bake)",
	},
}, {
	name:   "live keeps it terse",
	events: promotedCanary(),
	live:   true,
	want: []string{
		"[00:31]  10% | error-rate = 0.2% (threshold ≤ 1%, 412 samples over 30s) ok",
		"[01:02]  50% | shifted 10% -> 50%",
		"[01:32]  50% | error-rate = 0.1% (threshold ≤ 1%, 2040 samples over 30s) ok",
		"[02:02]  50% | probe = 100% (threshold ≥ 95%, 10 samples over 30s) ok",
	},
	absent: []string{"step 1/6", "done in", "0.3%", "0.15%"},
}, {
	name:   "paused",
	events: pausedCanary(),
	want: []string{
		"[01:02]  10% | paused at 10%: the plan pauses here",
		"[01:02]  10% | verdict: paused: the plan pauses here",
	},
}, {
	name:   "first deploy",
	events: firstDeploy(),
	want: []string{
		"[00:00]   0% | canary first deploy of web: candidate v1, no stable revision (2 steps, checks every 30s)",
		"[00:02] 100% | promoted v1 to stable",
	},
	absent: []string{"warm"},
}, {
	name:   "failed before start",
	events: failedBeforeStart(),
	want: []string{
		"[00:00]   ?% | warning: read service status failed (attempt 1 of 5)",
		"[00:03]   0% | verdict: failed: read service status: permission denied",
	},
	absent: []string{"error:"},
}, {
	name:   "a replace step of a rolling rollout",
	events: []engine.Event{&engine.Shifted{From: 25, Weight: 50, Instances: 2}},
	want:   []string{"[00:00]  50% | replaced: 2 instances run the candidate (25% -> 50% of the traffic)"},
	absent: []string{"shifted"},
}}

func TestConsole(t *testing.T) {
	t.Parallel()
	for _, tc := range consoleCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lines := console(tc.events, tc.live)
			next := 0
			for _, line := range lines {
				if next < len(tc.want) && line == tc.want[next] {
					next++
				}
			}
			if next < len(tc.want) {
				t.Errorf("output lacks, in order, the line\n%s\noutput:\n%s", tc.want[next], strings.Join(lines, "\n"))
			}
			for _, a := range tc.absent {
				if out := strings.Join(lines, "\n"); strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
		})
	}
}

func TestConsoleErrorNote(t *testing.T) {
	t.Parallel()
	ev := &engine.Finished{Result: engine.Result{Outcome: engine.OutcomeFailed, Reason: "could not record the pause",
		Err: errors.New("record rollout: quota exceeded")}}
	got := console([]engine.Event{ev}, false)
	want := []string{"[00:00]   0% | verdict: failed: could not record the pause (error: record rollout: quota exceeded)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// brokenWriter fails every write.
type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestReportersIgnoreWriteErrors(t *testing.T) {
	t.Parallel()
	sink := report.Multi((&report.Console{W: brokenWriter{}}).Event, (&report.JSON{W: brokenWriter{}}).Event,
		(&report.Console{}).Event, (&report.JSON{}).Event)
	for _, ev := range rolledBackCanary() {
		sink(ev) // must neither panic nor block
	}
}

func TestConsoleConcurrent(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	c := &report.Console{W: &b}
	var wg sync.WaitGroup
	events := promotedCanary()
	for _, ev := range events {
		wg.Go(func() { c.Event(ev) })
	}
	wg.Wait()
	if got, want := strings.Count(b.String(), "\n"), len(events); got != want {
		t.Errorf("wrote %d lines for %d events", got, want)
	}
}

func TestMulti(t *testing.T) {
	t.Parallel()
	var got []string
	rec := func(name string) engine.Sink {
		return func(ev engine.Event) { got = append(got, name+" "+ev.Type()) }
	}
	sink := report.Multi(rec("a"), nil, rec("b"))
	sink(&engine.Shifted{From: 0, Weight: 10})
	sink(&engine.Warning{Message: "slow"})
	want := []string{"a shifted", "b shifted", "a warning", "b warning"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	report.Multi()(&engine.Warning{}) // no sinks: a no-op
}
