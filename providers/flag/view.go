package flag

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// baselineID names the stable revision of a flag at pct percent.
func baselineID(flag string, pct int) string { return fmt.Sprintf("%s-at-%d", flag, pct) }

// baseOf is the percentage a baseline revision ID names; ok is false for
// any other ID (a promoted candidate's).
func baseOf(flag, id string) (pct int, ok bool) {
	s, found := strings.CutPrefix(id, flag+"-at-")
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100 {
		return 0, false
	}
	return n, true
}

// percentOf is the percentage the flag serves for the candidate's weight
// over baseline base: never below the baseline.
func percentOf(weight, base int) int { return max(weight, base) }

// state is one read of the flag: the percentage it serves and the record.
type state struct {
	pct int
	rec providers.Rollout
	raw string // the record as the backend holds it, for compare-and-set
	// warnings are the backend's facts about the flag.
	warnings []string
}

// roles are the revisions a state shows: what the platform would say if
// revisions were things it held. An open rollout has a candidate; a
// promoted one has the candidate as stable; anything else has the flag at
// its percentage as the stable revision.
func (p *Provider) statusOf(s state, now time.Time) providers.Status {
	rec := s.rec
	st := providers.Status{Rollout: rec}
	base, _ := baseOf(p.flag, rec.Stable)
	switch p.phaseOf(s) {
	case phaseOpen:
		st.Stable = &providers.Revision{ID: rec.Stable, Ready: true}
		st.Candidate = &providers.Revision{ID: rec.Candidate, Ready: true}
		st.Weight = s.pct
		if s.pct == percentOf(rec.Weight, base) {
			st.Weight = rec.Weight // below the baseline the flag shows the baseline: the record says which weight
		}
	case phasePromoted:
		st.Stable = &providers.Revision{ID: rec.Candidate, Ready: true}
		reverting := rec.Intent != nil && rec.Intent.Action == providers.ActionRevert
		if reverting {
			st.Stable.ID = rec.Intent.Revision
		}
		if _, ok := baseOf(p.flag, rec.Stable); ok && (reverting || now.Before(rec.PreviousUntil)) {
			st.Previous = &providers.Revision{ID: rec.Stable, Ready: true} // the baseline, kept for a revert while the window lasts
		}
	default:
		st.Stable = &providers.Revision{ID: baselineID(p.flag, s.pct), Ready: true}
		if s.pct == 100 && rec.Phase == providers.PhasePromoted && rec.Candidate != "" {
			st.Stable.ID = rec.Candidate
		}
	}
	return st
}

// The phases a state shows on the platform's side.
const (
	phaseSettled  = iota // no rollout open: the flag at its percentage is stable
	phaseOpen            // a candidate is rolling out
	phasePromoted        // the candidate is stable at 100%
)

// phaseOf tells, from the record and the flag's percentage, where the
// flag stands. A stated transition (an intent) counts as made once the
// percentage shows it: promote at 100%, rollback and revert at the
// baseline; before that, the flag stands where the transition found it.
func (p *Provider) phaseOf(s state) int {
	rec := s.rec
	if rec.Candidate == "" {
		return phaseSettled
	}
	base, _ := baseOf(p.flag, rec.Stable)
	if i := rec.Intent; i != nil {
		switch i.Action {
		case providers.ActionPromote:
			if s.pct == 100 {
				return phasePromoted
			}
			return phaseOpen
		case providers.ActionRollback:
			if s.pct == base {
				return phaseSettled
			}
			return phaseOpen
		case providers.ActionRevert:
			if s.pct == base {
				return phaseSettled
			}
			return phasePromoted
		case providers.ActionShift:
			return phaseOpen
		}
	}
	switch {
	case rec.Phase.InFlight():
		return phaseOpen
	case rec.Phase == providers.PhasePromoted && s.pct == 100:
		return phasePromoted
	case rec.Phase == providers.PhaseFailed && s.pct != base:
		return phaseOpen // the rollback failed: the candidate still serves
	}
	return phaseSettled
}

// VariantSelector is a prometheus-selector for a flag rollout whose
// service labels its request metrics with the flag (flag="<service>") and
// the variant each request was served (variant="on" or "off"): ramp's
// queries for the candidate read the "on" series and those for the stable
// revision the "off" ones.
const VariantSelector = `flag="{{.Service}}",variant="{{if eq .Version .Candidate}}on{{else}}off{{end}}"`
