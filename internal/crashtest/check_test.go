package crashtest

import (
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

func rev(id string) *providers.Revision { return &providers.Revision{ID: id, Ready: true} }

func TestDisagreements(t *testing.T) {
	t.Parallel()
	inFlight := func(phase providers.Phase, w int) providers.Rollout {
		return providers.Rollout{ID: "r1", Phase: phase, Stable: "v1", Candidate: "v2", Weight: w}
	}
	cases := []struct {
		name string
		st   providers.Status
		want int
	}{
		{"nothing recorded", providers.Status{Stable: rev("v1")}, 0},
		{"paused, split as recorded", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10, Rollout: inFlight(providers.PhasePaused, 10)}, 0},
		{"promoted", providers.Status{Stable: rev("v2"), Previous: rev("v1"), Rollout: inFlight(providers.PhasePromoted, 100)}, 0},
		{"rolled back", providers.Status{Stable: rev("v1"), Rollout: inFlight(providers.PhaseRolledBack, 0)}, 0},
		{"split differs", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 50, Rollout: inFlight(providers.PhasePaused, 10)}, 1},
		{"progressing, nobody drives it", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10, Rollout: inFlight(providers.PhaseProgressing, 10)}, 1},
		{"intent left", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10, Rollout: func() providers.Rollout {
			r := inFlight(providers.PhasePaused, 10)
			r.Intent = &providers.Intent{Action: providers.ActionShift, Revision: "v2", Weight: 10}
			return r
		}()}, 1},
		{"promoted on record, still a candidate", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 100, Rollout: inFlight(providers.PhasePromoted, 100)}, 2},
		{"rolled back on record, serving as stable", providers.Status{Stable: rev("v2"), Rollout: inFlight(providers.PhaseRolledBack, 0)}, 1},
		{"in flight, candidate gone", providers.Status{Stable: rev("v1"), Rollout: inFlight(providers.PhasePaused, 10)}, 1},
		{"a candidate nobody recorded", providers.Status{Stable: rev("v1"), Candidate: rev("v3"), Rollout: inFlight(providers.PhaseRolledBack, 0)}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Disagreements(c.st); len(got) != c.want {
				t.Errorf("Disagreements() = %q, want %d", got, c.want)
			}
		})
	}
}

func TestCheckEnd(t *testing.T) {
	t.Parallel()
	rec := func(phase providers.Phase, w int) providers.Rollout {
		return providers.Rollout{ID: "r1", Phase: phase, Candidate: "v2", Weight: w}
	}
	want := func(phase providers.Phase, natural bool) Want {
		return Want{Phase: phase, Stable: "v1", Candidate: "v2", PauseWeight: 10, Natural: natural}
	}
	cases := []struct {
		name string
		st   providers.Status
		want Want
		n    int
	}{
		{"promoted", providers.Status{Stable: rev("v2"), Previous: rev("v1"), Rollout: rec(providers.PhasePromoted, 100)}, want(providers.PhasePromoted, true), 0},
		{"promoted, previous lost", providers.Status{Stable: rev("v2"), Rollout: rec(providers.PhasePromoted, 100)}, want(providers.PhasePromoted, true), 1},
		{"rolled back instead of promoted", providers.Status{Stable: rev("v1"), Rollout: rec(providers.PhaseRolledBack, 0)}, want(providers.PhasePromoted, false), 3},
		{"rolled back", providers.Status{Stable: rev("v1"), Rollout: rec(providers.PhaseRolledBack, 0)}, want(providers.PhaseRolledBack, true), 0},
		{"stable not ready", providers.Status{Stable: &providers.Revision{ID: "v1"}, Rollout: rec(providers.PhaseRolledBack, 0)}, want(providers.PhaseRolledBack, true), 1},
		{"no stable", providers.Status{Rollout: rec(providers.PhaseRolledBack, 0)}, want(providers.PhaseRolledBack, true), 2},
		{"paused by the plan", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10, Rollout: rec(providers.PhasePaused, 10)}, want(providers.PhasePaused, true), 0},
		{"paused elsewhere at 50%", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 50, Rollout: rec(providers.PhasePaused, 50)}, want(providers.PhasePaused, false), 0},
		{"paused at the wrong step", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 50, Rollout: rec(providers.PhasePaused, 50)}, want(providers.PhasePaused, true), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := CheckEnd(c.st, c.want); len(got) != c.n {
				t.Errorf("CheckEnd() = %q, want %d problems", got, c.n)
			}
		})
	}
}

func TestEveryKillSomeCommands(t *testing.T) {
	t.Parallel()
	picked := map[string]int{}
	for k := 1; k <= 12; k++ {
		for _, w := range []When{Before, After} {
			for _, m := range Modes {
				if EveryKillSomeCommands(Case{Mode: m, K: k, When: w}) {
					picked[string(m)+" "+string(w)]++
				}
			}
		}
	}
	for _, m := range []Mode{Promote, Rollback, Pause} {
		for _, w := range []When{Before, After} {
			if picked[string(m)+" "+string(w)] != 2 {
				t.Errorf("%s %s picked %d times in 12 calls, want 2: %v", m, w, picked[string(m)+" "+string(w)], picked)
			}
		}
	}
	if picked["kill before"] != 12 || picked["kill after"] != 12 {
		t.Errorf("kills picked %v, want all", picked)
	}
}
