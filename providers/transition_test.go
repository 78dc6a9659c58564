package providers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

func TestTransitionDoneAndCheck(t *testing.T) {
	t.Parallel()
	rev := func(id string) *providers.Revision { return &providers.Revision{ID: id} }
	canary := providers.Status{Stable: rev("v1"), Candidate: rev("v2"), Weight: 10}
	promoted := providers.Status{Stable: rev("v2"), Previous: rev("v1")}
	cases := []struct {
		name  string
		t     providers.Transition
		st    providers.Status
		done  bool
		check error
	}{
		{"shift made", providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 10}, canary, true, nil},
		{"shift to make", providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 50}, canary, false, nil},
		{"shift of another candidate", providers.Transition{Action: providers.ActionShift, Revision: "v3", Weight: 50}, canary, false, providers.ErrConflict},
		{"shift with no candidate", providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 50}, promoted, false, providers.ErrNoCandidate},
		{"promote to make", providers.Transition{Action: providers.ActionPromote, Revision: "v2"}, canary, false, nil},
		{"promote made", providers.Transition{Action: providers.ActionPromote, Revision: "v2"}, promoted, true, nil},
		{"rollback to make", providers.Transition{Action: providers.ActionRollback, Revision: "v2"}, canary, false, nil},
		{"rollback never undoes a promotion", providers.Transition{Action: providers.ActionRollback, Revision: "v2"}, promoted, false, providers.ErrNoCandidate},
		{"rollback of a candidate long gone", providers.Transition{Action: providers.ActionRollback, Revision: "v0"}, promoted, true, nil},
		{"revert to make", providers.Transition{Action: providers.ActionRevert, Revision: "v2"}, promoted, false, nil},
		{"revert with nothing warm", providers.Transition{Action: providers.ActionRevert, Revision: "v2"}, providers.Status{Stable: rev("v2")}, false, providers.ErrNoCandidate},
		{"revert made", providers.Transition{Action: providers.ActionRevert, Revision: "v2"}, providers.Status{Stable: rev("v1")}, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.t.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := c.t.Done(c.st); got != c.done {
				t.Errorf("Done = %v, want %v", got, c.done)
			}
			if c.done {
				return
			}
			if err := c.t.Check(c.st); !errors.Is(err, c.check) || (c.check == nil) != (err == nil) {
				t.Errorf("Check = %v, want %v", err, c.check)
			}
		})
	}
}

func TestTransitionValidate(t *testing.T) {
	t.Parallel()
	for _, tr := range []providers.Transition{
		{Action: "teleport", Revision: "v2"},
		{Action: providers.ActionShift, Revision: "v2", Weight: 101},
		{Action: providers.ActionShift, Weight: 10},
		{Action: providers.ActionPromote, Revision: "v2", KeepPrevious: -1},
		{Action: providers.ActionDeploy, Revision: "v2"},
	} {
		if err := tr.Validate(); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", tr, err)
		}
	}
}

// steps is a Stepwise platform that logs its calls and can fail one.
type steps struct {
	stored providers.Rollout
	calls  []string
	fail   string
}

func (s *steps) Record(_ context.Context, r providers.Rollout) (providers.Rollout, error) {
	call := "record " + string(r.Phase)
	if r.Intent != nil {
		call += " intent " + string(r.Intent.Action)
	}
	s.calls = append(s.calls, call)
	next, err := providers.NextRecord(s.stored, r)
	if err != nil {
		return providers.Rollout{}, err
	}
	s.stored = next
	return next, nil
}

func (s *steps) Traffic(_ context.Context, t providers.Transition) error {
	s.calls = append(s.calls, "traffic "+t.String())
	if s.fail == "traffic" {
		return errors.New("platform down")
	}
	return nil
}

func TestApplyStepwise(t *testing.T) {
	t.Parallel()
	s := &steps{stored: providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Version: 3}}
	tr := providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 50,
		Record: providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Weight: 50, Version: 3}}
	got, err := providers.ApplyStepwise(t.Context(), s, tr)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"record progressing intent shift", "traffic shift v2 to 50%", "record progressing"}
	if len(s.calls) != 3 || s.calls[0] != want[0] || s.calls[1] != want[1] || s.calls[2] != want[2] {
		t.Errorf("calls %q, want %q", s.calls, want)
	}
	if got.Version != 5 || got.Intent != nil || got.Weight != 50 {
		t.Errorf("stored %+v, want version 5, weight 50, no intent", got)
	}
	if _, err := providers.ApplyStepwise(t.Context(), s, tr); !errors.Is(err, providers.ErrStale) || len(s.calls) != 4 {
		t.Errorf("from a stale version: %v after %d calls, want ErrStale and no traffic call", err, len(s.calls))
	}

	s = &steps{stored: providers.Rollout{ID: "r1", Version: 3}, fail: "traffic"}
	if _, err := providers.ApplyStepwise(t.Context(), s, tr); err == nil {
		t.Fatal("a failed act reported success")
	}
	if in := s.stored.Intent; in == nil || in.Weight != 50 {
		t.Fatalf("after a failed act the record holds %+v, want the intent left for readers", s.stored)
	}
	finish := s.stored.Intent.Transition(s.stored)
	s.fail = ""
	if got, err := providers.ApplyStepwise(t.Context(), s, finish); err != nil || got.Intent != nil {
		t.Errorf("finishing the intent: %+v, %v", got, err)
	}
}
