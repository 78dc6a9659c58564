package engine_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
	"github.com/ramp-deploy/ramp/strategies"
)

// rollingEngine is newEngine over a platform of n instances, as a Replacer.
func rollingEngine(p *providertest.Platform, n int, rec *recorder) *engine.Engine {
	e := newEngine(p.WithInstances(n), rec)
	e.Provider = providertest.Replacing{Fake: providertest.Fake{P: p}}
	return e
}

func rollingPlan(t *testing.T, n int, surge, unavailable string) strategies.Plan {
	t.Helper()
	plan, err := strategies.New(strategies.Spec{Strategy: strategies.Rolling, Instances: n, MaxSurge: surge,
		MaxUnavailable: unavailable, Interval: 10 * time.Second, FailureThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// moves lists the calls that move instances or traffic.
func moves(p *providertest.Platform) []string {
	var out []string
	for _, c := range p.Calls() {
		if strings.HasPrefix(c, "Stage") || strings.HasPrefix(c, "Deploy") || strings.HasPrefix(c, "Apply replace") ||
			strings.HasPrefix(c, "Apply promote") || strings.HasPrefix(c, "Apply rollback") || strings.HasPrefix(c, "Apply shift") {
			out = append(out, c)
		}
	}
	return out
}

func TestRollingReplacesInBatches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name               string
		surge, unavailable string
		want               []string
	}{
		{"batches of 1", "1", "0", []string{"Stage app:v2",
			"Apply replace 1 instances with v2 (25%) progressing", "Apply replace 2 instances with v2 (50%) progressing",
			"Apply replace 3 instances with v2 (75%) progressing", "Apply replace 4 instances with v2 (100%) progressing",
			"Apply promote v2 promoted"}},
		{"batches of 2", "1", "1", []string{"Stage app:v2",
			"Apply replace 2 instances with v2 (50%) progressing", "Apply replace 4 instances with v2 (100%) progressing",
			"Apply promote v2 promoted"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				res := rollingEngine(p, 4, &recorder{}).Deploy(t.Context(), rollingPlan(t, 4, c.surge, c.unavailable), art, providers.Rollout{ID: "r1"})
				if res.Outcome != engine.OutcomePromoted {
					t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
				}
				if diff := cmp.Diff(c.want, moves(p)); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
				st := p.Snapshot()
				if st.Stable.ID != "v2" || st.Previous != nil || *st.Instances != (providers.Instances{Stable: 4}) {
					t.Errorf("after promotion: stable %v previous %v instances %+v, want v2 on all 4 and nothing kept warm",
						st.Stable, st.Previous, *st.Instances)
				}
			})
		})
	}
}

func TestRollingFailingBatchRestoresStable(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		p.SetHealth("v2", providertest.Health{ErrorRate: 0.5, LatencyMS: 20})
		rec := &recorder{}
		res := rollingEngine(p, 4, rec).Deploy(t.Context(), rollingPlan(t, 4, "1", "0"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeRolledBack {
			t.Fatalf("outcome %s (%s), want rolled back", res.Outcome, res.Reason)
		}
		want := []string{"Stage app:v2", "Apply replace 1 instances with v2 (25%) progressing", "Apply rollback v2 rolled_back"}
		if diff := cmp.Diff(want, moves(p)); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
		st := p.Snapshot()
		if st.Candidate != nil || st.Stable.ID != "v1" || *st.Instances != (providers.Instances{Stable: 4}) {
			t.Errorf("after rollback: stable %v candidate %v instances %+v, want v1 on all 4", st.Stable, st.Candidate, *st.Instances)
		}
		if st.Rollout.Instances != 0 || st.Rollout.Weight != 0 || st.Rollout.Phase != providers.PhaseRolledBack {
			t.Errorf("record: %+v, want rolled back with no instances of the candidate", st.Rollout)
		}
	})
}

func TestRollingPutsBackInstancesChangedOutside(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		healthy(p, "v2")
		rec := &recorder{}
		done := false
		p.OnCall("Observe", func() {
			if st := p.Snapshot(); !done && st.Instances != nil && st.Instances.Candidate == 2 {
				done = true
				p.SetInstances(1) // someone scaled the candidate down by hand
			}
		})
		res := rollingEngine(p, 4, rec).Deploy(t.Context(), rollingPlan(t, 4, "1", "1"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if w := rec.warnings(); !strings.Contains(w, "reports 1 instances of the candidate, not the 2") {
			t.Errorf("warnings %q: the changed count is not reported", w)
		}
		want := []string{"Stage app:v2", "Apply replace 2 instances with v2 (50%) progressing",
			"Apply replace 2 instances with v2 (50%) progressing", "Apply replace 4 instances with v2 (100%) progressing", "Apply promote v2 promoted"}
		if diff := cmp.Diff(want, moves(p)); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})
}

func TestRollingNeedsAReplacer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		res := newEngine(p, &recorder{}).Deploy(t.Context(), rollingPlan(t, 4, "1", "0"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomeFailed || !errors.Is(res.Err, providers.ErrInvalid) {
			t.Fatalf("outcome %s (%v), want failed with ErrInvalid", res.Outcome, res.Err)
		}
		for _, w := range []string{"strategy rolling", "canary", "linear"} {
			if !strings.Contains(res.Reason, w) {
				t.Errorf("reason %q lacks %q", res.Reason, w)
			}
		}
		if calls := p.Calls(); len(calls) != 0 {
			t.Errorf("calls %q, want none before refusing", calls)
		}
	})
}

func TestRollingFirstDeployStartsEveryInstance(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "")
		healthy(p, "v2")
		res := rollingEngine(p, 3, &recorder{}).Deploy(t.Context(), rollingPlan(t, 3, "1", "0"), art, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
		}
		if diff := cmp.Diff([]string{"Deploy app:v2", "Apply promote v2 promoted"}, moves(p)); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})
}
