package cli

import (
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/strategies"
)

// delayPlan explains what the metrics delay does to the plan's timing: a
// line saying when the first window of the candidate's traffic is judged,
// and notes on the steps that end before their own traffic is visible.
// Nothing when no metric is read or the source shows traffic at once.
func delayPlan(p strategies.Plan, m gates.Metrics, from string, deadline time.Duration) (line string, notes []string) {
	d, iv := m.Delay, p.Interval
	if !m.Enabled() || d <= 0 || iv <= 0 {
		return "", nil
	}
	seen := d + iv // a step's first interval of traffic is visible this long after the step starts
	line = fmt.Sprintf("metrics-delay %s: each check judges the traffic up to %s before it", dur(d), dur(d))
	if from != "" {
		line = fmt.Sprintf("metrics-delay %s (%s): each check judges the traffic up to %s before it", dur(d), from, dur(d))
	}
	var at time.Duration
	first := true
	for i, s := range p.Steps {
		hold := p.HoldTime(s)
		if s.Kind == strategies.KindAnalyze && s.Weight > 0 && s.Weight < 100 {
			note := ""
			if first {
				judged := at + iv*((seen+iv-1)/iv) // the first check at or after it
				line += fmt.Sprintf("; the first interval at %d%% (from %s) closes at %s and is judged at %s", s.Weight, dur(at), dur(at+iv), dur(judged))
				note = firstStepNote(p, m, i, at, judged, deadline)
			}
			if note == "" && hold < seen {
				note = fmt.Sprintf("step %d holds %d%% for %s, less than metrics-delay + interval (%s): it ends before its "+
					"traffic is seen; that traffic is judged during the next steps, where the evidence carries on", i+1, s.Weight, dur(hold), dur(seen))
			}
			if note != "" {
				notes = append(notes, note)
			}
			first = false
		}
		at += hold
	}
	return line, notes
}

// firstStepNote explains the first step at traffic (step i, from at), whose
// traffic is first judged at judged. A guardrail holds the step until it
// has judged once: past the progress deadline the step rolls back. Without
// a guardrail, a rollout promoted before judged is never judged.
func firstStepNote(p strategies.Plan, m gates.Metrics, i int, at, judged, deadline time.Duration) string {
	s := p.Steps[i]
	hold, ends := p.HoldTime(s), max(s.Hold, deadline)
	switch {
	case len(m.Guardrails) > 0 && at+ends < judged:
		return fmt.Sprintf("step %d: no window of its traffic is visible before progress-deadline (%s) ends it: a guardrail "+
			"cannot judge it and the step would roll back; raise progress-deadline or lower metrics-delay", i+1, dur(deadline))
	case len(m.Guardrails) > 0 && at+hold < judged:
		return fmt.Sprintf("step %d holds %d%% until the guardrails have judged its traffic: about %s, not %s",
			i+1, s.Weight, dur(judged-at), dur(hold))
	case len(m.Guardrails) == 0 && p.ToPromotion() < judged:
		return fmt.Sprintf("the rollout reaches 100%% at %s, before any window of the candidate's traffic is judged: "+
			"on-inconclusive alone decides", dur(p.ToPromotion()))
	}
	return ""
}

// dur writes a duration as a person does (2m, not 2m0s).
func dur(d time.Duration) string { return input.Duration(d) }
