package report_test

import (
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// Rollouts the comparative judge weighs: each poll is a window fed to a
// real gates.Judge, reported as the engine does (a Judged event, then the
// guardrails' checks).

// judge adds a poll of step index at weight: window o of the 30s before sec,
// fed to j, and the evidence after it.
func (s *script) judge(sec float64, index, weight int, j *gates.Judge, o gates.Observation) gates.Evidence {
	e := j.Observe(o)
	end := t0.Add(time.Duration(sec * float64(time.Second)))
	s.add(sec, &engine.Judged{Index: index, Weight: weight, Window: gates.Window{Start: end.Add(-30 * time.Second), End: end},
		Candidate: gates.Tally2{Requests: o.Candidate.Requests, Bad: o.Candidate.Errors},
		Stable:    gates.Tally2{Requests: o.Stable.Requests, Bad: o.Stable.Errors}, Evidence: &e})
	return e
}

// doneJudged closes an analyze step with the judge's verdict at its end.
func (s *script) doneJudged(sec float64, p strategies.Plan, i int, took time.Duration, v gates.JudgeVerdict) *script {
	return s.add(sec, &engine.StepDone{Index: i, Step: p.Steps[i], Took: took, Verdict: v})
}

// counts is one window: candidate requests and errors, stable requests and
// errors.
func counts(nc, yc, ns, ys int64) gates.Observation {
	return gates.Observation{Candidate: gates.Counts{Requests: nc, Errors: yc}, Stable: gates.Counts{Requests: ns, Errors: ys}}
}

// guardrail is the 10% error-rate guardrail's check of a window.
func guardrail(v float64, samples int64) gates.Result {
	return gates.Result{Gate: gates.MetricErrorRate, Outcome: gates.Successful, Value: v, Unit: "%", Threshold: "<= 10",
		Query: "error-rate of the candidate", Window: 30 * time.Second, Samples: samples}
}

func newJudge() *gates.Judge {
	return gates.NewJudge(gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true})
}

// judgedCanary polls twice at 10% and twice at 50%, feeding windows to the
// judge and the guardrail, and returns the script and the last evidence;
// a rollback verdict stops it at that poll.
func judgedCanary(p strategies.Plan, windows [4]gates.Observation) (*script, gates.Evidence) {
	s := newScript().add(0, started(p, "v1", "v2"))
	j := newJudge()
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 10}).done(1, p, 0, time.Second).step(1, p, 1)
	polls := []struct {
		sec          float64
		step, weight int
	}{{31, 1, 10}, {61, 1, 10}, {92, 3, 50}, {122, 3, 50}}
	var e gates.Evidence
	for k, w := range windows {
		if k == 2 {
			s.doneJudged(61, p, 1, time.Minute, e.Verdict)
			s.step(61, p, 2).add(62, &engine.Shifted{From: 10, Weight: 50}).done(62, p, 2, time.Second).step(62, p, 3)
		}
		at := polls[k]
		if e = s.judge(at.sec, at.step, at.weight, j, w); e.Verdict == gates.VerdictRollback {
			return s, e
		}
		rate := 100 * float64(w.Candidate.Errors) / float64(w.Candidate.Requests)
		s.check(at.sec, at.step, at.weight, guardrail(rate, w.Candidate.Requests))
	}
	s.doneJudged(122, p, 3, time.Minute, e.Verdict)
	return s, e
}

// promotedWithEvidence: errors split as the traffic is, plenty of them,
// so the judge shows the candidate no worse during the 50% step.
func promotedWithEvidence() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote, bake)
	s, e := judgedCanary(p, [4]gates.Observation{counts(1000, 10, 9000, 90), counts(1000, 10, 9000, 90),
		counts(5000, 50, 5000, 50), counts(5000, 50, 5000, 50)})
	reason := "promoted with evidence: " + e.Explain()
	s.step(122, p, 4).add(123, &engine.Promoted{Revision: "v2", PreviousUntil: t0.Add(123*time.Second + 10*time.Minute)})
	s.done(123, p, 4, time.Second).step(123, p, 5)
	s.add(123, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Stable: "v2", Weight: 100, URL: serviceURL,
		Reason:  reason + "; every step before the bake passed (not waiting for the bake)",
		Verdict: e.Verdict, Evidence: &e}})
	return s.events
}

