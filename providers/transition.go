package providers

import (
	"context"
	"fmt"
	"time"
)

// Action is the traffic change a transition makes.
type Action string

// The actions of a transition.
const (
	// ActionRecord changes the record only: a pause, a resume, a new
	// rollout, a lease renewal, a cancelled run leaving the split.
	ActionRecord Action = "record"
	// ActionShift routes Weight percent to the candidate Revision and the
	// rest to the stable revision.
	ActionShift Action = "shift"
	// ActionReplace runs the candidate Revision on Instances of the
	// service's instances and the stable revision on the rest, which then
	// serve Weight percent and the rest of the traffic; at most Surge
	// instances beyond the full count run meanwhile. Only a Replacer
	// takes it.
	ActionReplace Action = "replace"
	// ActionPromote makes the candidate Revision stable with all the
	// traffic, keeping the revision it replaces warm for KeepPrevious.
	ActionPromote Action = "promote"
	// ActionRollback sends all the traffic to the stable revision and
	// retires the candidate Revision.
	ActionRollback Action = "rollback"
	// ActionRevert, after a promotion, sends all the traffic back to the
	// warm previous revision, which becomes stable again, and retires
	// Revision, the stable revision being reverted.
	ActionRevert Action = "revert"
	// ActionDeploy is never applied: it is the Intent a deploy records
	// before it starts a candidate, so a reader can tell a deploy that was
	// cut short (see Rollout.Intent).
	ActionDeploy Action = "deploy"
)

// Transition is one change of a rollout: a traffic change and the record
// that describes the service once it is made.
type Transition struct {
	// Action is the traffic change.
	Action Action `json:"action"`
	// Revision is the revision the action is about: the candidate for
	// shift, promote and rollback, the stable revision for revert. The
	// platform refuses the action (ErrNoCandidate, ErrConflict) when that
	// revision does not hold the role, so a transition decided on a stale
	// view never moves another revision's traffic.
	Revision string `json:"revision,omitempty"`
	// Weight is the candidate's percentage, for shift and replace.
	Weight int `json:"weight,omitempty"`
	// Instances is how many instances run the candidate, for replace.
	Instances int `json:"instances,omitempty"`
	// Surge is how many instances beyond the full count may run while a
	// replace is made; the old instances beyond that stop first.
	Surge int `json:"surge,omitempty"`
	// KeepPrevious is how long promote keeps the replaced revision warm.
	KeepPrevious time.Duration `json:"keep_previous,omitempty"`
	// Routing is how a shift routes by request beyond its weight (strategy
	// ab); nil routes by weight only. Only a RequestRouter takes it.
	Routing *Routing `json:"routing,omitempty"`
	// Record is the rollout record as it stands once the change is made;
	// its Version is the stored Version the writer read.
	Record Rollout `json:"record"`
}

// String describes the traffic change, e.g. "shift rev-2 to 10%".
func (t Transition) String() string {
	switch t.Action {
	case ActionShift:
		if !t.Routing.Empty() {
			return fmt.Sprintf("shift %s to %d%% (%s)", t.Revision, t.Weight, t.Routing)
		}
		return fmt.Sprintf("shift %s to %d%%", t.Revision, t.Weight)
	case ActionReplace:
		return fmt.Sprintf("replace %d instances with %s (%d%%)", t.Instances, t.Revision, t.Weight)
	case ActionPromote, ActionRollback, ActionRevert:
		return fmt.Sprintf("%s %s", t.Action, t.Revision)
	case ActionDeploy:
		if t.Revision == "" {
			return "deploy a candidate"
		}
		return "deploy " + t.Revision
	}
	return string(t.Action) + " the rollout"
}

// Validate checks the transition's own fields, before any call.
func (t Transition) Validate() error {
	switch t.Action {
	case ActionRecord:
		return nil
	case ActionShift:
		if t.Weight < 0 || t.Weight > 100 {
			return fmt.Errorf("%s: weight %d is outside 0..100: %w", t, t.Weight, ErrInvalid)
		}
	case ActionReplace:
		if t.Weight < 0 || t.Weight > 100 || t.Instances < 0 || t.Surge < 0 {
			return fmt.Errorf("%s: weight %d outside 0..100, or a negative count (instances %d, surge %d): %w",
				t, t.Weight, t.Instances, t.Surge, ErrInvalid)
		}
	case ActionPromote:
		if t.KeepPrevious < 0 {
			return fmt.Errorf("%s: keep-previous %s is negative: %w", t, t.KeepPrevious, ErrInvalid)
		}
	case ActionRollback, ActionRevert:
	default:
		return fmt.Errorf("transition %q: unknown action: %w", t.Action, ErrInvalid)
	}
	if t.Revision == "" {
		return fmt.Errorf("%s: no revision named: %w", t.Action, ErrInvalid)
	}
	return nil
}

