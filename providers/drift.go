package providers

import (
	"fmt"
	"time"
)

// DriftKind names a way the record and the platform can disagree.
type DriftKind string

// The kinds of drift Diagnose finds.
const (
	// DriftInterrupted: the record states a transition (or a deploy) that
	// no live process is finishing.
	DriftInterrupted DriftKind = "interrupted"
	// DriftSplit: the platform routes another weight than the record says.
	DriftSplit DriftKind = "split"
	// DriftUnrecordedPromotion: the record is in flight, the platform shows
	// its candidate promoted.
	DriftUnrecordedPromotion DriftKind = "unrecorded_promotion"
	// DriftUnrecordedRollback: the record is in flight, the platform shows
	// its candidate gone and the stable revision serving.
	DriftUnrecordedRollback DriftKind = "unrecorded_rollback"
	// DriftUnrecordedCandidate: the platform has a candidate no record in
	// flight names.
	DriftUnrecordedCandidate DriftKind = "unrecorded_candidate"
	// DriftUnmade: the record is final (promoted, rolled back) but its
	// candidate still is a candidate on the platform.
	DriftUnmade DriftKind = "unmade"
	// DriftStable: the platform's stable revision is not the one the record
	// promoted; a person must look.
	DriftStable DriftKind = "stable"
	// DriftOrphaned: the rollout progresses on record, but no live process
	// drives it.
	DriftOrphaned DriftKind = "orphaned"
)

// Drift is one disagreement between the record and the platform.
type Drift struct {
	Kind DriftKind `json:"kind"`
	// Detail says what disagrees, for people.
	Detail string `json:"detail"`
	// Repair is the command that repairs it, for people.
	Repair string `json:"repair"`
	// Fix is the transition that repairs it without a decision (its
	// Record.Version is the one read); nil when a person must decide.
	Fix *Transition `json:"fix,omitempty"`
	// Driven means a live process drives the rollout and will repair it
	// itself; others leave it alone.
	Driven bool `json:"driven,omitempty"`
}

// RepairCommand is the command that applies every Fix.
const RepairCommand = "ramp repair"

// Diagnose compares the record in st with the platform st reports, at now,
// and lists every disagreement with its repair. Pure: it calls nothing.
func Diagnose(st Status, now time.Time) []Drift {
	rec := st.Rollout
	cand, stable := revID(st.Candidate), revID(st.Stable)
	live, why := false, "no process holds it"
	if rec.Phase == PhaseProgressing || rec.Intent != nil {
		live, why = rec.Lease.Alive(now)
	}
	fix := func(t Transition) *Transition { t.Record.Intent = nil; return &t }
	if in := rec.Intent; in != nil {
		d := Drift{Kind: DriftInterrupted, Driven: live, Repair: RepairCommand}
		if live {
			d.Repair = fmt.Sprintf("wait: %s is making it", rec.Lease.Holder)
		}
		if in.Action == ActionDeploy {
			d.Detail = fmt.Sprintf("rollout %s recorded a deploy at %s that did not record its candidate (%s)", rec.ID, in.At.Format(time.RFC3339), why)
			d.Fix = deployFix(rec, st, cand)
		} else {
			d.Detail = fmt.Sprintf("rollout %s stated %q at %s and did not record its outcome (%s)", rec.ID, in.Transition(rec), in.At.Format(time.RFC3339), why)
			d.Fix = fix(in.Transition(rec))
		}
		return []Drift{d}
	}
	var out []Drift
	switch {
	case rec.Phase.InFlight() && rec.Candidate != "" && cand == rec.Candidate:
		if d, ok := splitDrift(st, live); ok {
			out = append(out, d)
		}
	case rec.Phase.InFlight() && rec.Candidate != "" && cand == "":
		done := rec
		if stable == rec.Candidate {
			done.Phase, done.Weight, done.Reason = PhasePromoted, 100, "promoted (the record was completed afterwards: the platform showed it promoted)"
			return append(out, Drift{Kind: DriftUnrecordedPromotion, Repair: RepairCommand, Fix: fix(Transition{Action: ActionRecord, Record: done}),
				Detail: fmt.Sprintf("the record says rollout %s is %s at %d%%; the platform shows %s promoted", rec.ID, rec.Phase, rec.Weight, rec.Candidate)})
		}
		done.Phase, done.Weight, done.Reason = PhaseRolledBack, 0, "rolled back (the record was completed afterwards: the platform showed the candidate gone)"
		return append(out, Drift{Kind: DriftUnrecordedRollback, Repair: RepairCommand, Fix: fix(Transition{Action: ActionRecord, Record: done}),
			Detail: fmt.Sprintf("the record says rollout %s is %s at %d%%; the platform has no candidate %s and %s serves", rec.ID, rec.Phase, rec.Weight, rec.Candidate, orNone(stable))})
	case cand != "" && !(rec.Phase.InFlight() && rec.Candidate == cand):
		return append(out, strayCandidate(st, cand))
	case rec.Phase == PhasePromoted && rec.Candidate != "" && stable != rec.Candidate:
		out = append(out, Drift{Kind: DriftStable, Repair: "deploy the version you want, or roll back by hand",
			Detail: fmt.Sprintf("the record says rollout %s promoted %s; the platform serves %s", rec.ID, rec.Candidate, orNone(stable))})
	}
	if rec.Phase == PhaseProgressing && !live {
		out = append(out, Drift{Kind: DriftOrphaned, Repair: "ramp resume, ramp promote or ramp rollback",
			Detail: fmt.Sprintf("rollout %s is progressing at %d%% but no process drives it (%s)", rec.ID, rec.Weight, why)})
	}
	return out
}

