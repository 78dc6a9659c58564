package cloudrun

import (
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/crashtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCrashPointsCloudRun runs the crash-point suite over the real Google
// clients and the fake Admin API and Cloud Monitoring, in synctest
// bubbles: each process of a case is a Provider of its own; the candidate
// serves two hours of requests, all 5xx when the scenario fails it. Every
// kill point runs, and a command at every other stop point.
func TestCrashPointsCloudRun(t *testing.T) {
	t.Parallel()
	s := crashtest.WireSuite("cloudrun", crashService)
	s.Parallel = 4
	crashtest.Run(t, s)
}

// crashService is a fresh testEnv whose candidate api-v2 has traffic in
// Cloud Monitoring, healthy or failing as sc says, from before the metrics
// delay so that the first windows read hold some; the guardrail reads it
// with the provider's metrics delay, as ramp does.
func crashService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	env := newTestEnv(t)
	class := "2xx"
	if sc.Failing {
		class = "5xx"
	}
	for at := time.Now().Add(-10 * time.Minute); at.Before(time.Now().Add(2 * time.Hour)); at = at.Add(20 * time.Second) {
		env.mon.Add(resource(candidateRevision), metricRequestCount, class, at, count(100))
	}
	return &crashtest.Service{
		Connect:   func() providers.Provider { return env.provider(t) },
		Stable:    seedRevision,
		Artifact:  providers.Artifact{Image: nextImage, Revision: "v2"},
		Candidate: candidateRevision,
		Metrics: func(src gates.MetricSource) gates.Metrics {
			m := crashtest.Guardrail(src, 1, 10)
			m.Delay = ingestionDelay // src wraps the provider: set what ramp would
			return m
		},
	}
}
