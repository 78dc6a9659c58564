package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// Watched is what one watch found.
type Watched struct {
	// Acted is true when the watch rolled the service back; Result then
	// says how that went.
	Acted  bool
	Result Result
	// Reason says what the watch saw when it did nothing.
	Reason string
	// Checks are the guardrails' checks, empty when nothing was watched.
	Checks []gates.Result
}

// Watch checks a rollout promoted less than its rollback window ago (its
// previous version still warm) against the guardrails, over the traffic
// since the promotion and at most lookback, and rolls back to the previous
// version when one fails. It changes nothing otherwise, so it can run as
// often as wanted: from a scheduled workflow or cron, without holding a CI
// job for the bake. Without enough traffic it says so and does nothing.
func (e *Engine) Watch(ctx context.Context, lookback time.Duration) Watched {
	st, _, err := e.reconciled(ctx)
	if err != nil {
		return Watched{Acted: true, Result: e.fail(err)}
	}
	rec, now := st.Rollout, time.Now()
	switch {
	case rec.Phase != providers.PhasePromoted || st.Stable == nil || rec.Candidate != st.Stable.ID:
		return Watched{Reason: fmt.Sprintf("nothing to watch: the last rollout of %q is %s, not promoted", e.Service, phaseWords(rec))}
	case st.Previous == nil || (!rec.PreviousUntil.IsZero() && !now.Before(rec.PreviousUntil)):
		return Watched{Reason: fmt.Sprintf("nothing to watch: %s was promoted and its rollback window is over (no previous version warm)",
			st.Stable.ID)}
	case !e.Metrics.Enabled() || len(e.Metrics.Guardrails) == 0:
		return Watched{Reason: "nothing to watch with: no guardrail is set (max-error-rate, max-latency-*) or the provider measures nothing"}
	}
	start := now.Add(-lookback)
	if rec.UpdatedAt.After(start) && rec.UpdatedAt.Before(now) {
		start = rec.UpdatedAt
	}
	o, err := e.Metrics.Source.Observe(ctx, gates.CountQuery{Candidate: st.Stable.ID, Window: gates.Window{Start: start, End: now}})
	if err != nil {
		return Watched{Acted: true, Result: e.fail(fmt.Errorf("watch %s: %w", st.Stable.ID, err))}
	}
	w := Watched{}
	var failed, waiting []string
	for _, g := range e.Metrics.Guardrails {
		res := g.Observe(o)
		w.Checks = append(w.Checks, res)
		switch res.Outcome {
		case gates.Failed:
			failed = append(failed, gates.Explain(res))
		case gates.Inconclusive:
			waiting = append(waiting, gates.Explain(res))
		}
	}
	since := now.Sub(start).Round(time.Second)
	switch {
	case len(failed) > 0:
		reason := fmt.Sprintf("watch: %s broke its guardrails over the last %s: %s", st.Stable.ID, since, strings.Join(failed, "; "))
		return Watched{Acted: true, Checks: w.Checks, Result: e.Rollback(ctx, reason)}
	case len(waiting) > 0:
		w.Reason = fmt.Sprintf("%s: not enough traffic to judge over the last %s: %s", st.Stable.ID, since, strings.Join(waiting, "; "))
	default:
		w.Reason = fmt.Sprintf("%s is within its guardrails over the last %s; the previous version stays warm until %s",
			st.Stable.ID, since, rec.PreviousUntil.Format(time.RFC3339))
	}
	return w
}

// phaseWords names a record's phase for a person, "never rolled out" for none.
func phaseWords(rec providers.Rollout) string {
	if rec.Phase == providers.PhaseNone {
		return "never rolled out"
	}
	return string(rec.Phase)
}
