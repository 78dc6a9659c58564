package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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
// compared, which is an input error. The note says what is compared.
func abMetrics(m *gates.Metrics, spec gates.Spec, src gates.MetricSource) (note string, err error) {
	if src == nil {
		return "", input.Invalid("strategy", strategies.AB, "an A/B test compares its variants' metrics, and this provider reports none: set metrics-source")
	}
	ab := spec.AB()
	m.AB, m.Judge, m.Source, m.Service = &ab, nil, src, spec.Service
	var names []string
	if ab.Errors {
		names = append(names, gates.MetricErrorRate)
	}
	if ab.Latency {
		names = append(names, "latency")
	}
	for _, c := range ab.Checks {
		names = append(names, c.Name+" ("+c.Direction+")")
	}
	if len(names) == 0 {
		return "A/B test: nothing is compared (compare is off and no check has a direction); the test ends with no winner", nil
	}
	return fmt.Sprintf("A/B test: both variants compared two-sided on %s (alpha %s, split over both directions and every metric); "+
		"the canary judge is off, guardrails and probes still roll back", strings.Join(names, ", "), strconv.FormatFloat(ab.Alpha, 'g', -1, 64)), nil
}
