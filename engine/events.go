// Package engine executes a rollout plan against a provider: it shifts
// traffic, holds while polling the gates, decides, records the rollout on the
// provider, and rolls back on a failed gate, on cancellation or on command.
// It reports everything it does as typed events.
package engine

import (
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/hooks"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// Event is something the engine did or saw; reporters switch on its
// pointer type (*Shifted, *GateChecked, ...).
type Event interface {
	// Type names the event in machine output, e.g. "shifted".
	Type() string
	// Time is when it happened.
	Time() time.Time
	stamp(time.Time)
}

// Sink receives events in order. It must not block for long.
type Sink func(Event)

// At carries an event's time.
type At struct {
	At time.Time `json:"time"`
}

// Time returns when the event happened.
func (a *At) Time() time.Time { return a.At }

func (a *At) stamp(t time.Time) { a.At = t }

// Started opens a rollout.
type Started struct {
	At
	ID           string          `json:"id"`
	Service      string          `json:"service"`
	Strategy     string          `json:"strategy"`
	Stable       string          `json:"stable,omitempty"`
	Candidate    string          `json:"candidate"`
	CandidateURL string          `json:"candidate_url,omitempty"`
	ServiceURL   string          `json:"service_url,omitempty"`
	Plan         strategies.Plan `json:"plan"`
	FirstDeploy  bool            `json:"first_deploy,omitempty"`
	Resumed      bool            `json:"resumed,omitempty"`
}

// StepStarted begins a step of the plan.
type StepStarted struct {
	At
	Index int             `json:"index"`
	Total int             `json:"total"`
	Step  strategies.Step `json:"step"`
}

// Shifted reports the split the platform reports after a shift.
type Shifted struct {
	At
	From   int `json:"from"`
	Weight int `json:"weight"`
	// Instances is how many instances run the candidate, after a replace
	// step (strategy rolling).
	Instances int `json:"instances,omitempty"`
}

// GateChecked reports one gate check and the gate's standing after it.
type GateChecked struct {
	At
	Index   int           `json:"index"`
	Weight  int           `json:"weight"`
	Result  gates.Result  `json:"result"`
	Verdict gates.Verdict `json:"verdict"`
}

// Holding says the step holds at its weight, and why.
type Holding struct {
	At
	Weight int    `json:"weight"`
	Reason string `json:"reason"`
}

// StepDone closes a step.
type StepDone struct {
	At
	Index int             `json:"index"`
	Step  strategies.Step `json:"step"`
	Took  time.Duration   `json:"took"`
	// Verdict is the comparative judge's standing at the end of an analyze
	// step with traffic on both versions; empty otherwise.
	Verdict gates.JudgeVerdict `json:"verdict,omitempty"`
}

// Judged reports one window of both versions' traffic and the comparative
// judge's evidence after it.
type Judged struct {
	At
	Index  int          `json:"index"`
	Weight int          `json:"weight"`
	Window gates.Window `json:"window"`
	// Candidate and Stable are the window's counts (latency left out).
	Candidate gates.Tally2    `json:"candidate"`
	Stable    gates.Tally2    `json:"stable"`
	Evidence  *gates.Evidence `json:"evidence,omitempty"`
	// AB is an A/B test's comparison after the window; nil outside one.
	AB *gates.ABVerdict `json:"ab,omitempty"`
	// CandidateP99MS and StableP99MS are each version's p99 latency over
	// the window in milliseconds (the histogram bound it falls under);
	// zero when the source measures no latency or the version served
	// nothing.
	CandidateP99MS float64 `json:"candidate_p99_ms,omitempty"`
	StableP99MS    float64 `json:"stable_p99_ms,omitempty"`
}

// Warning is a problem the rollout survived (a retried call, a reporter).
type Warning struct {
	At
	Message string `json:"message"`
}

// Paused reports that the rollout holds until resumed, promoted or rolled back.
type Paused struct {
	At
	Weight int    `json:"weight"`
	Step   int    `json:"step"`
	Reason string `json:"reason"`
	// Elsewhere is set when another process paused it and this one only
	// saw it.
	Elsewhere bool `json:"elsewhere,omitempty"`
}

// Promoted reports the candidate became stable.
type Promoted struct {
	At
	Revision      string    `json:"revision"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`
}

// RolledBack reports all traffic went back to the stable revision.
type RolledBack struct {
	At
	From   int    `json:"from"`
	Reason string `json:"reason"`
}

// HookCalled reports one call of a webhook and its answer (the rollout
// webhooks, which are gates, are reported as GateChecked).
type HookCalled struct {
	At
	Weight int          `json:"weight"`
	Answer hooks.Answer `json:"answer"`
}

// Finished closes the run with its result.
type Finished struct {
	At
	Result Result `json:"result"`
}

// Type names.
func (Started) Type() string     { return "started" }
func (StepStarted) Type() string { return "step_started" }
func (Shifted) Type() string     { return "shifted" }
func (GateChecked) Type() string { return "gate_checked" }
func (Judged) Type() string      { return "judged" }
func (Holding) Type() string     { return "holding" }
func (StepDone) Type() string    { return "step_done" }
func (Warning) Type() string     { return "warning" }
func (Paused) Type() string      { return "paused" }
func (Promoted) Type() string    { return "promoted" }
func (RolledBack) Type() string  { return "rolled_back" }
func (Finished) Type() string    { return "finished" }
func (HookCalled) Type() string  { return "hook_called" }

// Outcome is how a run ended.
type Outcome string

// The outcomes of a run.
const (
	// OutcomePromoted: the candidate is stable with all the traffic.
	OutcomePromoted Outcome = "promoted"
	// OutcomeRolledBack: all the traffic is back on the stable revision.
	OutcomeRolledBack Outcome = "rolled_back"
	// OutcomePaused: the rollout holds; a later resume or promote continues it.
	OutcomePaused Outcome = "paused"
	// OutcomeCancelled: the process was cancelled (and did what on-cancel says).
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeFailed: the provider failed and the stable could not be restored.
	OutcomeFailed Outcome = "failed"
)

// Result is the end of a run.
type Result struct {
	Outcome   Outcome `json:"outcome"`
	Reason    string  `json:"reason,omitempty"`
	Stable    string  `json:"stable,omitempty"`
	Candidate string  `json:"candidate,omitempty"`
	Weight    int     `json:"weight"`
	URL       string  `json:"url,omitempty"`
	// Verdict is the comparison's verdict: promote (evidence the candidate
	// is no worse), rollback (a gate or the judge found it worse),
	// inconclusive, or none (nothing compared).
	Verdict gates.JudgeVerdict `json:"verdict,omitempty"`
	// Evidence is the judge's final standing; nil when it did not run.
	Evidence *gates.Evidence `json:"evidence,omitempty"`
	// AB is an A/B test's comparison: the winner, or that no difference
	// was found, and both variants per metric; nil outside an A/B test.
	AB      *gates.ABVerdict  `json:"ab,omitempty"`
	Rollout providers.Rollout `json:"-"`
	Err     error             `json:"-"`
}
