package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// refuseSecondAgent fails with providers.ErrConflict if the agent named by
// agent.json answers for cfg's service.
func refuseSecondAgent(ctx context.Context, cfg providers.Config) error {
	info, err := readAgentInfo(cfg.StateDir)
	if err != nil {
		return nil
	}
	if _, err := ping(ctx, http.DefaultClient, info, cfg.Service); err == nil {
		return fmt.Errorf("start agent: an agent (pid %d) already serves %s from %s: %w",
			info.PID, cfg.Service, cfg.StateDir, providers.ErrConflict)
	}
	return nil
}

// gone is closed once dir no longer exists (removed by hand, or a test's
// temporary directory cleaned up), so a detached agent never outlives its
// state.
func gone(ctx context.Context, dir string) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
					close(ch)
					return
				}
			}
		}
	}()
	return ch
}
