package fly

import (
	"testing"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/crashtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCrashPointsFly runs the crash-point suite over the real client and
// the fake Machines API, in synctest bubbles: each process of a case is a
// Provider of its own, and the fake stops a process before each of its
// writes too (metadata, cordon, uncordon, destroy), so stops fall between
// the intent, the act and the outcome of a transition. Nine stable
// machines let the suite's 10% step be expressed (1 of 10 routable).
func TestCrashPointsFly(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, crashtest.WireSuite("fly", crashService))
}

func crashService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	e := newTestEnv(t, 9)
	return &crashtest.Service{
		Connect:  func() providers.Provider { return e.provider(t) },
		Stable:   "v1",
		Artifact: providers.Artifact{Image: nextImage, Revision: "v2"},
		Metrics: func(gates.MetricSource) gates.Metrics {
			return crashtest.Guardrail(crashtest.SplitSource{Read: e.provider(t), Failing: sc.Failing}, 1, 10)
		},
		OnWrite: e.w.OnWrite,
	}
}

// TestCrashPointsFlyBlueGreen is the crash-point suite for strategy
// bluegreen: green started unregistered, held at 0%, then switched;
// every stop falls between the writes of the deploy and the switch, and
// a rollback or pause from another process comes at each (the engine
// judges no metrics at 0%, so a failing green is left to those commands
// and to TestBlueGreenProbeGate).
func TestCrashPointsFlyBlueGreen(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, strategySuite("bluegreen", []crashtest.Scenario{
		{Name: "bluegreen-promoted", Strategy: "bluegreen", End: providers.PhasePromoted},
	}, 3))
}

// TestCrashPointsFlyRolling is the crash-point suite for strategy
// rolling: 4 machines updated in place 2 at a time; a failing candidate
// fails its guardrail after the first batch and is put back; every stop
// falls between the staging, the updates of a batch and the record.
func TestCrashPointsFlyRolling(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, strategySuite("rolling", []crashtest.Scenario{
		{Name: "rolling-promoted", Strategy: "rolling", Instances: 4, MaxUnavailable: "2", End: providers.PhasePromoted},
		{Name: "rolling-rolled-back", Strategy: "rolling", Instances: 4, MaxUnavailable: "2", Failing: true, End: providers.PhaseRolledBack},
	}, 4))
}

// strategySuite is the Fly suite for the scenarios of strategy on n
// machines: a kill at every stop point (the canary suite runs the
// commands from another process, through the same Apply), to keep the
// package within go test's 10 minutes under -race on 2 loaded cores.
func strategySuite(strategy string, scenarios []crashtest.Scenario, n int) crashtest.Suite {
	s := crashtest.WireSuite("fly "+strategy, func(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
		e := newTestEnv(t, n)
		return &crashtest.Service{
			Connect:  func() providers.Provider { return strategyProvider(t, e, strategy) },
			Stable:   "v1",
			Artifact: providers.Artifact{Image: nextImage, Revision: "v2"},
			Metrics: func(gates.MetricSource) gates.Metrics {
				return crashtest.Guardrail(crashtest.SplitSource{Read: strategyProvider(t, e, strategy), Failing: sc.Failing}, 1, 10)
			},
			OnWrite: e.w.OnWrite,
		}
	})
	s.Sample = func(c crashtest.Case) bool { return c.Mode == crashtest.Kill }
	s.MinStopPoints, s.Scenarios = 10, scenarios
	return s
}
