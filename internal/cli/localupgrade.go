package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ramp-deploy/ramp/providers/local"
)

// localUpgrade hands the running local agent's sockets over to an agent run
// from this ramp binary, with no request failing; the versions keep running.
// For a service in a shared agent, the shared agent is upgraded, every
// service it runs with it.
func localUpgrade(ctx context.Context, a *app) error {
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	p, ok := prov.(*local.Provider)
	if !ok {
		return withCode(ExitInvalid, fmt.Errorf("ramp local-upgrade works with the local provider only, not %q", a.cfg.Provider))
	}
	exe := a.cfg.Target.Executable
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return withCode(ExitProvider, fmt.Errorf("upgrade the local agent of %q: find this program: %w", a.cfg.Target.Service, err))
		}
	}
	res, err := p.Upgrade(ctx, exe)
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("upgrade the local agent of %q: %w", a.cfg.Target.Service, err))
	}
	if len(res.Services) > 0 {
		fmt.Fprintf(a.env.Stdout, "shared local agent of %q upgraded, with its services %s: pid %d handed over to pid %d, running %s\n",
			a.cfg.Target.Service, strings.Join(res.Services, ", "), res.From, res.To, res.Executable)
		return nil
	}
	fmt.Fprintf(a.env.Stdout, "local agent of %q upgraded: pid %d handed over to pid %d, running %s\n",
		a.cfg.Target.Service, res.From, res.To, res.Executable)
	return nil
}
