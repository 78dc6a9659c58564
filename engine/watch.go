package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
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
// since the promotion and at most lookback, up to the metrics delay ago
// (what the source already shows), and rolls back to the previous
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
	win, why := watchWindow(rec.UpdatedAt, now, lookback, e.Metrics.Delay)
	if why != "" {
		return Watched{Reason: st.Stable.ID + ": " + why}
	}
	o, err := e.Metrics.Source.Observe(ctx, gates.CountQuery{Candidate: st.Stable.ID, Window: win})
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
	since := span(win, now)
	switch {
	case len(failed) > 0:
		reason := fmt.Sprintf("watch: %s broke its guardrails over %s: %s", st.Stable.ID, since, strings.Join(failed, "; "))
		return Watched{Acted: true, Checks: w.Checks, Result: e.Rollback(ctx, reason)}
	case len(waiting) > 0:
		w.Reason = fmt.Sprintf("%s: not enough traffic to judge over %s: %s", st.Stable.ID, since, strings.Join(waiting, "; "))
	default:
		w.Reason = fmt.Sprintf("%s is within its guardrails over %s; the previous version stays warm until %s",
			st.Stable.ID, since, rec.PreviousUntil.Format(time.RFC3339))
	}
	return w
}

// watchWindow is the traffic a watch judges: from lookback ago (or the
// promotion, when later) up to delay ago, as far as the metric source
// shows it. why says why there is none yet.
func watchWindow(promoted, now time.Time, lookback, delay time.Duration) (w gates.Window, why string) {
	w = gates.Window{Start: now.Add(-lookback), End: now.Add(-delay)}
	if promoted.After(w.Start) && promoted.Before(now) {
		w.Start = promoted
	}
	if !w.End.After(w.Start) {
		return w, fmt.Sprintf("no traffic to judge yet: the metrics show traffic %s late (metrics-delay), "+
			"and the watch starts %s ago (the promotion or watch-window); watch again later",
			delay, now.Sub(w.Start).Round(time.Second))
	}
	return w, ""
}

// span describes the window judged, e.g. "the last 2m", or "the 7m up to
// 3m ago" under a metrics delay.
func span(w gates.Window, now time.Time) string {
	length := w.Duration().Round(time.Second)
	if ago := now.Sub(w.End).Round(time.Second); ago > 0 {
		return fmt.Sprintf("the %s up to %s ago", input.Duration(length), input.Duration(ago))
	}
	return "the last " + input.Duration(length)
}

// phaseWords names a record's phase for a person, "never rolled out" for none.
func phaseWords(rec providers.Rollout) string {
	if rec.Phase == providers.PhaseNone {
		return "never rolled out"
	}
	return string(rec.Phase)
}
