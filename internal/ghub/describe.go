package ghub

import (
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/strategies"
)

// maxPending bounds the pending commit statuses of one run, far under
// GitHub's 1000 statuses per commit and context; the final status is always
// sent.
const maxPending = 50

// Commit status and deployment status states.
const (
	statePending    = "pending"
	stateSuccess    = "success"
	stateFailure    = "failure"
	stateError      = "error"
	stateInProgress = "in_progress"
	stateInactive   = "inactive"
)

// actionKind says what an action does on GitHub.
type actionKind int

const (
	// setStatus sets the commit status.
	setStatus actionKind = iota
	// startDeployment creates the deployment (unless resuming one) and
	// marks it in progress.
	startDeployment
	// setDeployment posts a deployment status.
	setDeployment
	// retirePrevious marks inactive the previous live ramp deployment of
	// the service to the environment, once the rollout is over and promoted.
	retirePrevious
	// revivePrevious marks live again the previous ramp deployment of the
	// service that retirePrevious retired for this one, after a rollback.
	revivePrevious
)

// action is one GitHub write a rollout's event calls for.
type action struct {
	kind    actionKind
	state   string
	desc    string
	context string // commit status context
	envURL  string // environment_url of a successful deployment
	final   bool   // the last word on the rollout: never dropped
	resumed bool   // startDeployment of a resumed rollout
	service string // the service deployed, for retirePrevious and revivePrevious; "" if unknown
	payload deploymentPayload
}

// deploymentPayload is the JSON payload of the deployments ramp creates.
// Tool and Service tell ramp's deployments of a service apart from those
// of other services (and other tools) in the same environment.
type deploymentPayload struct {
	Tool      string `json:"tool"`
	RolloutID string `json:"rollout_id,omitempty"`
	Service   string `json:"service,omitempty"`
	Strategy  string `json:"strategy,omitempty"`
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
}

// tracker follows a rollout's events and decides which statuses to send:
// one per step change or verdict, never one per gate check.
type tracker struct {
	context     string // configured commit status context, or ""
	rolloutID   string // configured rollout ID, or ""
	service     string // configured service, or ""
	deployments bool   // an environment is set

	started    *engine.Started
	serviceURL string // the service's URL, from Started or the result
	weight     int
	from       int  // the weight a rollback started from
	rolledBack bool // a RolledBack event was seen
	promoted   bool // a Promoted event was seen
	checks     []gates.Result
	holding    bool   // a holding status was sent for this step
	lastStatus string // state of the last commit status sent
	lastDesc   string
	pending    int    // pending statuses sent
	lastDeploy string // state of the last deployment status sent
	pausedSent bool
}

// observe returns the actions ev calls for.
func (t *tracker) observe(ev engine.Event) []action {
	switch e := ev.(type) {
	case *engine.Started:
		return t.start(e)
	case *engine.StepStarted:
		t.checks, t.holding = nil, false
	case *engine.Shifted:
		t.weight = e.Weight
		return t.progress(fmt.Sprintf("shifted from %d%%", e.From))
	case *engine.GateChecked:
		t.weight = e.Weight
		t.check(e.Result)
	case *engine.Holding:
		t.weight = e.Weight
		if !t.holding {
			t.holding = true
			return t.progress("holding: " + e.Reason)
		}
	case *engine.StepDone:
		return t.stepDone(e)
	case *engine.Paused:
		t.weight = e.Weight
		return t.paused(e.Reason)
	case *engine.Promoted:
		t.weight, t.promoted = 100, true
		return t.end(stateSuccess, stateSuccess, "promoted "+e.Revision+" to 100%")
	case *engine.RolledBack:
		t.from, t.weight, t.rolledBack = e.From, 0, true
	case *engine.Finished:
		return t.finish(e.Result)
	}
	return nil
}

func (t *tracker) start(e *engine.Started) []action {
	c := *e
	t.started, t.weight, t.pausedSent, t.rolledBack, t.promoted = &c, 0, false, false, false
	if e.ServiceURL != "" {
		t.serviceURL = e.ServiceURL
	}
	verb := "started"
	if e.Resumed {
		verb = "resumed"
	}
	desc := fmt.Sprintf("%s rollout of %s %s: candidate %s", t.label(), t.serviceName(), verb, e.Candidate)
	acts := t.status(statePending, desc, false)
	if t.deployments {
		d := fmt.Sprintf("%s rollout of %s: candidate %s", t.label(), t.serviceName(), e.Candidate)
		if e.Stable != "" {
			d += " replacing " + e.Stable
		}
		rollout := t.rolloutID
		if rollout == "" {
			rollout = e.ID
		}
		acts = append(acts, action{kind: startDeployment, state: stateInProgress, desc: clip(d, maxDescription),
			resumed: e.Resumed, service: t.serviceName(), payload: deploymentPayload{Tool: rampTool, RolloutID: rollout,
				Service: t.serviceName(), Strategy: e.Strategy, Candidate: e.Candidate, Stable: e.Stable}})
		t.lastDeploy = stateInProgress
	}
	return acts
}

// check keeps the last result of each gate in the step.
func (t *tracker) check(r gates.Result) {
	for i := range t.checks {
		if t.checks[i].Gate == r.Gate {
			t.checks[i] = r
			return
		}
	}
	t.checks = append(t.checks, r)
}

func (t *tracker) stepDone(e *engine.StepDone) []action {
	if e.Step.Kind != strategies.KindAnalyze && e.Step.Kind != strategies.KindBake {
		return nil
	}
	words := make([]string, 0, len(t.checks))
	for _, r := range t.checks {
		words = append(words, gateWords(r))
	}
	if len(words) == 0 {
		words = append(words, "held "+e.Took.Round(time.Second).String())
	}
	return t.progress(strings.Join(words, ", "))
}

