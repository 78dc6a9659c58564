package providers_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// FuzzRolloutJSON: a rollout record as any platform stores it (state.json,
// a Cloud Run annotation), whatever it holds, decodes into a record whose
// encoding is a fixed point of decode and encode, that the readers of a
// record (drift diagnosis, lease, intent) take without a panic, and whose
// stored settings either are refused or rebuild a plan with no negative
// time (as resume does).
func FuzzRolloutJSON(f *testing.F) {
	f.Add([]byte(`{"id":"r1","phase":"paused","step":1,"weight":10,"spec":{"strategy":{"strategy":"canary","interval":60000000000,"failure_threshold":2}},"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r providers.Rollout
		if json.Unmarshal(data, &r) != nil {
			return
		}
		once, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("record %+v decoded from %q does not encode: %v", r, data, err)
		}
		var r2 providers.Rollout
		if err := json.Unmarshal(once, &r2); err != nil {
			t.Fatalf("record encoded as %q does not decode: %v", once, err)
		}
		if twice, err := json.Marshal(r2); err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("record encoded as %q, decoded and encoded again: %q, %v", once, twice, err)
		}
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		providers.Diagnose(providers.Status{Rollout: r, Candidate: &providers.Revision{ID: r.Candidate}}, now)
		if r.Lease != nil {
			r.Lease.Alive(now)
		}
		if r.Intent != nil {
			_ = r.Intent.Transition(r).Validate()
		}
		if next, err := providers.NextRecord(r, r); err != nil || next.Version != r.Version+1 {
			t.Fatalf("NextRecord(r, r) = version %d, %v; want %d", next.Version, err, r.Version+1)
		}
		replan(t, r.Spec)
	})
}

// replan rebuilds the plan and gates from stored settings, as resume does.
func replan(t *testing.T, spec json.RawMessage) {
	t.Helper()
	if len(spec) == 0 {
		return
	}
	ro, err := config.DecodeRollout(spec)
	if err != nil {
		return
	}
	_ = ro.Encode() // must not panic
	if err := ro.Gates.Validate(); err != nil && !input.Is(err) {
		t.Fatalf("gates %+v: %v is not an input error", ro.Gates, err)
	}
	p, err := strategies.New(ro.Strategy)
	if err != nil {
		if !input.Is(err) {
			t.Fatalf("New(%+v) = %v, not an input error", ro.Strategy, err)
		}
		return
	}
	if p.ToPromotion() < 0 || p.WorstRollback() < 0 {
		t.Fatalf("plan of %s: ToPromotion %s, WorstRollback %s", spec, p.ToPromotion(), p.WorstRollback())
	}
}
