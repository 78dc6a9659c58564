package report_test

import (
	"errors"
	"reflect"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// t0 is when every scripted rollout starts.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	serviceURL   = "https://web.example.run.app"
	candidateURL = "https://v2---web.example.run.app"
)

// script builds the events of a rollout the way the engine emits them, at
// fixed times, with gate verdicts from the real gates.Assess.
type script struct {
	events  []engine.Event
	tallies map[string]gates.Tally
	limits  gates.Limits
}

func newScript() *script {
	return &script{tallies: map[string]gates.Tally{}, limits: gates.Limits{Failures: 2, Errors: 3}}
}

// add stamps ev sec seconds after t0 and appends it.
func (s *script) add(sec float64, ev engine.Event) *script {
	at := engine.At{At: t0.Add(time.Duration(sec * float64(time.Second)))}
	reflect.ValueOf(ev).Elem().FieldByName("At").Set(reflect.ValueOf(at))
	s.events = append(s.events, ev)
	return s
}

// check adds a gate check of step index at weight and returns its verdict.
func (s *script) check(sec float64, index, weight int, r gates.Result) gates.Verdict {
	t := s.tallies[r.Gate].Add(r)
	s.tallies[r.Gate] = t
	v := gates.Assess(t, s.limits)
	s.add(sec, &engine.GateChecked{Index: index, Weight: weight, Result: r, Verdict: v})
	return v
}

// step adds a step's start (and its end when took >= 0).
func (s *script) step(sec float64, plan strategies.Plan, i int) *script {
	s.tallies = map[string]gates.Tally{}
	return s.add(sec, &engine.StepStarted{Index: i, Total: len(plan.Steps), Step: plan.Steps[i]})
}

func (s *script) done(sec float64, plan strategies.Plan, i int, took time.Duration) *script {
	return s.add(sec, &engine.StepDone{Index: i, Step: plan.Steps[i], Took: took})
}

func errorRate(v float64, samples int64, out gates.Outcome) gates.Result {
	r := gates.Result{Gate: gates.MetricErrorRate, Outcome: out, Value: v, Unit: "%", Threshold: "<= 1",
		Query: `error-rate{revision="v2"}[30s]`, Window: 30 * time.Second, Samples: samples}
	if out == gates.Inconclusive {
		r.Message = "3 requests < min-requests 10"
	}
	return r
}

func probe(v float64, out gates.Outcome) gates.Result {
	r := gates.Result{Gate: "probe", Outcome: out, Value: v, Unit: "%", Threshold: ">= 95",
		Query: "GET " + candidateURL + "/healthz expect 200 within 500ms", Window: 30 * time.Second, Samples: 10}
	if out == gates.Failed {
		r.Message = "3 of 10 probes failed; last: status 500, want 200"
	}
	return r
}

func plan(strategy string, steps ...strategies.Step) strategies.Plan {
	return strategies.Plan{Strategy: strategy, Steps: steps, Interval: 30 * time.Second, FailureThreshold: 2}
}

var (
	shift10   = strategies.Step{Kind: strategies.KindShift, Weight: 10}
	analyze10 = strategies.Step{Kind: strategies.KindAnalyze, Weight: 10, Hold: time.Minute}
	shift50   = strategies.Step{Kind: strategies.KindShift, Weight: 50}
	analyze50 = strategies.Step{Kind: strategies.KindAnalyze, Weight: 50, Hold: time.Minute}
	pause10   = strategies.Step{Kind: strategies.KindPause, Weight: 10}
	promote   = strategies.Step{Kind: strategies.KindPromote, Weight: 100}
	bake      = strategies.Step{Kind: strategies.KindBake, Weight: 100, Hold: 10 * time.Minute}
)

func started(p strategies.Plan, stable, candidate string) *engine.Started {
	return &engine.Started{Service: "web", Strategy: p.Strategy, Stable: stable, Candidate: candidate,
		CandidateURL: candidateURL, ServiceURL: serviceURL, Plan: p, FirstDeploy: stable == ""}
}

// promotedCanary goes 10% -> 50% -> promoted, not waiting for the bake.
func promotedCanary() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote, bake)
	s := newScript().add(0, started(p, "v1", "v2"))
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 10}).done(1, p, 0, time.Second)
	s.step(1, p, 1)
	s.check(31, 1, 10, errorRate(0.2, 412, gates.Successful))
	s.check(31, 1, 10, probe(100, gates.Successful))
	s.check(61, 1, 10, errorRate(0.3, 398, gates.Successful))
	s.check(61, 1, 10, probe(100, gates.Successful))
	s.done(61, p, 1, time.Minute)
	s.step(61, p, 2).add(62, &engine.Shifted{From: 10, Weight: 50}).done(62, p, 2, time.Second)
	s.step(62, p, 3)
	s.check(92, 3, 50, errorRate(0.1, 2040, gates.Successful))
	s.check(92, 3, 50, probe(90, gates.Failed))
	s.check(122, 3, 50, errorRate(0.15, 1987, gates.Successful))
	s.check(122, 3, 50, probe(100, gates.Successful))
	s.done(122, p, 3, time.Minute)
	s.step(122, p, 4).add(123, &engine.Promoted{Revision: "v2", PreviousUntil: t0.Add(123*time.Second + 10*time.Minute)})
	s.done(123, p, 4, time.Second).step(123, p, 5)
	s.add(123, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Stable: "v2", Weight: 100, URL: serviceURL,
		Reason: "every step before the bake passed (not waiting for the bake)"}})
	return s.events
}