// Done reports whether the platform, as st shows it, already made the
// traffic change, so applying it again only writes the record.
func (t Transition) Done(st Status) bool {
	id := func(r *Revision) string {
		if r == nil {
			return ""
		}
		return r.ID
	}
	switch t.Action {
	case ActionShift:
		return id(st.Candidate) == t.Revision && st.Weight == t.Weight && t.Routing.Equal(st.Routing)
	case ActionReplace:
		return id(st.Candidate) == t.Revision && (st.Instances.Ahead(t.Instances) ||
			st.Weight == t.Weight && st.Instances != nil && st.Instances.Candidate == t.Instances)
	case ActionPromote:
		return id(st.Stable) == t.Revision && st.Candidate == nil
	case ActionRollback:
		return id(st.Candidate) == "" && id(st.Stable) != t.Revision
	case ActionRevert:
		return id(st.Stable) != t.Revision
	}
	return true
}

// Intent is a transition stated in the record before it is made, by a
// platform that cannot change its traffic and the record in one write. It
// stays in the record until the outcome is written, so a record that holds
// one while no live process drives the rollout tells of an interrupted
// transition, which Apply of the same transition finishes.
type Intent struct {
	// Action, Revision, Weight, Instances, Surge, KeepPrevious and Routing
	// are the transition's.
	Action       Action        `json:"action"`
	Revision     string        `json:"revision,omitempty"`
	Weight       int           `json:"weight,omitempty"`
	Instances    int           `json:"instances,omitempty"`
	Surge        int           `json:"surge,omitempty"`
	KeepPrevious time.Duration `json:"keep_previous,omitempty"`
	Routing      *Routing      `json:"routing,omitempty"`
	// At is when it was stated.
	At time.Time `json:"at"`
}

// Transition is the transition that finishes the intent: its traffic change
// with rec, minus the intent, as the record.
func (i Intent) Transition(rec Rollout) Transition {
	rec.Intent = nil
	return Transition{Action: i.Action, Revision: i.Revision, Weight: i.Weight, Instances: i.Instances, Surge: i.Surge,
		KeepPrevious: i.KeepPrevious, Routing: i.Routing, Record: rec}
}

// Stepwise is what a platform offers whose traffic and record cannot be
// written together; ApplyStepwise builds Apply from it.
type Stepwise interface {
	// Record stores r, compare-and-set against r.Version (NextRecord), and
	// returns it as stored.
	Record(ctx context.Context, r Rollout) (Rollout, error)
	// Traffic makes t's traffic change only. It refuses a change whose
	// Revision does not hold the role, and does nothing when the platform
	// already shows the change.
	Traffic(ctx context.Context, t Transition) error
}

// ApplyStepwise applies t as a recorded intent, then the act, then the
// outcome: the record first states the transition (compare-and-set), the
// platform call follows, and the record of the outcome clears the intent.
// A process stopped in between leaves the intent for readers to see and for
// Apply of the same transition (Intent.Transition) to finish.
func ApplyStepwise(ctx context.Context, s Stepwise, t Transition) (Rollout, error) {
	if err := t.Validate(); err != nil {
		return Rollout{}, err
	}
	if t.Action == ActionRecord {
		return s.Record(ctx, t.Record)
	}
	stated := t.Record
	stated.Intent = &Intent{Action: t.Action, Revision: t.Revision, Weight: t.Weight, Instances: t.Instances, Surge: t.Surge,
		KeepPrevious: t.KeepPrevious, Routing: t.Routing, At: time.Now().UTC()}
	stored, err := s.Record(ctx, stated)
	if err != nil {
		return Rollout{}, fmt.Errorf("state the intent to %s: %w", t, err)
	}
	if err := s.Traffic(ctx, t); err != nil {
		return stored, fmt.Errorf("%s (stated in the record, not made): %w", t, err)
	}
	out := t.Record
	out.Intent, out.Version = nil, stored.Version
	if stored, err = s.Record(ctx, out); err != nil {
		return Rollout{}, fmt.Errorf("record the outcome of %s: %w", t, err)
	}
	return stored, nil
}

// Check reports whether the platform, as st shows it, lets t's traffic
// change be made: its Revision holds the role the action needs. Call it
// when Done is false; an error wraps ErrNoCandidate or ErrConflict.
func (t Transition) Check(st Status) error {
	cand, stable := revID(st.Candidate), revID(st.Stable)
	switch t.Action {
	case ActionShift, ActionReplace, ActionPromote, ActionRollback:
		if cand == "" {
			return fmt.Errorf("%s: the platform has no candidate: %w", t, ErrNoCandidate)
		}
		if cand != t.Revision {
			return fmt.Errorf("%s: the platform's candidate is %s: %w", t, cand, ErrConflict)
		}
	case ActionRevert:
		if cand != "" {
			return fmt.Errorf("%s: candidate %s is in flight; roll it back first: %w", t, cand, ErrConflict)
		}
		if stable != t.Revision {
			return fmt.Errorf("%s: the platform's stable revision is %s: %w", t, orNone(stable), ErrConflict)
		}
		if st.Previous == nil {
			return fmt.Errorf("%s: no previous revision is kept warm: %w", t, ErrNoCandidate)
		}
	}
	return nil
}
