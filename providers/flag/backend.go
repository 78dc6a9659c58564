package flag

import (
	"context"
	"maps"
	"net/http"
	"slices"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// Backend is one flag in one environment of a flag service, as the
// provider drives it. Implementations wrap providers' sentinel errors
// (ErrNotFound, ErrPermission, ErrInvalid, ErrStale) so the engine can
// tell what a retry cannot fix.
type Backend interface {
	// Read reads the percentage of users the flag serves now (0 while it
	// is off in the environment) and the rollout record kept with it, as
	// stored ("" when none is).
	Read(ctx context.Context) (Flag, error)
	// SetPercent makes the flag serve pct percent of users, turning it on
	// in the environment when it is off and pct is above 0.
	SetPercent(ctx context.Context, pct int) error
	// StoreRecord stores next as the record kept with the flag,
	// compare-and-set: when the stored record is no longer prev (as Read
	// returned it) it is providers.ErrStale and nothing is written.
	StoreRecord(ctx context.Context, prev, next string) error
}

// Flag is one read of a flag.
type Flag struct {
	// Percent is the percentage of users the flag serves.
	Percent int
	// Record is the rollout record kept with the flag, as stored; "" when
	// none is.
	Record string
	// Warnings are facts about the flag a reader should know.
	Warnings []string
}

// backends builds each backend by name from the flag's target; the HTTP
// client is shared. Unknown names are an input error listing these.
var backends = map[string]func(providers.FlagTarget, *http.Client) (Backend, error){
	"launchdarkly": newLaunchDarkly,
	"unleash":      newUnleash,
	"webhook":      newWebhook,
}

// BackendNames lists the backends, sorted.
func BackendNames() []string { return slices.Sorted(maps.Keys(backends)) }

// checkBackend names an unknown or missing backend.
func checkBackend(name string) error {
	if _, ok := backends[name]; ok {
		return nil
	}
	if name == "" {
		return input.Invalid("flag-backend", name, "is required by the flag provider; valid backends are %q", BackendNames())
	}
	return input.Invalid("flag-backend", name, "unknown flag backend; valid backends are %q", BackendNames())
}
