package fly

import (
	"fmt"

	"github.com/ramp-deploy/ramp/providers"
)

// The strategies whose needs differ on Fly (see canRun).
const (
	strategyBlueGreen = "bluegreen"
	strategyRolling   = providers.StrategyRolling
)

// canRun refuses an app whose stable machines the rollout's strategy
// cannot drive: none, several versions outside ramp; for a strategy that
// starts machines beside the stable ones (all but rolling), machines
// with volumes, as flyctl refuses them; for bluegreen, machines without a
// health check, as flyctl refuses them (the switch trusts the checks).
func (p *Provider) canRun(r roles) error {
	if r.stable == nil {
		return fmt.Errorf("%w: the app has no stable machines; ramp starts the candidate from their config, so deploy the first version with flyctl deploy", providers.ErrInvalid)
	}
	if len(r.extra) > 0 {
		ids := []string{r.stable.id}
		for _, e := range r.extra {
			ids = append(ids, e.id)
		}
		return fmt.Errorf("%w: the app's machines run %d versions outside any rollout (%q); finish the deploy that left them (flyctl deploy) first", providers.ErrInvalid, len(ids), ids)
	}
	if p.cfg.Strategy == strategyRolling {
		return nil
	}
	name := p.cfg.Strategy
	if name == "" {
		name = "canary"
	}
	for _, m := range r.stable.machines {
		if len(m.Config.Mounts()) > 0 {
			return fmt.Errorf("%w: machine %s mounts a volume, which a second machine beside it cannot attach: strategy %s starts the candidate's machines beside the stable ones (as flyctl's canary and bluegreen do, which refuse volumes too); use strategy rolling, which updates such machines in place",
				providers.ErrInvalid, m.ID, name)
		}
	}
	if p.cfg.Strategy == strategyBlueGreen && !anyChecks(r.stable.machines) {
		return fmt.Errorf("%w: strategy bluegreen switches all the traffic once the green machines pass their health checks, and no machine of the app has one (as flyctl deploy --strategy bluegreen, ramp needs at least 1): add [[http_service.checks]] or [checks] to fly.toml and deploy it, or use canary, which shifts the traffic in steps",
			providers.ErrInvalid)
	}
	return nil
}

// anyChecks reports whether any machine's config has a health check: a
// top-level one or one of a service's.
func anyChecks(ms []Machine) bool {
	for _, m := range ms {
		if len(m.Config.CheckNames()) > 0 {
			return true
		}
	}
	return false
}
