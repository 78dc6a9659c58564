package ecs

import (
	"testing"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/crashtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCrashPointsECS runs the crash-point suite over the real SDK clients
// and the fake ECS, ELBv2 and CloudWatch, in synctest bubbles: each
// process of a case is a Provider of its own, and the fake stops a
// process before each of its writes too: between the claim, its check and
// the head of a record write, and between the intent, the traffic and the
// outcome of a stepwise Apply. The candidate's tasks
// answer every request 5xx when the scenario fails it. Every kill point
// runs, and a command at every other stop point.
func TestCrashPointsECS(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, crashtest.WireSuite("ecs", crashService))
}

// crashService is a fresh testEnv; the guardrail reads CloudWatch with the
// provider's metrics delay, as ramp does.
func crashService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	env := newTestEnv(t)
	image := nextImage
	if sc.Failing {
		image = "registry.example/web:failing"
	}
	return &crashtest.Service{
		Connect:  func() providers.Provider { return env.provider(t) },
		Stable:   env.w.TaskSets("prod", "web")[0].ID,
		Artifact: providers.Artifact{Image: image, Revision: "v2"},
		Metrics:  delayedGuardrail,
		OnWrite:  env.w.OnWrite,
	}
}

// delayedGuardrail is the suite's guardrail read from CloudWatch with the
// provider's metrics delay, as ramp reads it.
func delayedGuardrail(src gates.MetricSource) gates.Metrics {
	m := crashtest.Guardrail(src, 1, 10)
	m.Delay = reportingDelay
	return m
}

// TestCrashPointsECSNative runs the crash-point suite in mode native:
// ECS's own CANARY at 10%, paused at its PAUSE hook before each traffic
// shift, so stops fall between the intent, the ContinueServiceDeployment
// (or StopServiceDeployment) and the outcome, and a process killed while
// ECS waits at the hook leaves a deployment the next process answers.
func TestCrashPointsECSNative(t *testing.T) {
	t.Parallel()
	s := crashtest.WireSuite("ecs-native", crashNativeService)
	s.Scenarios, s.MinStopPoints = []crashtest.Scenario{
		{Name: "promoted", Steps: "10,100", End: providers.PhasePromoted},
		{Name: "rolled-back", Steps: "10,100", Failing: true, End: providers.PhaseRolledBack},
		{Name: "paused", Steps: "10,pause,100", End: providers.PhasePaused, PauseWeight: 10},
	}, 20
	crashtest.Run(t, s)
}

// crashNativeService is a fresh testEnv with the service on ECS's own
// controller, each process a mode native Provider for CANARY 10%.
func crashNativeService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	env := newTestEnv(t, onECS)
	image := nextImage
	if sc.Failing {
		image = "registry.example/web:failing"
	}
	return &crashtest.Service{
		Connect:    func() providers.Provider { return env.nativeProvider(t, 10, 100) },
		Stable:     "web:1",
		Candidate:  "web:2",
		Renames:    true, // a deploy run again registers web:3
		NoPrevious: true,
		Artifact:   providers.Artifact{Image: image, Revision: "v2"},
		Metrics:    delayedGuardrail,
		OnWrite:    env.w.OnWrite,
	}
}

// TestCrashPointsECSRolling runs the crash-point suite over strategy
// rolling: ECS's rolling update of 4 tasks in batches of 2, stopped
// between the intent, the UpdateService (or StopServiceDeployment) and
// the outcome, and while ECS goes on replacing tasks by itself.
func TestCrashPointsECSRolling(t *testing.T) {
	t.Parallel()
	s := crashtest.WireSuite("ecs-rolling", crashRollingService)
	s.Scenarios, s.MinStopPoints = []crashtest.Scenario{
		{Name: "promoted", Instances: 4, End: providers.PhasePromoted},
		{Name: "rolled-back", Instances: 4, Failing: true, End: providers.PhaseRolledBack},
	}, 20
	crashtest.Run(t, s)
}

// crashRollingService is a fresh testEnv with 4 tasks on ECS's own
// controller behind one target group, each process running strategy
// rolling; a batch takes 6 describes to turn healthy, so ECS is still
// replacing tasks when the suite stops a process.
func crashRollingService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	env := newTestEnv(t, rollingService(true))
	env.w.SetPolls(2, 6)
	image := nextImage
	if sc.Failing {
		image = "registry.example/web:failing"
	}
	return &crashtest.Service{
		Connect:    func() providers.Provider { return env.rollingProvider(t) },
		Stable:     "web:1",
		Candidate:  "web:2",
		Artifact:   providers.Artifact{Image: image, Revision: "v2"},
		Renames:    true,
		NoPrevious: true,
		Metrics:    delayedGuardrail,
		OnWrite:    env.w.OnWrite,
	}
}
