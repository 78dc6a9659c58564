package fly

import (
	"context"
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/gates"
)

var _ gates.PlatformGater = (*Provider)(nil)

// PlatformGates is the machine-checks gate: the health checks Fly runs
// on the candidate's machines, judged between steps.
func (p *Provider) PlatformGates() []gates.Gate { return []gates.Gate{checksGate{p: p}} }

// checksGate reads the candidate's machines and fails when one is not
// started or a check of one is critical; a check still warming up
// (warning) passes.
type checksGate struct{ p *Provider }

// Name returns "machine-checks".
func (g checksGate) Name() string { return "machine-checks" }

// Check reads the machines (one call) and judges the candidate's.
func (g checksGate) Check(ctx context.Context, t gates.Target) gates.Result {
	r := gates.Result{Gate: g.Name(), Unit: "%", Threshold: "no critical check", Window: t.Window,
		Query: "GET /v1/apps/" + g.p.app + "/machines: the checks of the machines of " + t.Candidate.ID}
	v, err := g.p.read(ctx, "read the checks of")
	if err != nil {
		r.Outcome, r.Message = gates.Error, err.Error()
		return r
	}
	var total, passing int
	var bad []string
	machines := 0
	for _, m := range v.machines {
		if revisionOf(m) != t.Candidate.ID {
			continue
		}
		machines++
		if m.State != "started" {
			bad = append(bad, fmt.Sprintf("machine %s is %s", m.ID, m.State))
		}
		for _, c := range m.Checks {
			total++
			switch c.Status {
			case "passing", "warning":
				passing++
			default:
				bad = append(bad, fmt.Sprintf("machine %s check %s is %s (%s)", m.ID, c.Name, c.Status, c.Output))
			}
		}
	}
	r.Samples = int64(total)
	switch {
	case machines == 0:
		r.Outcome, r.Message = gates.Inconclusive, "no machine runs "+t.Candidate.ID+" yet"
	case len(bad) > 0:
		r.Outcome, r.Message = gates.Failed, strings.Join(bad, "; ")
	default:
		r.Outcome, r.Message = gates.Successful, fmt.Sprintf("%d machines, %d checks passing", machines, total)
	}
	r.Value = 100
	if total > 0 {
		r.Value = 100 * float64(passing) / float64(total)
	}
	return r
}
