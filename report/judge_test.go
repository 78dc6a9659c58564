package report_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/report"
)

// TestJSONJudge: every poll's evidence and the final verdict are in the
// JSON Lines, infinite evidence included.
func TestJSONJudge(t *testing.T) {
	t.Parallel()
	_, objs := jsonLines(t, judgeRolledBack())
	var polls int
	for _, o := range objs {
		if o["type"] != "judged" {
			continue
		}
		polls++
		ev, _ := o["evidence"].(map[string]any)
		errs, _ := ev["errors"].(map[string]any)
		if _, ok := errs["against"].(float64); !ok || ev["needed"] != 100.0 || o["candidate"] == nil || o["window"] == nil {
			t.Errorf("judged line lacks its window, counts or evidence: %v", o)
		}
	}
	if polls != 4 {
		t.Errorf("%d judged lines, want 4", polls)
	}
	res, _ := objs[len(objs)-1]["result"].(map[string]any)
	ev, _ := res["evidence"].(map[string]any)
	if res["verdict"] != "rollback" || ev["verdict"] != "rollback" {
		t.Errorf("finished result lacks the verdict and the evidence: %v", res)
	}

	inf := gates.Evidence{Verdict: gates.VerdictRollback, Needed: 100, Windows: 9,
		Errors: gates.MetricEvidence{Metric: gates.MetricErrorRate, Verdict: gates.VerdictRollback, Against: math.Inf(1), RatioLow: 4}}
	line := string(report.Line(&engine.Finished{At: engine.At{At: t0}, Result: engine.Result{Outcome: engine.OutcomeRolledBack,
		Verdict: gates.VerdictRollback, Evidence: &inf}}))
	if !strings.Contains(line, `"verdict":"rollback","evidence":{"verdict":"rollback","needed":100,"windows":9,"errors":{`+
		`"metric":"error-rate","verdict":"rollback","against":1e+300,"for":0,`) {
		t.Errorf("infinite evidence is not capped: %s", line)
	}
}

// TestConsoleJudgeQuiet: a poll without the judge, or at 100% where there
// is no stable to compare with, prints nothing, even when Live.
func TestConsoleJudgeQuiet(t *testing.T) {
	t.Parallel()
	e := gates.Evidence{Verdict: gates.VerdictPromote, Needed: 100, Errors: gates.MetricEvidence{Metric: gates.MetricErrorRate,
		For: 300, Candidate: gates.Tally2{Requests: 9000, Bad: 90}, Stable: gates.Tally2{Requests: 9000, Bad: 90}, RatioLow: 0.5, RatioHigh: 1.7}}
	s := newScript().add(0, &engine.Judged{Weight: 50, Stable: gates.Tally2{Requests: 10}, Evidence: &e})
	s.add(30, &engine.Judged{Weight: 100, Evidence: &e}).add(60, &engine.Judged{Weight: 100})
	got := console(s.events, true)
	want := []string{"[00:00]  50% | judge: errors 90/9000 vs stable 90/9000 (ratio 0.5–1.7), evidence against 0, for 300 · " +
		"needed 100 · promote: no worse than the stable"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestVerdictLineJudge: the verdict line names the judge's standing when
// something else ended the rollout, and says nothing of it on a first
// deploy, where there is nothing to compare.
func TestVerdictLineJudge(t *testing.T) {
	t.Parallel()
	inconclusive := gates.Evidence{Verdict: gates.VerdictInconclusive, Needed: 100}
	none := gates.Evidence{Verdict: gates.VerdictNone, Needed: 100}
	cases := []struct {
		name  string
		first bool
		res   engine.Result
		want  string
	}{
		{"guardrail rollback", false, engine.Result{Outcome: engine.OutcomeRolledBack, Reason: "guardrail error-rate failed",
			Verdict: gates.VerdictRollback, Evidence: &inconclusive},
			"verdict: rolled back: guardrail error-rate failed; the judge stood at inconclusive"},
		{"first deploy", true, engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed", Evidence: &none},
			"verdict: promoted: every step passed"},
		{"nothing compared", false, engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed", Evidence: &none},
			"verdict: promoted without evidence (nothing compared): every step passed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScript().add(0, &engine.Started{Service: "web", Candidate: "v2", FirstDeploy: tc.first})
			got := console(s.add(time.Second.Seconds(), &engine.Finished{Result: tc.res}).events, false)
			if last := got[len(got)-1]; !strings.HasSuffix(last, "| "+tc.want) {
				t.Errorf("verdict line %q, want it to end with %q", last, tc.want)
			}
		})
	}
}

// TestSummaryJudgeNothingCompared: without a comparison there is no
// evidence to fold out.
func TestSummaryJudgeNothingCompared(t *testing.T) {
	t.Parallel()
	if got := summarize(noTraffic(), "", "").Markdown(); strings.Contains(got, "<details>") {
		t.Errorf("summary has details without a comparison:\n%s", got)
	}
}
