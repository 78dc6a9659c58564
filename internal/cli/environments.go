package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/ramp-deploy/ramp/internal/config"
)

// checkEnvironments checks the configuration as each other environment of
// the configuration file would make it (what `ramp validate
// --environment NAME` would say), so one validate covers the whole file.
// It returns the problems the selected environment's check (seen) does not
// have, each naming its environment, as an invalid-input error.
func (a *app) checkEnvironments(ctx context.Context, seen error) error {
	have := map[string]bool{}
	for _, e := range problemsOf(seen) {
		have[e.Error()] = true
	}
	var errs []error
	for _, env := range a.vals.File.Environments {
		if env == a.vals.File.Environment {
			continue
		}
		vals := a.vals.ForEnvironment(env)
		cfg, err := config.Parse(vals)
		other := &app{env: a.env, vals: vals, cfg: cfg, parseErr: err}
		_, err = other.prepare(ctx, cfg.Rollout)
		for _, e := range problemsOf(err) {
			if !have[e.Error()] {
				have[e.Error()] = true
				errs = append(errs, fmt.Errorf("environment %q: %w", env, e))
			}
		}
	}
	return withCode(ExitInvalid, errors.Join(errs...))
}

// problemsOf lists the problems of a command's error: the members of its
// errors.Join, under the exit code.
func problemsOf(err error) []error {
	if e, ok := err.(*exitError); ok {
		err = e.err
	}
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
