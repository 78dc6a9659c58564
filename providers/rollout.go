package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Phase is where a rollout stands.
type Phase string

// The phases of a rollout.
const (
	// PhaseNone means no rollout was ever recorded on the service.
	PhaseNone Phase = ""
	// PhaseProgressing means a process is shifting traffic and checking gates.
	PhaseProgressing Phase = "progressing"
	// PhasePaused means the rollout holds at its current weight until a
	// resume, promote or rollback from any process.
	PhasePaused Phase = "paused"
	// PhasePromoted means the candidate became stable.
	PhasePromoted Phase = "promoted"
	// PhaseRolledBack means all traffic went back to the stable revision.
	PhaseRolledBack Phase = "rolled_back"
	// PhaseCancelled means the process was cancelled and, as on-cancel: leave
	// asked, left the traffic where it was.
	PhaseCancelled Phase = "cancelled"
	// PhaseFailed means the rollout failed and could not restore the stable
	// revision; a person must look.
	PhaseFailed Phase = "failed"
)

// InFlight reports whether a rollout in this phase still has a candidate
// taking part (progressing, paused or left by a cancelled run).
func (p Phase) InFlight() bool {
	return p == PhaseProgressing || p == PhasePaused || p == PhaseCancelled
}

// Rollout is the record of one rollout, kept by the provider on the service
// (labels, tags, metadata) so that any later process can resume, promote or
// roll it back.
type Rollout struct {
	// ID identifies the rollout (unique per deploy).
	ID string `json:"id,omitempty"`
	// Phase is where the rollout stands.
	Phase Phase `json:"phase,omitempty"`
	// Strategy names the strategy that planned it.
	Strategy string `json:"strategy,omitempty"`
	// Step is the index in the plan of the step in progress.
	Step int `json:"step"`
	// Weight is the candidate weight the rollout last set.
	Weight int `json:"weight"`
	// Instances is how many instances run the candidate, as the rollout
	// last set them (strategy rolling; see Replaces).
	Instances int `json:"instances,omitempty"`
	// Stable and Candidate are the revision IDs taking part.
	Stable    string `json:"stable,omitempty"`
	Candidate string `json:"candidate,omitempty"`
	// Commit is the commit SHA the candidate was built from, if known.
	Commit string `json:"commit,omitempty"`
	// Reason explains the last change of phase (the failing gate and its
	// values for a rollback).
	Reason string `json:"reason,omitempty"`
	// Spec holds the rollout settings (strategy, steps, gates) so a later
	// process rebuilds the same plan; it never holds secrets.
	Spec json.RawMessage `json:"spec,omitempty"`
	// StartedAt and UpdatedAt bound the rollout in time.
	StartedAt time.Time `json:"started_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// PreviousUntil is when the revision replaced by the last promotion
	// stops being kept warm for a fast rollback.
	PreviousUntil time.Time `json:"previous_until,omitzero"`
	// Intent, while set, is a transition stated and maybe not yet made
	// (see ApplyStepwise), or a deploy still starting its candidate.
	Intent *Intent `json:"intent,omitempty"`
	// Lease names the process driving the rollout while it progresses.
	Lease *Lease `json:"lease,omitempty"`
	// Version counts the writes of the service's record, whichever rollout
	// wrote them. A writer sends the Version it last read; a store refuses
	// with ErrStale when the record changed since (see NextRecord), so a
	// pause or a promotion made by another process is never overwritten,
	// and of two deploys started together only one records its rollout.
	Version int64 `json:"version"`
}

// StrategyRolling is strategies.Rolling, the strategy whose rollouts move
// instances (ActionReplace) rather than weights.
const StrategyRolling = "rolling"

// Replaces reports whether the rollout moved instances rather than
// weights (a rolling rollout once its first batch is replaced): its
// Instances, not only its Weight, say where it stands.
func (r Rollout) Replaces() bool { return r.Strategy == StrategyRolling && r.Instances > 0 }

// NextRecord is the compare-and-set every provider applies when it stores
// a record: r may replace stored only when it was written from stored's
// Version. It returns r as it is to be stored, with the Version after this
// write.
func NextRecord(stored, r Rollout) (Rollout, error) {
	if stored.Version != r.Version {
		return Rollout{}, fmt.Errorf("record rollout %s: written from version %d, but the record is at version %d (rollout %s, %s): %w",
			r.ID, r.Version, stored.Version, stored.ID, stored.Phase, ErrStale)
	}
	r.Version++
	return r, nil
}

// Landed reports whether stored is sent as its writer wrote it (a write
// whose answer was lost, then refused as stale when tried again): every
// field the same (its intent too: a stated transition not yet recorded as
// made differs) but a later Version.
func Landed(stored, sent Rollout) bool {
	if stored.Version <= sent.Version {
		return false
	}
	sent.Version = stored.Version
	a, aerr := json.Marshal(stored)
	b, berr := json.Marshal(sent)
	return aerr == nil && berr == nil && bytes.Equal(a, b)
}
