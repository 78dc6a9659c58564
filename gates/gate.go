// Package gates holds what judges a rollout between traffic shifts: HTTP
// probes, the metric sources and their two readers (the comparative judge,
// an anytime-valid test of the candidate against the stable, and the
// absolute guardrails), and the pure functions that turn a run of results
// into a verdict.
package gates

import (
	"context"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// Outcome is what one check of one gate found.
type Outcome string

// The outcomes of a check.
const (
	// Successful means the measured value is within the threshold.
	Successful Outcome = "successful"
	// Failed means the measured value breaks the threshold.
	Failed Outcome = "failed"
	// Inconclusive means there was not enough data to judge (fewer requests
	// than min-requests); the step holds rather than passing or failing.
	Inconclusive Outcome = "inconclusive"
	// Error means the check itself could not run (the metrics backend or the
	// probe target was unreachable); it is recorded, not an instant rollback.
	Error Outcome = "error"
)

// Target is what a gate checks.
type Target struct {
	// Candidate is the revision under test.
	Candidate providers.Revision
	// Stable is the stable revision, nil on a first deploy.
	Stable *providers.Revision
	// ServiceURL is the service's shared address.
	ServiceURL string
	// Weight is the candidate's current share of traffic.
	Weight int
	// Window is the time the measurement should cover (the poll interval).
	Window time.Duration
}

// Result is one check of one gate, with everything needed to explain it.
type Result struct {
	// Gate names the gate ("error-rate", "probe", ...).
	Gate string `json:"gate"`
	// Outcome is the verdict of this check.
	Outcome Outcome `json:"outcome"`
	// Value is the measured value, in Unit.
	Value float64 `json:"value"`
	// Unit is the unit of Value and Threshold ("%", "ms", "req").
	Unit string `json:"unit,omitempty"`
	// Threshold says what passes, e.g. "<= 1".
	Threshold string `json:"threshold"`
	// Query is what was asked: the URL probed or the metric query.
	Query string `json:"query"`
	// Window is the period the value covers.
	Window time.Duration `json:"window"`
	// Samples counts the requests or probes behind Value.
	Samples int64 `json:"samples"`
	// Message explains an inconclusive or error outcome.
	Message string `json:"message,omitempty"`
}

// Gate is one health check run between shifts.
type Gate interface {
	// Name names the gate in results and reports.
	Name() string
	// Check measures the target once. Problems reaching the target are
	// returned as an Error outcome, never as a Go error.
	Check(ctx context.Context, t Target) Result
}
