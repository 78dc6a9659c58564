package crashtest

import (
	"context"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// WireSuite is the suite of a provider tested against a wire-level fake
// with its real client: each case in a synctest bubble, checks every
// minute, a 10-minute progress deadline, a command held 2 minutes and a
// deploy 5 (a lease lasts 2m30s at this interval), two cases at a time,
// every kill point and a command at every other stop point. Callers set
// Scenarios, MinStopPoints, Parallel or another Sample as they need.
func WireSuite(provider string, service func(t *testing.T, sc Scenario) *Service) Suite {
	return Suite{
		Provider:         provider,
		Service:          service,
		Interval:         time.Minute,
		ProgressDeadline: 10 * time.Minute,
		Synctest:         true,
		CommandHold:      2 * time.Minute,
		DeployHold:       5 * time.Minute,
		Parallel:         2,
		Sample:           EveryKillSomeCommands,
	}
}

// SplitSource stands in for a metric source outside the provider (a
// Prometheus reading Fly's machines, a variant label for a flag): each
// window, 100 requests split as the provider's Status says the traffic
// is, every candidate request failing when Failing is set. It reads
// through a provider of its own, so the suite's stops (before writes)
// never fall in it.
type SplitSource struct {
	Read    providers.Provider
	Failing bool
}

// Observe returns the window's split.
func (s SplitSource) Observe(ctx context.Context, q gates.CountQuery) (gates.Observation, error) {
	st, err := s.Read.Status(ctx)
	if err != nil {
		return gates.Observation{}, err
	}
	o := gates.Observation{Window: q.Window, Stable: gates.Counts{Requests: int64(100 - st.Weight)}}
	if st.Candidate != nil && st.Candidate.ID == q.Candidate {
		o.Candidate.Requests = int64(st.Weight)
		if s.Failing {
			o.Candidate.Errors = o.Candidate.Requests
		}
	}
	return o, nil
}
