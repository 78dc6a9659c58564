// Package crashtest is the crash-point suite every provider runs: it stops
// a rollout at each of its provider calls in turn, before the call reaches
// the platform and after it landed with its answer lost, or runs a
// promote, rollback or pause from another process right there; then a new
// process reads the status, as `ramp status` shows it, and recovers as a
// user would. Each case checks that the record and the platform agree (or
// that the drift was reported and repaired), that the service ends as the
// last accepted command decided, and that nothing is lost.
//
// A provider's test calls Run with a Suite whose Service prepares a fresh
// service on that provider for every case. A failed case logs what each
// process did and what status showed; CRASHTEST_JOURNAL=1 logs it for
// every case, and CRASHTEST_CASE=<regexp> runs only the cases it matches
// (e.g. "paused/pause/09"; the uninterrupted runs always run).
package crashtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// Scenario is one rollout the suite stops at every call.
type Scenario struct {
	// Name names it in subtests.
	Name string
	// Steps are the canary steps, as --steps takes them.
	Steps string
	// Strategy is the plan's strategy: "" is canary (through Steps), or
	// rolling when Instances is set; bluegreen ignores Steps; rolling
	// replaces Instances in batches of MaxUnavailable (25% surge and 25%
	// unavailable when Strategy is ""), and keeps no previous revision
	// warm.
	Strategy       string
	Instances      int
	MaxUnavailable string
	// Failing makes the candidate fail its gates.
	Failing bool
	// End is how the rollout ends when nothing stops it.
	End providers.Phase
	// PauseWeight is the weight a rollout ending paused holds.
	PauseWeight int
}

// rolling says the scenario's strategy is rolling.
func (sc Scenario) rolling() bool {
	return sc.Strategy == strategies.Rolling || (sc.Strategy == "" && sc.Instances > 0)
}

// Scenarios are the rollouts of the suite: one ending promoted, one rolled
// back by a failing gate, one paused by a pause step.
var Scenarios = []Scenario{
	{Name: "promoted", Steps: "10,50,100", End: providers.PhasePromoted},
	{Name: "rolled-back", Steps: "10,50,100", Failing: true, End: providers.PhaseRolledBack},
	{Name: "paused", Steps: "10,pause,50,100", End: providers.PhasePaused, PauseWeight: 10},
}

// plan is the scenario's plan at interval: a canary, or rolling.
func (sc Scenario) plan(interval time.Duration) (strategies.Plan, error) {
	if sc.Strategy != "" && sc.Strategy != "canary" {
		return strategies.New(strategies.Spec{Strategy: sc.Strategy, Interval: interval, FailureThreshold: 1,
			Instances: sc.Instances, MaxUnavailable: sc.MaxUnavailable})
	}
	if sc.Instances > 0 {
		return strategies.New(strategies.Spec{Strategy: strategies.Rolling, Instances: sc.Instances, MaxSurge: "25%", MaxUnavailable: "25%",
			Interval: interval, FailureThreshold: 1})
	}
	steps, err := strategies.ParseSteps(sc.Steps)
	if err != nil {
		return strategies.Plan{}, err
	}
	return strategies.New(strategies.Spec{Strategy: "canary", Steps: steps, Interval: interval, FailureThreshold: 1})
}

// Mode is what happens at the stop.
type Mode string

// The modes of a case.
const (
	// Uninterrupted runs the rollout with no stop.
	Uninterrupted Mode = "uninterrupted"
	// Kill kills the deploy process.
	Kill Mode = "kill"
	// Promote, Rollback and Pause run that command from another process.
	Promote  Mode = "promote"
	Rollback Mode = "rollback"
	Pause    Mode = "pause"
)

// Modes are the modes every stop point runs in.
var Modes = []Mode{Kill, Promote, Rollback, Pause}

// command runs the mode's command on e and returns its result and the phase
// it decides when it succeeds.
func (m Mode) command(ctx context.Context, e *engine.Engine) (engine.Result, providers.Phase) {
	switch m {
	case Promote:
		res := e.Promote(ctx, "promoted by another process")
		return res, outcomePhase(res, engine.OutcomePromoted, providers.PhasePromoted)
	case Rollback:
		res := e.Rollback(ctx, "rolled back by another process")
		return res, outcomePhase(res, engine.OutcomeRolledBack, providers.PhaseRolledBack)
	case Pause:
		res := e.Pause(ctx, "paused by another process")
		return res, outcomePhase(res, engine.OutcomePaused, providers.PhasePaused)
	}
	panic(fmt.Sprintf("crashtest: mode %q runs no command", m))
}

// outcomePhase is phase when res is the success want, or PhaseNone when
// the command was refused or ended otherwise.
func outcomePhase(res engine.Result, want engine.Outcome, phase providers.Phase) providers.Phase {
	if res.Outcome == want && res.Err == nil {
		return phase
	}
	return providers.PhaseNone
}

