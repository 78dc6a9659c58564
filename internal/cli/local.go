package cli

import (
	"context"
	"fmt"

	"github.com/ramp-deploy/ramp/internal/sampleapp"
	"github.com/ramp-deploy/ramp/providers/local"
)

// localAgent runs the local provider's agent; ramp starts it detached.
func localAgent(ctx context.Context, a *app) error {
	if err := a.checked(a.cfg.Require(a.vals, "service", "state-dir")); err != nil {
		return err
	}
	return local.RunAgent(ctx, a.cfg.Target)
}

// localHost runs the local provider's shared agent (shared-agent); ramp
// starts it detached. On unix that process is the shared agent's
// supervisor, which runs the shared agent itself with the same command.
func localHost(ctx context.Context, a *app) error {
	if err := a.checked(a.cfg.Require(a.vals, "state-dir")); err != nil {
		return err
	}
	return local.RunHost(ctx, a.cfg.Target.StateDir)
}

// down stops the local agent and every version it runs.
func down(ctx context.Context, a *app) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	p, ok := prov.(*local.Provider)
	if !ok {
		return withCode(ExitInvalid, fmt.Errorf("ramp down works with the local provider only, not %q", a.cfg.Provider))
	}
	if err := p.Shutdown(ctx); err != nil {
		return withCode(ExitProvider, fmt.Errorf("stop the local agent of %q: %w", a.cfg.Target.Service, err))
	}
	fmt.Fprintf(a.env.Stdout, "local agent of %q stopped\n", a.cfg.Target.Service)
	return nil
}

// sampleApp runs the demo's sample app, configured by its environment.
func sampleApp(ctx context.Context, a *app) error {
	if err := a.checked(); err != nil {
		return err
	}
	opts, err := sampleapp.OptionsFromEnv(a.env.Getenv)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	return sampleapp.Run(ctx, opts)
}