// promotedInconclusive: too few errors to tell; on-inconclusive promotes.
func promotedInconclusive() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote)
	s, e := judgedCanary(p, [4]gates.Observation{counts(400, 0, 3600, 1), counts(400, 1, 3600, 2),
		counts(2000, 0, 2000, 1), counts(2000, 1, 2000, 0)})
	reason := fmt.Sprintf("promoted without evidence: %d errors seen (%s)", e.Errors.Candidate.Bad+e.Errors.Stable.Bad, e.Explain())
	s.step(122, p, 4).add(123, &engine.Promoted{Revision: "v2", PreviousUntil: t0.Add(123*time.Second + 10*time.Minute)})
	s.done(123, p, 4, time.Second)
	s.add(123, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Stable: "v2", Weight: 100, URL: serviceURL,
		Reason: reason + "; every step passed", Verdict: e.Verdict, Evidence: &e}})
	return s.events
}

// judgeRolledBack: the candidate's errors outgrow its share at 50%, and
// the judge rolls it back while the 10% guardrail still passes.
func judgeRolledBack() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote)
	s, e := judgedCanary(p, [4]gates.Observation{counts(400, 1, 3600, 4), counts(400, 0, 3600, 3),
		counts(2000, 20, 2000, 1), counts(2000, 25, 2000, 2)})
	reason := "the candidate is worse than the stable: " + e.Errors.Explain(e.Needed)
	s.add(123, &engine.RolledBack{From: 50, Reason: reason})
	s.add(123, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: reason,
		Stable: "v1", Candidate: "v2", URL: serviceURL, Verdict: gates.VerdictRollback, Evidence: &e}})
	return s.events
}

// judgeConsoleCases are the console's lines about the judge.
var judgeConsoleCases = []consoleCase{{
	name:   "judge: promoted with evidence",
	events: promotedWithEvidence(),
	want: []string{
		"[00:31]  10% | judge: errors 10/1000 vs stable 90/9000 (ratio 0.25–2.83), evidence against 0.1, for 6.02 · needed 100 · inconclusive",
		"[01:01]  10% | step 2/6 done in 1m; judge: errors 20/2000 vs stable 180/18000 (ratio 0.25–2.83), " +
			"evidence against 0.06, for 19 · needed 100 · inconclusive",
		"[01:32]  50% | judge: errors 70/7000 vs stable 230/23000 (ratio 0.35–2), evidence against 0.02, for 274 · " +
			"needed 100 · promote: no worse than the stable",
		"[02:03] 100% | verdict: promoted with evidence: error-rate: evidence against the candidate 0, for it 76817, of 100 needed " +
			"(candidate 120/12000 errors, stable 280/28000; rate ratio 0.5–2); every step before the bake passed " +
			"(not waiting for the bake)",
	},
	// Unchanged verdicts wait for the step's end.
	absent: []string{"| judge: errors 20/2000", "| judge: errors 120/12000"},
}, {
	name:   "judge: live prints every poll",
	events: promotedWithEvidence(),
	live:   true,
	want: []string{
		"[00:31]  10% | judge: errors 10/1000 vs stable 90/9000 (ratio 0.25–2.83), evidence against 0.1, for 6.02 · needed 100 · inconclusive",
		"[01:01]  10% | judge: errors 20/2000 vs stable 180/18000 (ratio 0.25–2.83), evidence against 0.06, for 19 · needed 100 · inconclusive",
		"[01:32]  50% | judge: errors 70/7000 vs stable 230/23000 (ratio 0.35–2), evidence against 0.02, for 274 · " +
			"needed 100 · promote: no worse than the stable",
		"[02:02]  50% | judge: errors 120/12000 vs stable 280/28000 (ratio 0.5–2), evidence against 0, for 76817 · " +
			"needed 100 · promote: no worse than the stable",
	},
	absent: []string{"done in"},
}, {
	name:   "judge: promoted without evidence",
	events: promotedInconclusive(),
	want: []string{
		"[02:02]  50% | step 4/5 done in 1m; judge: errors 2/4800 vs stable 4/11200 (ratio unknown), evidence against 0.99, " +
			"for 0.6 · needed 100 · inconclusive",
		"[02:03] 100% | verdict: promoted without evidence (6 errors seen): error-rate: evidence against the candidate 0.99, " +
			"for it 0.6, of 100 needed (candidate 2/4800 errors, stable 4/11200; rate ratio unknown); every step passed",
	},
}, {
	name:   "judge: rolled back",
	events: judgeRolledBack(),
	want: []string{
		"[02:02]  50% | judge: errors 46/4800 vs stable 10/11200 (ratio 2–45.25), evidence against 999529, for 0 · " +
			"needed 100 · ROLLBACK: worse than the stable",
		"[02:03]   0% | verdict: rolled back: worse than the stable: error-rate: evidence against the candidate 999529, for it 0, " +
			"of 100 needed (candidate 46/4800 errors, stable 10/11200; rate ratio 2–45.25)",
	},
}}

