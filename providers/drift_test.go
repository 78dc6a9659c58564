package providers_test

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run a short-lived process: %v", err)
	}
	return cmd.Process.Pid
}

func TestDiagnose(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	host, _ := os.Hostname()
	live := &providers.Lease{Holder: providers.Holder{ID: "a", Host: host, PID: os.Getpid()}, Until: now.Add(time.Minute)}
	dead := &providers.Lease{Holder: providers.Holder{ID: "b", Host: host, PID: deadPID(t)}, Until: now.Add(time.Minute)}
	expired := &providers.Lease{Holder: providers.Holder{ID: "c", Host: "elsewhere", PID: 1}, Until: now.Add(-time.Second)}
	rev := func(id string) *providers.Revision { return &providers.Revision{ID: id, Ready: true} }
	rec := func(phase providers.Phase, w int, l *providers.Lease) providers.Rollout {
		return providers.Rollout{ID: "r1", Phase: phase, Stable: "v1", Candidate: "v2", Weight: w, Lease: l, Version: 7}
	}
	with := func(r providers.Rollout, f func(*providers.Rollout)) providers.Rollout { f(&r); return r }
	cases := []struct {
		name   string
		st     providers.Status
		kinds  []providers.DriftKind
		fix    providers.Action // of the first drift; "" for none
		driven bool
	}{
		{"nothing ever deployed", providers.Status{}, nil, "", false},
		{"promoted and settled", providers.Status{Stable: rev("v2"), Previous: rev("v1"), Rollout: rec(providers.PhasePromoted, 100, nil)}, nil, "", false},
		{"progressing, driven, split agrees", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10,
			Rollout: rec(providers.PhaseProgressing, 10, live)}, nil, "", false},
		{"split changed by hand under a live driver", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 50,
			Rollout: rec(providers.PhaseProgressing, 10, live)}, []providers.DriftKind{providers.DriftSplit}, providers.ActionShift, true},
		{"split differs on a paused rollout", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 50,
			Rollout: rec(providers.PhasePaused, 10, nil)}, []providers.DriftKind{providers.DriftSplit}, providers.ActionShift, false},
		{"driver died: orphaned", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10,
			Rollout: rec(providers.PhaseProgressing, 10, dead)}, []providers.DriftKind{providers.DriftOrphaned}, "", false},
		{"lease expired: orphaned", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10,
			Rollout: rec(providers.PhaseProgressing, 10, expired)}, []providers.DriftKind{providers.DriftOrphaned}, "", false},
		{"promoted on the platform, progressing on record", providers.Status{Stable: rev("v2"), Previous: rev("v1"),
			Rollout: rec(providers.PhaseProgressing, 50, dead)}, []providers.DriftKind{providers.DriftUnrecordedPromotion}, providers.ActionRecord, false},
		{"rolled back on the platform, paused on record", providers.Status{Stable: rev("v1"),
			Rollout: rec(providers.PhasePaused, 50, nil)}, []providers.DriftKind{providers.DriftUnrecordedRollback}, providers.ActionRecord, false},
		{"a candidate no record names", providers.Status{Stable: rev("v2"), Candidate: rev("v3"),
			Rollout: rec(providers.PhasePromoted, 100, nil)}, []providers.DriftKind{providers.DriftUnrecordedCandidate}, providers.ActionRollback, false},
		{"rolled back on record, still a candidate", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10,
			Rollout: rec(providers.PhaseRolledBack, 0, nil)}, []providers.DriftKind{providers.DriftUnmade}, providers.ActionRollback, false},
		{"promoted on record, platform serves another", providers.Status{Stable: rev("v9"),
			Rollout: rec(providers.PhasePromoted, 100, nil)}, []providers.DriftKind{providers.DriftStable}, "", false},
		{"interrupted shift, driver dead", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10,
			Rollout: with(rec(providers.PhaseProgressing, 50, dead), func(r *providers.Rollout) {
				r.Intent = &providers.Intent{Action: providers.ActionShift, Revision: "v2", Weight: 50, At: now}
			})}, []providers.DriftKind{providers.DriftInterrupted}, providers.ActionShift, false},
		{"shift in progress under a live driver", providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10,
			Rollout: with(rec(providers.PhaseProgressing, 50, live), func(r *providers.Rollout) {
				r.Intent = &providers.Intent{Action: providers.ActionShift, Revision: "v2", Weight: 50, At: now}
			})}, []providers.DriftKind{providers.DriftInterrupted}, providers.ActionShift, true},
		{"deploy cut short after the candidate started", providers.Status{Stable: rev("v1"), Candidate: rev("v2"),
			Rollout: with(rec(providers.PhaseProgressing, 0, dead), func(r *providers.Rollout) {
				r.Candidate, r.Intent = "", &providers.Intent{Action: providers.ActionDeploy, Revision: "v2", At: now}
			})}, []providers.DriftKind{providers.DriftInterrupted}, providers.ActionRecord, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ds := providers.Diagnose(c.st, now)
			var kinds []providers.DriftKind
			for _, d := range ds {
				kinds = append(kinds, d.Kind)
				if d.Detail == "" || d.Repair == "" {
					t.Errorf("%s: empty detail or repair: %+v", d.Kind, d)
				}
			}
			if len(kinds) != len(c.kinds) || (len(kinds) > 0 && kinds[0] != c.kinds[0]) {
				t.Fatalf("drift = %v, want %v (%+v)", kinds, c.kinds, ds)
			}
			if len(ds) == 0 {
				return
			}
			d := ds[0]
			switch {
			case c.fix == "" && d.Fix != nil:
				t.Errorf("fix %s, want none (a person decides)", d.Fix)
			case c.fix != "" && (d.Fix == nil || d.Fix.Action != c.fix):
				t.Errorf("fix %v, want %s", d.Fix, c.fix)
			case d.Fix != nil && (d.Fix.Record.Intent != nil || d.Fix.Validate() != nil):
				t.Errorf("fix %s leaves an intent or is invalid: %v", d.Fix, d.Fix.Validate())
			}
			if d.Driven != c.driven {
				t.Errorf("driven = %v, want %v", d.Driven, c.driven)
			}
		})
	}
}

func TestDeployCutShortIsAdoptedOrRolledBack(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rec := providers.Rollout{ID: "r2", Phase: providers.PhaseProgressing, Stable: "v1",
		Intent: &providers.Intent{Action: providers.ActionDeploy, Revision: "v2", At: now}}
	adopted := providers.Diagnose(providers.Status{Stable: &providers.Revision{ID: "v1"}, Candidate: &providers.Revision{ID: "v2"}, Rollout: rec}, now)
	if f := adopted[0].Fix; f == nil || f.Record.Candidate != "v2" || f.Record.Phase != providers.PhaseProgressing {
		t.Errorf("candidate started: fix %+v, want v2 adopted into the record", f)
	}
	gone := providers.Diagnose(providers.Status{Stable: &providers.Revision{ID: "v1"}, Rollout: rec}, now)
	if f := gone[0].Fix; f == nil || f.Action != providers.ActionRecord || f.Record.Phase != providers.PhaseRolledBack {
		t.Errorf("no candidate: fix %+v, want the rollout recorded as rolled back", f)
	}
}
