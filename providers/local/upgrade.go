package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Upgrade has the running agent hand its sockets over to an agent started
// from executable (an absolute path, typically a newer ramp), with no
// request failing: the supervisor starts the new agent on the same
// listeners, it re-adopts the revisions and the split, and once it serves
// the old agent stops accepting, finishes the requests in flight and exits,
// leaving the revisions running. Control calls the old agent refuses
// meanwhile are retried by the client. On failure the old agent goes on.
// It never starts an agent. For a service in a shared agent, the shared
// agent is upgraded so, every service it runs with it (UpgradeResult.Services).
func (p *Provider) Upgrade(ctx context.Context, executable string) (UpgradeResult, error) {
	var r UpgradeResult
	err := p.call(ctx, false, http.MethodPost, "/v1/upgrade", upgradeRequest{Executable: executable}, &r)
	if errors.Is(err, errNoAgent) {
		return r, fmt.Errorf("upgrade the local agent of %s: %w; the next deploy starts one from the new executable", p.cfg.Service, err)
	}
	if err != nil {
		return r, wrap("upgrade the local agent", err)
	}
	return r, nil
}

// upgradeRequest is the body of an upgrade call.
type upgradeRequest struct {
	// Executable is the ramp binary the new agent runs from.
	Executable string `json:"executable"`
}

// UpgradeResult says which agent process served before an upgrade and
// which serves after it.
type UpgradeResult struct {
	// From is the process ID of the agent that handed over.
	From int `json:"from"`
	// To is the process ID of the agent serving now.
	To int `json:"to"`
	// Executable is the program the agent serving now runs.
	Executable string `json:"executable"`
	// Services, for a shared agent, are the services it runs, every one
	// of them upgraded with it; From and To are then the shared agent's
	// processes.
	Services []string `json:"services,omitempty"`
}
