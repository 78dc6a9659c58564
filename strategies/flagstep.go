package strategies

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// parseFlagStep reads a canary step entry "flag" (the flag on for every
// user) or "flag:N" (for N percent); ok is false for any other entry.
func parseFlagStep(raw, f string) (t Target, ok bool, err error) {
	name, pct, hasPct := strings.Cut(f, ":")
	if !strings.EqualFold(strings.TrimSpace(name), "flag") {
		return Target{}, false, nil
	}
	if !hasPct {
		return Target{Flag: 100}, true, nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(pct), "%"))
	if err != nil || n < 1 || n > 100 {
		return Target{}, true, input.Invalid("steps", raw, "%q: a flag step is \"flag\" or \"flag:N\" with N the percentage of users, 1..100", f)
	}
	return Target{Flag: n}, true, nil
}

// formatFlagStep writes a flag entry as ParseSteps reads it.
func formatFlagStep(t Target) string {
	if t.Flag == 100 {
		return "flag"
	}
	return "flag:" + strconv.Itoa(t.Flag)
}

// checkFlagSteps refuses a flag entry where it cannot run: after the
// weight 100 (the promotion), or twice.
func checkFlagSteps(ts []Target, raw string) error {
	n := 0
	for i, t := range ts {
		if t.Flag == 0 {
			continue
		}
		n++
		if slices.ContainsFunc(ts[:i], func(p Target) bool { return !p.Pause && p.Flag == 0 && p.Weight >= 100 }) {
			return input.Invalid("steps", raw, "a flag step comes before the weight 100, the promotion")
		}
	}
	if n > 1 {
		return input.Invalid("steps", raw, "has %d flag steps; a rollout turns its flag on once", n)
	}
	return nil
}

// flagSteps are a flag entry's steps at the candidate's weight: turn the
// flag on, then analyse for an interval with it on.
func flagSteps(t Target, weight int, interval time.Duration) []Step {
	return []Step{{Kind: KindFlag, Weight: weight, Flag: t.Flag}, {Kind: KindAnalyze, Weight: weight, Hold: interval}}
}

// FlagStep is the plan's flag step and its index; ok is false when the
// plan has none.
func (p Plan) FlagStep() (s Step, i int, ok bool) {
	i = slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindFlag })
	if i < 0 {
		return Step{}, -1, false
	}
	return p.Steps[i], i, true
}