// rolledBackCanary waits for data at 10%, then fails its error rate at 50%.
func rolledBackCanary() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote)
	s := newScript().add(0, started(p, "v1", "v2"))
	s.step(0, p, 0).add(0.5, &engine.Warning{Message: "set weight 10% failed (attempt 1 of 5), retrying in 150ms: quota <exceeded>"})
	s.add(1, &engine.Shifted{From: 0, Weight: 10}).done(1, p, 0, time.Second)
	s.step(1, p, 1)
	s.check(31, 1, 10, errorRate(0, 3, gates.Inconclusive))
	v := s.check(61, 1, 10, errorRate(0, 3, gates.Inconclusive))
	s.add(61, &engine.Holding{Weight: 10, Reason: v.Reason})
	s.check(91, 1, 10, errorRate(0.4, 260, gates.Successful))
	s.done(91, p, 1, 90*time.Second)
	s.step(91, p, 2).add(92, &engine.Shifted{From: 10, Weight: 50}).done(92, p, 2, time.Second)
	s.step(92, p, 3)
	s.check(122, 3, 50, errorRate(4.2, 380, gates.Failed))
	v = s.check(152, 3, 50, errorRate(6.75, 402, gates.Failed))
	s.add(153, &engine.RolledBack{From: 50, Reason: v.Reason})
	s.add(153, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomeRolledBack, Reason: v.Reason,
		Stable: "v1", Candidate: "v2", URL: serviceURL}})
	return s.events
}

// pausedCanary stops at the plan's pause after 10%.
func pausedCanary() []engine.Event {
	p := plan("canary", shift10, analyze10, pause10, shift50, analyze50, promote)
	s := newScript().add(0, started(p, "v1", "v2"))
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 10}).done(1, p, 0, time.Second)
	s.step(1, p, 1)
	s.check(31, 1, 10, errorRate(0.2, 412, gates.Successful))
	s.check(61, 1, 10, errorRate(0.3, 398, gates.Successful))
	s.done(61, p, 1, time.Minute).step(61, p, 2)
	s.add(62, &engine.Paused{Weight: 10, Step: 3, Reason: "the plan pauses here"})
	s.add(62, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePaused, Reason: "the plan pauses here",
		Stable: "v1", Candidate: "v2", Weight: 10, URL: serviceURL}})
	return s.events
}

// firstDeploy checks a service's first revision on its own, then promotes it.
func firstDeploy() []engine.Event {
	p := strategies.FirstDeploy(plan("canary", shift10, analyze10, promote))
	s := newScript().add(0, started(p, "", "v1"))
	s.step(0, p, 0)
	s.check(1, 0, 0, probe(100, gates.Successful))
	s.done(1, p, 0, time.Second).step(1, p, 1)
	s.add(2, &engine.Promoted{Revision: "v1", PreviousUntil: t0.Add(2*time.Second + 10*time.Minute)})
	s.done(2, p, 1, time.Second)
	s.add(2, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomePromoted, Reason: "every step passed",
		Stable: "v1", Weight: 100, URL: serviceURL}})
	return s.events
}

// errDenied is a provider error that ends a run before it starts.
var errDenied = errors.New("read service status: permission denied")

// failedBeforeStart ends before any traffic moved.
func failedBeforeStart() []engine.Event {
	return newScript().add(0, &engine.Warning{Message: "read service status failed (attempt 1 of 5)"}).
		add(3, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomeFailed, Reason: errDenied.Error(), Err: errDenied}}).events
}

// cancelled is cancelled at 50% and sends the traffic back.
func cancelled() []engine.Event {
	p := plan("canary", shift10, analyze10, shift50, analyze50, promote)
	s := newScript().add(0, started(p, "v1", "v2"))
	s.step(0, p, 0).add(1, &engine.Shifted{From: 0, Weight: 10}).done(1, p, 0, time.Second).step(1, p, 1)
	reason := "cancelled (SIGTERM); all traffic sent back to the stable revision"
	s.add(5, &engine.RolledBack{From: 10, Reason: reason})
	s.add(5, &engine.Finished{Result: engine.Result{Outcome: engine.OutcomeCancelled, Reason: reason, Stable: "v1", Candidate: "v2"}})
	return s.events
}
