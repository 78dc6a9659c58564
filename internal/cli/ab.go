package cli

import (
	"context"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// checkRouting refuses, before any call, strategy ab on a provider that
// cannot route by request, even when its plan has problems of its own
// (listed beside): Cloud Run and Fly are named with what they offer
// instead. With a plan, a match kind the provider cannot read is named too.
func (a *app) checkRouting(ctx context.Context, prov providers.Provider, s strategies.Spec, p strategies.Plan) error {
	if prov == nil || s.Strategy != strategies.AB {
		return nil
	}
	rt := p.RoutingAt(1)
	if _, ok := prov.(providers.RequestRouter); !ok && rt.Empty() { // the plan did not build
		rt = &providers.Routing{Match: []providers.Match{{}}}
	}
	return providers.CheckRouting(ctx, prov, a.cfg.Provider, rt)
}

// abMetrics makes an A/B test's metrics: the two-sided comparison of both
// variants (errors and latency as compare lists them, and every check
// with a direction) replaces the canary judge, which would roll back a
// variant that is merely worse; guardrails, probes and bounded checks
// still roll back a broken one. Without a metrics source nothing is
// compared, which is an input error.
func abMetrics(m *gates.Metrics, spec gates.Spec, src gates.MetricSource) error {
	if src == nil {
		return input.Invalid("strategy", strategies.AB, "an A/B test compares its variants' metrics, and this provider reports none: set metrics-source")
	}
	ab := spec.AB()
	m.AB, m.Judge, m.Source, m.Service = &ab, nil, src, spec.Service
	return nil
}