// gateWords says briefly how a gate's last check went: "error-rate 0.2% ok".
func gateWords(r gates.Result) string {
	switch r.Outcome {
	case gates.Successful:
		return fmt.Sprintf("%s %s%s ok", r.Gate, gates.FormatValue(r.Value), r.Unit)
	case gates.Failed:
		return fmt.Sprintf("%s %s%s failed", r.Gate, gates.FormatValue(r.Value), r.Unit)
	case gates.Error:
		return r.Gate + ": not measured"
	}
	return r.Gate + ": not enough data"
}

func (t *tracker) paused(reason string) []action {
	if t.pausedSent {
		return nil
	}
	t.pausedSent = true
	desc := fmt.Sprintf("%s paused at %d%%", t.label(), t.weight)
	if reason != "" {
		desc += ": " + reason
	}
	acts := t.status(statePending, desc, true)
	return append(acts, t.deploy(stateInProgress, desc, true)...)
}

func (t *tracker) finish(res engine.Result) []action {
	if t.serviceURL == "" {
		t.serviceURL = res.URL
	}
	reason := ""
	if res.Reason != "" {
		reason = ": " + res.Reason
	}
	switch res.Outcome {
	case engine.OutcomePromoted:
		// Only now, the bake over, is the previous deployment replaced.
		return t.also(t.end(stateSuccess, stateSuccess, "promoted "+res.Stable+" to 100%"), retirePrevious)
	case engine.OutcomeRolledBack:
		from := ""
		if t.rolledBack {
			from = fmt.Sprintf(" from %d%%", t.from)
		}
		return t.revive(t.end(stateFailure, stateFailure, "rolled back"+from+reason))
	case engine.OutcomePaused:
		t.weight = res.Weight
		return t.paused(res.Reason)
	case engine.OutcomeCancelled:
		if !t.rolledBack && t.lastStatus == stateSuccess {
			// Cancelled during the bake: the promotion stands, and the
			// previous deployment is replaced as after a promotion.
			return t.also(nil, retirePrevious)
		}
		if t.rolledBack {
			desc := fmt.Sprintf("cancelled at %d%%; all traffic is back on the stable revision", t.from)
			return t.revive(t.end(stateError, stateError, desc))
		}
		return t.end(stateError, stateError, fmt.Sprintf("cancelled; traffic left at %d%%", res.Weight))
	}
	return t.end(stateFailure, stateError, "failed"+reason)
}

// also adds to acts the final action of kind on the previous deployment of
// the service, when deployments are on.
func (t *tracker) also(acts []action, kind actionKind) []action {
	if !t.deployments {
		return acts
	}
	return append(acts, action{kind: kind, service: t.serviceName(), envURL: t.serviceURL, final: true})
}

// revive adds to acts the restoring of the previous deployment after a
// rollback, when the rollout may have been promoted and finished before:
// it was promoted in this run, or this run is a command that did not start
// the rollout (then only GitHub knows). A rollout rolled back before its
// promotion never retired the previous deployment.
func (t *tracker) revive(acts []action) []action {
	if t.started != nil && !t.promoted {
		return acts
	}
	return t.also(acts, revivePrevious)
}

// end sends the final commit status and deployment status, each once.
func (t *tracker) end(status, deploy, text string) []action {
	desc := t.label() + " " + text
	var acts []action
	if t.lastStatus != status {
		acts = t.status(status, desc, true)
	}
	return append(acts, t.deploy(deploy, desc, true)...)
}

// progress sends a pending status for the current step.
func (t *tracker) progress(text string) []action {
	if isFinal(t.lastStatus) {
		return nil // after the verdict, only another verdict
	}
	return t.status(statePending, fmt.Sprintf("%s %d%% — %s", t.label(), t.weight, text), false)
}

// status returns the commit status action, unless it repeats the last one
// or the pending budget is spent.
func (t *tracker) status(state, desc string, final bool) []action {
	desc = clip(desc, maxDescription)
	if state == t.lastStatus && desc == t.lastDesc {
		return nil
	}
	if state == statePending && !final {
		if t.pending >= maxPending {
			return nil
		}
		t.pending++
	}
	t.lastStatus, t.lastDesc = state, desc
	return []action{{kind: setStatus, state: state, desc: desc, context: t.statusContext(), final: final || isFinal(state)}}
}

// deploy returns the deployment status action, unless it repeats the last.
func (t *tracker) deploy(state, desc string, final bool) []action {
	if !t.deployments || (state == t.lastDeploy && state != stateInProgress) {
		return nil
	}
	t.lastDeploy = state
	a := action{kind: setDeployment, state: state, desc: clip(desc, maxDescription), final: final}
	if state == stateSuccess {
		a.envURL = t.serviceURL
	}
	return []action{a}
}

// label names the rollout in descriptions: its strategy, or "rollout".
func (t *tracker) label() string {
	if t.started != nil && t.started.Strategy != "" {
		return t.started.Strategy
	}
	return "rollout"
}

// serviceName is the service of the rollout's Started event, or the
// configured one, or "".
func (t *tracker) serviceName() string {
	if t.started != nil && t.started.Service != "" {
		return t.started.Service
	}
	return t.service
}

// statusContext is the configured context, or ramp/<service>.
func (t *tracker) statusContext() string {
	switch {
	case t.context != "":
		return t.context
	case t.serviceName() != "":
		return "ramp/" + t.serviceName()
	}
	return "ramp"
}

func isFinal(state string) bool {
	return state == stateSuccess || state == stateFailure || state == stateError
}
