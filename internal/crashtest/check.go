package crashtest

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// Disagreements lists, without providers.Diagnose, where the record and
// the platform in st disagree, once no process of the case runs any more
// (so a rollout still progressing is driven by nobody). Status must report
// drift exactly when the list is not empty.
func Disagreements(st providers.Status) []string {
	rec := st.Rollout
	cand, stable := revID(st.Candidate), revID(st.Stable)
	inFlight := rec.Phase.InFlight()
	var out []string
	if in := rec.Intent; in != nil {
		out = append(out, fmt.Sprintf("the record states %s (%s), never finished", in.Transition(rec), in.Action))
	}
	switch {
	case inFlight && rec.Candidate == "":
		if rec.Intent == nil {
			out = append(out, fmt.Sprintf("rollout %s is %s with no candidate recorded", rec.ID, rec.Phase))
		}
	case inFlight && cand != rec.Candidate:
		out = append(out, fmt.Sprintf("the record's candidate is %s, the platform's %s", rec.Candidate, orNone(cand)))
	case inFlight && st.Weight != rec.Weight && !(rec.Replaces() && st.Instances.Ahead(rec.Instances)):
		out = append(out, fmt.Sprintf("the record says %d%%, the platform routes %d%%", rec.Weight, st.Weight))
	case rec.Phase == providers.PhasePromoted && rec.Candidate != "" && stable != rec.Candidate:
		out = append(out, fmt.Sprintf("the record promoted %s, the platform's stable revision is %s", rec.Candidate, orNone(stable)))
	case rec.Phase == providers.PhaseRolledBack && rec.Candidate != "" && stable == rec.Candidate:
		out = append(out, fmt.Sprintf("the record rolled %s back, the platform serves it as stable", rec.Candidate))
	}
	if cand != "" && (!inFlight || rec.Candidate != cand) {
		out = append(out, fmt.Sprintf("the platform has candidate %s at %d%%, which no rollout in flight names", cand, st.Weight))
	}
	if rec.Phase == providers.PhaseProgressing {
		out = append(out, fmt.Sprintf("rollout %s is progressing, but no process drives it", rec.ID))
	}
	return out
}

// Want is the end state a case must reach.
type Want struct {
	// Phase is the phase the last accepted command decided.
	Phase providers.Phase
	// Stable and Candidate are the revisions of the rollout.
	Stable, Candidate string
	// PauseWeight is the weight a rollout paused by its plan holds;
	// Natural says the rollout ended as its plan did (no command decided).
	PauseWeight int
	Natural     bool
	// NoPrevious says a promotion keeps no previous revision warm (the
	// platform keeps none, or a rolling rollout replaced it).
	NoPrevious bool
}

// CheckEnd lists how st differs from the end state w: the phase decided,
// the revisions serving as it implies, and nothing lost (a ready stable
// revision, the replaced one kept warm after a promotion, no candidate
// left that no rollout in flight takes).
func CheckEnd(st providers.Status, w Want) []string {
	rec := st.Rollout
	var out []string
	if st.Stable == nil || !st.Stable.Ready {
		out = append(out, fmt.Sprintf("no ready stable revision (stable %+v)", st.Stable))
	}
	if rec.Phase != w.Phase {
		out = append(out, fmt.Sprintf("the rollout is %s (%s), want %s", orNone(string(rec.Phase)), rec.Reason, w.Phase))
	}
	if rec.Intent != nil {
		out = append(out, fmt.Sprintf("the record still states %s", rec.Intent.Action))
	}
	want := func(role string, r *providers.Revision, id string) {
		if got := revID(r); got != id {
			out = append(out, fmt.Sprintf("%s revision is %s, want %s", role, orNone(got), orNone(id)))
		}
	}
	switch w.Phase {
	case providers.PhasePromoted:
		want("stable", st.Stable, w.Candidate)
		want("candidate", st.Candidate, "")
		if w.NoPrevious {
			want("previous (none kept warm after this promotion)", st.Previous, "")
		} else {
			want("previous (kept warm for the rollback window)", st.Previous, w.Stable)
		}
	case providers.PhaseRolledBack:
		want("stable", st.Stable, w.Stable)
		want("candidate", st.Candidate, "")
	case providers.PhasePaused:
		want("stable", st.Stable, w.Stable)
		want("candidate", st.Candidate, w.Candidate)
		if st.Candidate != nil && !st.Candidate.Ready {
			out = append(out, "the paused candidate is not ready")
		}
		if w.Natural && (st.Weight != w.PauseWeight || rec.Weight != w.PauseWeight) {
			out = append(out, fmt.Sprintf("paused at %d%% (record %d%%), want the plan's pause at %d%%", st.Weight, rec.Weight, w.PauseWeight))
		}
	}
	return out
}

// describe is the status in one line, as a person reads it.
func describe(st providers.Status, ds []providers.Drift) string {
	rec := st.Rollout
	s := fmt.Sprintf("stable %s, candidate %s at %d%%, previous %s; rollout %s %s at %d%% step %d (v%d)",
		orNone(revID(st.Stable)), orNone(revID(st.Candidate)), st.Weight, orNone(revID(st.Previous)),
		orNone(rec.ID), orNone(string(rec.Phase)), rec.Weight, rec.Step, rec.Version)
	if rec.Intent != nil {
		s += fmt.Sprintf(", intent %s %s", rec.Intent.Action, rec.Intent.Revision)
	}
	if rec.Lease != nil {
		s += ", lease of " + rec.Lease.Holder.String()
	}
	for _, d := range ds {
		s += fmt.Sprintf("; drift %s: %s (repair: %s)", d.Kind, d.Detail, d.Repair)
	}
	return s
}

// kinds lists the kinds of ds, e.g. "[interrupted orphaned]".
func kinds(ds []providers.Drift) string {
	ks := make([]string, len(ds))
	for i, d := range ds {
		ks[i] = string(d.Kind)
	}
	return "[" + strings.Join(ks, " ") + "]"
}

func revID(r *providers.Revision) string {
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