// deployFix finishes a deploy cut short: a candidate at 0% is adopted into
// the record; with none, the rollout is recorded as rolled back.
func deployFix(rec Rollout, st Status, cand string) *Transition {
	rec.Intent = nil
	// Any candidate at 0% is the deploy's: the record, written before it
	// started, kept every other deploy out. (Its name may differ from the
	// one asked: Cloud Run prefixes the service's.)
	if cand != "" && st.Weight == 0 && rec.Phase.InFlight() {
		rec.Candidate, rec.Step, rec.Weight = cand, 0, 0 // a pause made while it started stays
		return &Transition{Action: ActionRecord, Record: rec}
	}
	if rec.Phase.InFlight() {
		rec.Phase, rec.Weight, rec.Reason = PhaseRolledBack, 0, "the deploy was cut short before its candidate was recorded; no traffic moved"
	}
	if cand != "" && st.Weight == 0 {
		return &Transition{Action: ActionRollback, Revision: cand, Record: rec}
	}
	return &Transition{Action: ActionRecord, Record: rec}
}

// strayCandidate is a candidate on the platform that no record in flight
// names: a deploy from before records were kept, or a change by hand.
func strayCandidate(st Status, cand string) Drift {
	rec := st.Rollout
	d := Drift{Kind: DriftUnrecordedCandidate, Repair: RepairCommand,
		Detail: fmt.Sprintf("the platform has candidate %s at %d%%, which the record (rollout %s, %s) does not name as in flight",
			cand, st.Weight, orNone(rec.ID), orNone(string(rec.Phase)))}
	switch {
	case rec.Candidate == cand && rec.Phase == PhasePromoted:
		d.Kind, d.Detail = DriftUnmade, fmt.Sprintf("the record says rollout %s promoted %s; the platform still has it as the candidate at %d%%", rec.ID, cand, st.Weight)
		d.Fix = &Transition{Action: ActionPromote, Revision: cand, Record: rec}
	case rec.Candidate == cand:
		d.Kind, d.Detail = DriftUnmade, fmt.Sprintf("the record says rollout %s is %s; the platform still has %s as the candidate at %d%%", rec.ID, rec.Phase, cand, st.Weight)
		d.Fix = &Transition{Action: ActionRollback, Revision: cand, Record: rec}
	default: // retire it; the record of the last rollout stays as it is
		d.Fix = &Transition{Action: ActionRollback, Revision: cand, Record: rec}
	}
	return d
}

func revID(r *Revision) string {
	if r == nil {
		return ""
	}
	return r.ID
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// splitDrift is the drift of a rollout in flight whose candidate serves
// another weight, or runs on another number of instances (a rolling
// rollout), than its record says.
func splitDrift(st Status, live bool) (Drift, bool) {
	rec := st.Rollout
	d := Drift{Kind: DriftSplit, Driven: live, Repair: RepairCommand}
	if live {
		d.Repair = fmt.Sprintf("wait: %s sets it again at its next check", rec.Lease.Holder)
	}
	cand := rec.Candidate
	if rec.Replaces() && st.Instances != nil {
		if st.Instances.Candidate == rec.Instances && st.Weight == rec.Weight || st.Instances.Ahead(rec.Instances) {
			return Drift{}, false
		}
		d.Detail = fmt.Sprintf("the record of rollout %s says %d instances (%d%%) run %s; the platform runs %d (%d%%)",
			rec.ID, rec.Instances, rec.Weight, cand, st.Instances.Candidate, st.Weight)
		surge := max(rec.Instances-st.Instances.Candidate, st.Instances.Candidate-rec.Instances) // start before stopping
		rec.Intent = nil
		d.Fix = &Transition{Action: ActionReplace, Revision: cand, Weight: rec.Weight, Instances: rec.Instances, Surge: surge, Record: rec}
		return d, true
	}
	if st.Weight == rec.Weight {
		return Drift{}, false
	}
	d.Detail = fmt.Sprintf("the record of rollout %s says %d%% to %s; the platform routes %d%%", rec.ID, rec.Weight, cand, st.Weight)
	rec.Intent = nil
	d.Fix = &Transition{Action: ActionShift, Revision: cand, Weight: rec.Weight, Record: rec}
	return d, true
}
