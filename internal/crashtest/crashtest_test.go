package crashtest_test

import (
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/crashtest"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// fakeSuite is the suite over providertest: one Platform per case, in a
// synctest bubble; stepwise platforms tap each write of ApplyStepwise.
func fakeSuite(stepwise bool) crashtest.Suite {
	name := "providertest"
	if stepwise {
		name += " (stepwise)"
	}
	return crashtest.Suite{
		Provider:         name,
		Interval:         10 * time.Second,
		ProgressDeadline: time.Minute,
		Synctest:         true,
		CommandHold:      40 * time.Second, // a lease lasts 50s at this interval
		DeployHold:       5 * time.Minute,
		Parallel:         4,
		Service: func(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
			p := providertest.NewPlatform("http://svc", "v1")
			if stepwise {
				p.Stepwise()
			}
			rate := 0.001
			if sc.Failing {
				rate = 0.5
			}
			p.SetTraffic(50)
			p.SetHealth("v2", providertest.Health{ErrorRate: rate})
			svc := &crashtest.Service{
				Connect:  func() providers.Provider { return providertest.Fake{P: p} },
				Stable:   "v1",
				Artifact: providers.Artifact{Image: "app:v2", Revision: "v2"},
				Metrics: func(src gates.MetricSource) gates.Metrics {
					return crashtest.Guardrail(src, 1, 10)
				},
			}
			if stepwise {
				svc.OnWrite = func(tap func(string)) {
					p.OnCall("Record", func() { tap("Record (stepwise)") })
					p.OnCall("Traffic", func() { tap("Traffic (stepwise)") })
				}
			}
			return svc
		},
	}
}

func TestCrashPointsProvidertest(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, fakeSuite(false))
}

func TestCrashPointsProvidertestStepwise(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, fakeSuite(true))
}
