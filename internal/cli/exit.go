package cli

import (
	"errors"
	"flag"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// Exit codes, documented in README.md.
const (
	// ExitOK: promoted, or the command did what it was asked.
	ExitOK = 0
	// ExitError: an unexpected error.
	ExitError = 1
	// ExitInvalid: bad input; nothing was touched.
	ExitInvalid = 2
	// ExitRolledBack: the rollout was rolled back (a gate failed, the
	// candidate never became ready, or someone rolled it back).
	ExitRolledBack = 3
	// ExitProvider: the platform failed or refused a call.
	ExitProvider = 4
	// ExitPaused: the rollout is paused; a later resume or promote continues it.
	ExitPaused = 5
	// ExitCancelled: the process was cancelled (SIGINT/SIGTERM).
	ExitCancelled = 6
	// ExitDrift: status or repair found the record and the platform
	// disagreeing (a transition interrupted, a split changed by hand, a
	// rollout no process drives); the output names the repairing command.
	ExitDrift = 7
)

// exitError carries the exit code a command ends with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode attaches an exit code to err.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// resultCode maps a rollout's outcome to its exit code; a rollback is never 0.
func resultCode(r engine.Result) int {
	switch r.Outcome {
	case engine.OutcomePromoted:
		return ExitOK
	case engine.OutcomeRolledBack:
		return ExitRolledBack
	case engine.OutcomePaused:
		return ExitPaused
	case engine.OutcomeCancelled:
		return ExitCancelled
	}
	if r.Err != nil && input.Is(r.Err) {
		return ExitInvalid
	}
	return ExitProvider
}

// Code maps an error returned by Run's commands to an exit code.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	if input.Is(err) {
		return ExitInvalid
	}
	if errors.Is(err, providers.ErrNotFound) || errors.Is(err, providers.ErrPermission) ||
		errors.Is(err, providers.ErrConflict) || errors.Is(err, providers.ErrNoCandidate) {
		return ExitProvider
	}
	return ExitError
}
