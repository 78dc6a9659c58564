package report_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/report"
	"github.com/ramp-deploy/ramp/strategies"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>.md.golden, or rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".md.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func summarize(events []engine.Event, title, run string) *report.Summary {
	s := &report.Summary{Title: title, RunURL: run}
	for _, ev := range events {
		s.Event(ev)
	}
	return s
}

func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		events  []engine.Event
		run     string
		service string // for a rollout that ends before it starts
	}{
		{name: "promoted", events: promotedCanary(), run: "https://github.com/acme/web/actions/runs/42"},
		{name: "rolled_back", events: rolledBackCanary()},
		{name: "paused", events: pausedCanary()},
		{name: "first_deploy", events: firstDeploy()},
		{name: "failed", events: failedBeforeStart(), service: "web"},
		{name: "judge_promoted", events: promotedWithEvidence()},
		{name: "judge_inconclusive", events: promotedInconclusive()},
		{name: "judge_rolled_back", events: judgeRolledBack()},
		{name: "guardrail_compared", events: guardrailRolledBack()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := summarize(tc.events, "", tc.run)
			s.Service = tc.service
			got := s.Markdown()
			golden(t, tc.name, got)
			if again := s.Markdown(); again != got {
				t.Errorf("second rendering differs from the first")
			}
		})
	}
}

func TestMarkdownSeveralRollouts(t *testing.T) {
	t.Parallel()
	got := report.Markdown(
		summarize(promotedCanary(), "Healthy canary", "https://ci.example.com/run/7"),
		nil,
		summarize(rolledBackCanary(), "Broken canary", "https://ci.example.com/run/7"),
	)
	golden(t, "demo", got)
}

