package fly

import (
	"context"
	"testing"
	"time"

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
	crashtest.Run(t, crashtest.Suite{
		Provider:         "fly",
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
	e := newTestEnv(t, 9)
	return &crashtest.Service{
		Connect:  func() providers.Provider { return e.provider(t) },
		Stable:   "v1",
		Artifact: providers.Artifact{Image: nextImage, Revision: "v2"},
		Metrics: func(gates.MetricSource) gates.Metrics {
			return crashtest.Guardrail(splitSource{read: e.provider(t), failing: sc.Failing}, 1, 10)
		},
		OnWrite: e.w.OnWrite,
	}
}

// splitSource stands in for Fly's managed Prometheus, which the provider
// reads through the Prometheus source rather than measuring itself: each
// window, 100 requests split as the routable machines split them (the
// provider's Status, from the fake's cordon states), every candidate
// request failing for a failing scenario. It reads through a provider of
// its own, so the suite's stops (before writes) never fall in it.
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
