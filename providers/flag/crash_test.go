package flag

import (
	"context"
	"net/http"
	"testing"
	"time"

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
	crashtest.Run(t, crashtest.Suite{
		Provider:         "flag",
		Service:          crashService,
		Interval:         time.Minute,
		ProgressDeadline: 10 * time.Minute,
		Synctest:         true,
		CommandHold:      2 * time.Minute,
		DeployHold:       5 * time.Minute,
		Parallel:         2,
		Sample:           crashtest.EveryKillSomeCommands,
	})
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
			return crashtest.Guardrail(splitSource{read: connect(), failing: sc.Failing}, 1, 10)
		},
		OnWrite: func(tap func(string)) { w.OnWrite(tap) },
	}
}

// splitSource stands in for a metric source reading the variant label:
// each window, 100 users split as the flag serves them (the provider's
// Status), every request with the feature on failing for a failing
// scenario. It reads through a provider of its own, so the suite's stops
// (before writes) never fall in it.
type splitSource struct {
	read    providers.Provider
	failing bool
}

func (s splitSource) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	st, err := s.read.Status(ctx)
	if err != nil {
		return gates.Observation{}, err
	}
	o := gates.Observation{Window: q.Window, Stable: gates.Counts{Requests: int64(100 - st.Weight)}}
	if st.Candidate != nil && st.Candidate.ID == q.Candidate {
		o.Candidate.Requests = int64(st.Weight)
		if s.failing {
			o.Candidate.Errors = o.Candidate.Requests
		}
	}
	return o, nil
}
