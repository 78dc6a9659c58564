package engine

import (
	"context"
	"fmt"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// requestRouter checks that the provider can make a plan that routes by
// request (strategy ab): a provider without providers.RequestRouter is an
// input error naming the strategies it supports.
func (e *Engine) requestRouter(p strategies.Plan) error {
	if !p.Routes() {
		return nil
	}
	if _, ok := e.Provider.(providers.RequestRouter); !ok {
		return fmt.Errorf("strategy %s: the provider cannot route by request (header, cookie, query) nor keep a client on its variant; "+
			"it supports canary, linear, bluegreen and immediate: %w", p.Strategy, providers.ErrInvalid)
	}
	return nil
}

// Concluded is the end of an A/B test's comparison: its verdict and what
// on-finish made of it.
type Concluded struct {
	At
	// Verdict is the comparison's standing at the end; nil when nothing
	// was compared (no metrics source).
	Verdict *gates.ABVerdict `json:"verdict,omitempty"`
	// OnFinish is the setting that decided; Decision what it decided:
	// promote, rollback or keep.
	OnFinish string `json:"on_finish"`
	Decision string `json:"decision"`
}

// conclude ends an A/B test's comparison as the step's on-finish says: a
// winning candidate goes on to promotion (promote-winner), a winning
// stable or on-finish rollback rolls back, anything else pauses for a
// person, both variants still serving.
func (r *run) conclude(ctx context.Context, i int, step strategies.Step) *stepEnd {
	if end := r.control(ctx); end != nil { // a command made meanwhile wins
		return end
	}
	v := r.metrics.AB()
	summary := "nothing was compared (no metrics source)"
	winner := ""
	if v != nil {
		summary, winner = v.Summary, v.Winner
	}
	decision := "keep"
	switch {
	case step.OnFinish == strategies.OnFinishRollback:
		decision = "rollback"
	case step.OnFinish == strategies.OnFinishPromoteWinner && winner == gates.VariantCandidate:
		decision = "promote"
	case step.OnFinish == strategies.OnFinishPromoteWinner && winner == gates.VariantStable:
		decision = "rollback"
	}
	r.e.emit(&Concluded{Verdict: v, OnFinish: step.OnFinish, Decision: decision})
	why := fmt.Sprintf("A/B test over: %s; on-finish %s", summary, step.OnFinish)
	switch decision {
	case "promote":
		r.promoted = why
		return nil
	case "rollback":
		return &stepEnd{outcome: OutcomeRolledBack, reason: why}
	}
	return r.pause(ctx, i+1, why+": both variants keep serving; promote or roll back by command")
}

// Type names the event: "concluded".
func (Concluded) Type() string { return "concluded" }
