package flag

import (
	"net/http"
	"testing"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/crashtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCrashPointsFlag runs the crash-point suite over the flag provider,
// its LaunchDarkly backend and the fake, in synctest bubbles: each
// process of a case is a Provider of its own, and the fake stops a
// process before each of its writes too (the record's JSON Patch, the
// percentage's semantic patch), so stops fall between the intent, the act
// and the outcome of a transition.
func TestCrashPointsFlag(t *testing.T) {
	t.Parallel()
	crashtest.Run(t, crashtest.WireSuite("flag", crashService))
}

func crashService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	w := ldWorld()
	connect := func() *Provider {
		be := NewLaunchDarkly(providers.FlagTarget{Name: "checkout", Backend: "launchdarkly", Environment: "production", Project: "shop",
			URL: "http://ld.invalid", Token: ldToken}, &http.Client{Transport: inProcess{w}})
		return NewWithBackend("checkout", be)
	}
	return &crashtest.Service{
		Connect:  func() providers.Provider { return connect() },
		Stable:   "checkout-at-0",
		Artifact: providers.Artifact{Image: "shop:v2", Revision: "v2"},
		Metrics: func(gates.MetricSource) gates.Metrics {
			return crashtest.Guardrail(crashtest.SplitSource{Read: connect(), Failing: sc.Failing}, 1, 10)
		},
		OnWrite: func(tap func(string)) { w.OnWrite(tap) },
	}
}