func init() { consoleCases = append(consoleCases, judgeConsoleCases...) }

// noTraffic: nobody called the service, so the judge compared nothing.
func noTraffic() []engine.Event {
	p := plan("canary", shift50, analyze50, promote)
	s := newScript().add(0, started(p, "v1", "v2"))
	j := newJudge()
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 50}).done(1, p, 0, time.Second).step(1, p, 1)
	e := s.judge(31, 1, 50, j, counts(0, 0, 0, 0))
	s.judge(61, 1, 50, j, counts(0, 0, 0, 0))
	s.doneJudged(61, p, 1, time.Minute, e.Verdict).step(61, p, 2)
	s.add(62, &engine.Promoted{Revision: "v2"}).done(62, p, 2, time.Second)
	s.add(62, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Stable: "v2", Weight: 100,
		Reason: "every step passed", Verdict: e.Verdict, Evidence: &e}})
	return s.events
}

// guardrailRolledBack compares the versions with the judge off: six
// windows with p99 latency, two at 10% and four at 50%, where the
// candidate's errors fail the error-rate guardrail twice in a row.
func guardrailRolledBack() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote)
	s := newScript().add(0, started(p, "v1", "v2"))
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 10}).done(1, p, 0, time.Second).step(1, p, 1)
	windows := []struct {
		sec                float64
		step, weight       int
		nc, yc, ns, ys     int64
		candP99, stableP99 float64
	}{
		{31, 1, 10, 400, 1, 3600, 4, 50, 25}, {61, 1, 10, 400, 2, 3600, 3, 100, 25},
		{92, 3, 50, 2000, 40, 2000, 2, 250, 25}, {122, 3, 50, 2000, 60, 2000, 1, 500, 50},
	}
	for k, w := range windows {
		if k == 2 {
			s.done(61, p, 1, time.Minute).step(61, p, 2).add(62, &engine.Shifted{From: 10, Weight: 50}).done(62, p, 2, time.Second)
			s.step(62, p, 3)
		}
		end := t0.Add(time.Duration(w.sec * float64(time.Second)))
		s.add(w.sec, &engine.Judged{Index: w.step, Weight: w.weight, Window: gates.Window{Start: end.Add(-30 * time.Second), End: end},
			Candidate: gates.Tally2{Requests: w.nc, Bad: w.yc}, Stable: gates.Tally2{Requests: w.ns, Bad: w.ys},
			CandidateP99MS: w.candP99, StableP99MS: w.stableP99})
		r := errorRate(100*float64(w.yc)/float64(w.nc), w.nc, gates.Successful)
		if r.Value > 1 {
			r.Outcome = gates.Failed
		}
		v := s.check(w.sec, w.step, w.weight, r)
		if v.Outcome == gates.Failed {
			s.add(w.sec+1, &engine.RolledBack{From: 50, Reason: "guardrail " + v.Reason})
			s.add(w.sec+1, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: "guardrail " + v.Reason,
				Stable: "v1", Candidate: "v2", URL: serviceURL}})
		}
	}
	return s.events
}
