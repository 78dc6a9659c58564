package fly

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// TestMachineChecksGate: the gate passes while the candidate's machines
// pass their checks and fails, naming the machine and the check, once
// one of them turns critical; through the engine, that rolls the canary
// back with every stable machine routable again.
func TestMachineChecksGate(t *testing.T) {
	t.Parallel()
	bubble(t, 2, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		g := p.PlatformGates()[0]
		rev, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
		if err != nil {
			t.Fatal(err)
		}
		if r := g.Check(t.Context(), gates.Target{Candidate: rev}); r.Outcome != gates.Successful || r.Samples != 2 {
			t.Errorf("healthy candidate: %+v", r)
		}
		var sick string
		for _, m := range e.w.Machines("web") {
			if m.Image == nextImage {
				sick = m.ID
				e.w.SetSick("web", m.ID, true)
				break
			}
		}
		r := g.Check(t.Context(), gates.Target{Candidate: rev})
		if r.Outcome != gates.Failed || !strings.Contains(r.Message, sick) || !strings.Contains(r.Message, "critical") || r.Value != 50 {
			t.Errorf("a critical check: %+v", r)
		}
		if r := g.Check(t.Context(), gates.Target{Candidate: providers.Revision{ID: "nothing"}}); r.Outcome != gates.Inconclusive {
			t.Errorf("no machine: %+v", r)
		}
	})
	bubble(t, 2, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		sicken := func(ev engine.Event) {
			if s, ok := ev.(*engine.Shifted); ok && s.Weight == 50 {
				for _, m := range e.w.Machines("web") {
					if m.Image == nextImage {
						e.w.SetSick("web", m.ID, true)
					}
				}
			}
		}
		res := newEngine(p, p.PlatformGates()[0], time.Hour, sicken).Deploy(t.Context(), canary(t, 50, 100),
			providers.Artifact{Image: nextImage, Revision: "v2"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeRolledBack || !strings.Contains(res.Reason, "machine-checks") {
			t.Fatalf("outcome %s: %s", res.Outcome, res.Reason)
		}
		if r := e.w.Routable("web"); r[stableImage] != 2 || r[nextImage] != 0 {
			t.Errorf("routable after the rollback: %v", r)
		}
	})
}