func TestSummaryVerdict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		events []engine.Event
		want   []string
	}{
		{"promoted", promotedCanary(), []string{"✅ **Promoted** candidate `v2` of `web` to stable, replacing `v1` · canary · 2m3s",
			"`v1` stays warm for 10m after the promotion"}},
		{"rolled back", rolledBackCanary(), []string{"↩️ **Rolled back** candidate `v2` of `web` from 50% to stable `v1`",
			"**Reason:** error-rate failed 2 times in a row (failure-threshold 2): 6.75% (threshold ≤ 1%, 402 samples over 30s)"}},
		{"paused", pausedCanary(), []string{"⏸️ **Paused** candidate `v2` of `web` at 10% beside stable `v1`", "**Reason:** the plan pauses here"}},
		{"cancelled", cancelled(), []string{"⛔ **Cancelled** candidate `v2` of `web` at 0% beside stable `v1`", "(cancelled) |"}},
		{"failed", failedBeforeStart(), []string{"❌ **Failed** before the rollout started\n", "**Reason:** read service status: permission denied"}},
		{"first deploy", firstDeploy(), []string{"✅ **Promoted** candidate `v1` of `web` to stable (first deploy)"}},
		{"promoted by command", newScript().add(0, &engine.Promoted{Revision: "v2"}).add(0, &engine.Finished{Result: engine.Result{
			Outcome: engine.OutcomePromoted, Reason: "promoted by alice", Stable: "v2", Weight: 100}}).events,
			[]string{"✅ **Promoted** candidate `v2` to stable\n"}},
		{"in progress", promotedCanary()[:9], []string{"⏳ **In progress**: candidate `v2` of `web` at 10% beside stable `v1`", "(running) |"}},
		{"judge promoted", promotedWithEvidence(), []string{"✅ **Promoted** candidate `v2` of `web` to stable, replacing `v1`, " +
			"**with evidence** it is no worse (76817 of 100 needed) · canary · 2m3s",
			"| ✅ judge: no worse<br>errors 120/12000 vs stable 280/28000 (ratio 0.5–2): evidence against 0, for 76817 (100 needed)<br>✅ error-rate passed 2 of 2 checks, last 1% (≤ 10%, 5000 samples) |",
			"<details><summary>✅ Judge: promote: no worse than the stable</summary>"}},
		{"judge inconclusive", promotedInconclusive(), []string{"✅ **Promoted** candidate `v2` of `web` to stable, replacing `v1`, " +
			"**without evidence** (6 errors seen, too few to compare) · canary · 2m3s", "| ⚖️ judge: inconclusive<br>errors 1/800 vs stable 3/7200"}},
		{"judge rolled back", judgeRolledBack(), []string{"↩️ **Rolled back** candidate `v2` of `web` from 50% to stable `v1` " +
			"because it is **worse than the stable** (evidence 999529 of 100 needed) · canary · 2m3s",
			"| ❌ judge: worse<br>errors 46/4800 vs stable 10/11200 (ratio 2–45.25): evidence against 999529, for 0 (100 needed)<br>",
			"- step 4, analyse at 50% for 1m: **rollback: worse than the stable**\n  - error-rate: evidence against the candidate 999529"}},
		{"judge compared nothing", noTraffic(), []string{"replacing `v1`, **without evidence** (no traffic on both versions to compare) · canary",
			"| 50% | 1m | ➖ judge: no traffic on both versions to compare | 1m |"}},
		{"judge in progress", promotedWithEvidence()[:12], []string{"⏳ **In progress**", "| ⚖️ judge: inconclusive<br>errors 20/2000", "(running) |",
			"<details><summary>⚖️ Judge: inconclusive</summary>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := summarize(tc.events, "", "").Markdown()
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("summary lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

func TestSummaryWallClock(t *testing.T) {
	t.Parallel()
	s := summarize(promotedCanary(), "", "")
	if got := s.Markdown(); strings.Contains(got, "2026-01-01") {
		t.Errorf("summary shows the wall clock without WallClock:\n%s", got)
	}
	s.WallClock = true
	if got, want := s.Markdown(), "started 2026-01-01 12:00:00 UTC"; !strings.Contains(got, want) {
		t.Errorf("summary lacks %q:\n%s", want, got)
	}
}

// longRollout is a linear rollout of n shift steps, each with a long warning.
func longRollout(n int) []engine.Event {
	steps := make([]strategies.Step, n)
	for i := range steps {
		steps[i] = strategies.Step{Kind: strategies.KindShift, Weight: 1 + i*99/n}
	}
	p := plan("linear", steps...)
	s := newScript().add(0, started(p, "v1", "v2"))
	for i := range n {
		sec := float64(i)
		s.step(sec, p, i).add(sec, &engine.Shifted{From: max(0, 1+(i-1)*99/n), Weight: steps[i].Weight})
		s.check(sec, i, steps[i].Weight, errorRate(0.1, 100, gates.Successful))
		s.add(sec, &engine.Warning{Message: strings.Repeat("slow ", 100)}).done(sec+1, p, i, time.Second)
	}
	return s.events
}

func TestSummaryBounded(t *testing.T) {
	t.Parallel()
	s := summarize(longRollout(250), "", "")
	got := s.Markdown()
	rows := 0
	for line := range strings.SplitSeq(got, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| # ") {
			rows++
		}
	}
	if want := report.MaxRows + 1; rows != want {
		t.Errorf("table has %d rows, want %d (capped, plus the … row)", rows, want)
	}
	for _, want := range []string{"| … | 50 more steps |", fmt.Sprintf("⚠️ %d warnings", 250), "- … 230 more"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	many := make([]*report.Summary, 200)
	for i := range many {
		many[i] = s
	}
	doc := report.Markdown(many...)
	if len(doc) > report.MaxBytes {
		t.Errorf("document is %d bytes, over %d", len(doc), report.MaxBytes)
	}
	if !strings.Contains(doc, "more rollouts left out") {
		t.Errorf("document does not say rollouts were left out")
	}
}

func TestSummaryConcurrent(t *testing.T) {
	t.Parallel()
	s := &report.Summary{}
	var wg sync.WaitGroup
	for _, ev := range promotedCanary() {
		wg.Go(func() { s.Event(ev) })
		wg.Go(func() { _ = s.Markdown() })
	}
	wg.Wait()
	if got := s.Markdown(); !strings.Contains(got, "Promoted") {
		t.Errorf("summary after concurrent events lacks the verdict:\n%s", got)
	}
}
