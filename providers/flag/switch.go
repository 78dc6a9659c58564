package flag

import (
	"context"
	"net/http"

	"github.com/ramp-deploy/ramp/providers"
)

// Switch turns a flag on and off for a canary's flag step
// (engine.FlagSwitch) over the same backends as the provider: a service
// rolled out by another provider ships the code dark, then a step turns
// the feature on. It keeps no record: the service's rollout record says
// where the rollout stands.
type Switch struct {
	be Backend
}

// NewSwitch is a Switch for f, after checking every input as New does.
// It calls nothing.
func NewSwitch(f providers.FlagTarget) (*Switch, error) {
	if err := Validate(f); err != nil {
		return nil, err
	}
	be, err := backends[f.Backend](f, &http.Client{Timeout: httpTimeout})
	if err != nil {
		return nil, err
	}
	return &Switch{be: be}, nil
}

// SetFlag makes the flag serve pct percent of users.
func (s *Switch) SetFlag(ctx context.Context, pct int) error { return s.be.SetPercent(ctx, pct) }
