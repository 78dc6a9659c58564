package providers_test

import (
	"errors"
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

func TestNextRecord(t *testing.T) {
	t.Parallel()
	stored := providers.Rollout{ID: "r1", Phase: providers.PhasePaused, Version: 4}
	cases := []struct {
		name    string
		stored  providers.Rollout
		write   providers.Rollout
		version int64
		stale   bool
	}{
		{"first record of a service", providers.Rollout{}, providers.Rollout{ID: "r1"}, 1, false},
		{"written from the stored version", stored, providers.Rollout{ID: "r1", Version: 4}, 5, false},
		{"written from an older version", stored, providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Version: 3}, 0, true},
		{"another rollout written from the stored version", stored, providers.Rollout{ID: "r2", Version: 4}, 5, false},
		{"another rollout written from an older version", stored, providers.Rollout{ID: "r2"}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := providers.NextRecord(c.stored, c.write)
			if c.stale {
				if !errors.Is(err, providers.ErrStale) || !providers.Permanent(err) {
					t.Fatalf("err = %v, want a permanent ErrStale", err)
				}
				return
			}
			if err != nil || got.Version != c.version {
				t.Errorf("NextRecord = version %d, %v; want %d", got.Version, err, c.version)
			}
		})
	}
}