// Case is one run of a scenario with one stop.
type Case struct {
	Scenario Scenario
	Mode     Mode
	// K is the call the stop is at (1-based), When where around it.
	K    int
	When When
	// At names call K.
	At string
}

// String names the case, e.g. "paused/kill/07-after-Apply_shift".
func (c Case) String() string {
	if c.Mode == Uninterrupted {
		return c.Scenario.Name + "/uninterrupted"
	}
	words := strings.Fields(c.At)
	at := strings.Join(words[:min(2, len(words))], "_")
	return fmt.Sprintf("%s/%s/%02d-%s-%s", c.Scenario.Name, c.Mode, c.K, c.When, at)
}

// Service is one fresh service on the provider under test, its stable
// revision running and ready, for one case.
type Service struct {
	// Connect returns the provider of a new process (the deploy, another
	// process, the one that recovers): each call is one process's own view
	// of the same service.
	Connect func() providers.Provider
	// Stable is the ID of the revision the service runs.
	Stable string
	// Artifact is the candidate to deploy.
	Artifact providers.Artifact
	// Candidate is the ID the platform gives the candidate; empty means
	// Artifact.Revision.
	Candidate string
	// Metrics returns how one process judges the traffic; src is that
	// process's provider as a metric source, nil when it measures nothing.
	Metrics func(src gates.MetricSource) gates.Metrics
	// OnWrite, if set, installs tap to be called before each write the
	// platform makes inside a provider call, from the calling goroutine
	// (see Proc.Tap), so stops fall between the steps of a stepwise Apply.
	OnWrite func(tap func(write string))
	// Renames says the platform names each deploy's candidate anew (ECS
	// registers a task-definition revision each time): after a recovery
	// that deploys again, the end state's candidate is the one its record
	// names. NoPrevious says the platform keeps no previous revision warm
	// after a promotion (ECS's own deployments remove it).
	Renames, NoPrevious bool
	// Check, if set, runs once the case's end state was checked (the load
	// a local service served meanwhile, ...).
	Check func(t *testing.T)
}

// Suite is the crash-point suite of one provider.
type Suite struct {
	// Provider names the provider in the summary.
	Provider string
	// Service prepares a fresh service for one case of sc. It runs inside
	// the case's synctest bubble when Synctest is set.
	Service func(t *testing.T, sc Scenario) *Service
	// Interval is the plan's check interval; ProgressDeadline the engine's.
	Interval         time.Duration
	ProgressDeadline time.Duration
	// Synctest runs each case in a testing/synctest bubble (providers that
	// do no real I/O).
	Synctest bool
	// CommandHold is how long the call a command from another process
	// arrives at is held, at most: the deploy waits there while the
	// command runs, and goes on once the command is done or the hold is
	// over (a command may wait for the deploy), as if the platform were
	// that slow to take or answer the call. Keep it under a lease: a
	// process stalled longer than its lease is taken for dead, rightly.
	// 0 means 2s.
	CommandHold time.Duration
	// DeployHold is CommandHold for a Deploy call: a candidate may take
	// minutes to start, longer than a lease, and the deploy must stay
	// alive meanwhile (synctest makes such holds free). 0 means
	// CommandHold.
	DeployHold time.Duration
	// Parallel bounds the cases run at once (at least 1).
	Parallel int
	// Sample, if set, picks the cases to run; nil runs every case.
	Sample func(Case) bool
	// Scenarios, if set, are the rollouts to run instead of the package's
	// Scenarios (canaries): for a provider that takes only some step lists
	// (ECS's own canary takes one step, then 100) or other strategies.
	Scenarios []Scenario
	// MinStopPoints is the least number of distinct kill points the suite
	// must reach; 0 means 30.
	MinStopPoints int
}

// EveryKillSomeCommands is a Suite.Sample for providers whose cases are
// slow (real processes, real clients): every kill point, and a command
// from another process at every other stop point (before odd calls, after
// even ones), promote, rollback and pause in turn by call. The in-memory
// suites run every command at every stop.
func EveryKillSomeCommands(c Case) bool {
	if c.Mode == Kill {
		return true
	}
	after := 0
	if c.When == After {
		after = 1
	}
	return (c.K+after)%2 == 1 && c.Mode == []Mode{Promote, Rollback, Pause}[c.K%3]
}

// Guardrail judges the traffic by one error-rate guardrail: at most maxRate
// percent over at least minRequests requests.
func Guardrail(src gates.MetricSource, maxRate float64, minRequests int64) gates.Metrics {
	if src == nil {
		return gates.Metrics{}
	}
	return gates.Metrics{Source: src, Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: maxRate, MinRequests: minRequests}}}
}
