package gates

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Limits bound how many bad checks in a row a gate tolerates.
type Limits struct {
	// Failures is how many failed checks in a row fail the gate
	// (failure-threshold).
	Failures int
	// Errors is how many checks in a row that could not run fail the gate
	// (error-threshold); a flaky metrics backend alone never rolls back at once.
	Errors int
}

// Tally is the running count of one gate's checks.
type Tally struct {
	// Last is the latest result.
	Last Result
	// Checks counts every check.
	Checks int
	// Failures counts the failed checks since the last successful one (an
	// inconclusive check in between does not clear it); Errors counts the
	// checks in a row that could not run.
	Failures int
	Errors   int
}

// Add returns the tally with r counted.
func (t Tally) Add(r Result) Tally {
	t.Last = r
	t.Checks++
	switch r.Outcome {
	case Failed:
		t.Failures++
		t.Errors = 0
	case Error:
		t.Errors++
	case Inconclusive:
		t.Errors = 0
	default:
		t.Failures, t.Errors = 0, 0
	}
	return t
}

// Verdict is a gate's standing after its latest check.
type Verdict struct {
	// Outcome is Successful when the last check passed, Failed or Error once
	// a limit is reached (both roll back), Inconclusive otherwise: the step
	// holds and checks again.
	Outcome Outcome `json:"outcome"`
	// Reason explains the outcome, naming the gate and its values.
	Reason string `json:"reason"`
}

// Assess decides a gate's standing from its tally. It is pure.
func Assess(t Tally, l Limits) Verdict {
	r := t.Last
	switch {
	case t.Checks == 0:
		return Verdict{Outcome: Inconclusive, Reason: "not checked yet"}
	case t.Failures >= max(l.Failures, 1):
		return Verdict{Outcome: Failed, Reason: fmt.Sprintf("%s failed %d times in a row (failure-threshold %d): %s",
			r.Gate, t.Failures, max(l.Failures, 1), measured(r))}
	case t.Errors >= max(l.Errors, 1):
		return Verdict{Outcome: Error, Reason: fmt.Sprintf("%s could not be measured %d times in a row (error-threshold %d): %s",
			r.Gate, t.Errors, max(l.Errors, 1), r.Message)}
	case r.Outcome == Successful:
		return Verdict{Outcome: Successful, Reason: Explain(r)}
	}
	return Verdict{Outcome: Inconclusive, Reason: Explain(r)}
}

// Explain renders a result as one line: the measured value against the
// threshold over the window, or why there was no verdict.
func Explain(r Result) string {
	switch r.Outcome {
	case Error:
		return fmt.Sprintf("%s: error: %s", r.Gate, r.Message)
	case Inconclusive:
		return fmt.Sprintf("%s: not enough data: %s", r.Gate, r.Message)
	}
	return r.Gate + " = " + measured(r)
}

// measured is a measurement against its threshold without the gate's
// name: "6.75% (threshold ≤ 1%, 402 samples over 30s)"; a query's one
// value (a check) stands on no count of its own.
func measured(r Result) string {
	line := fmt.Sprintf("%s%s (threshold %s%s, %d samples over %s)", FormatValue(r.Value), r.Unit,
		FormatThreshold(r.Threshold), r.Unit, r.Samples, input.Duration(r.Window))
	if r.Samples == 0 {
		line = fmt.Sprintf("%s%s (threshold %s%s, over %s)", FormatValue(r.Value), r.Unit, FormatThreshold(r.Threshold), r.Unit, input.Duration(r.Window))
	}
	if r.Message != "" {
		line += ": " + r.Message
	}
	return line
}

var thresholdSigns = strings.NewReplacer("<=", "≤", ">=", "≥")

// FormatThreshold prints a threshold with the signs people read: "<= 1"
// becomes "≤ 1", ">= 95" becomes "≥ 95".
func FormatThreshold(t string) string { return thresholdSigns.Replace(t) }

// FormatValue prints a measured value with at most two decimals.
func FormatValue(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" {
		return "0"
	}
	return s
}
