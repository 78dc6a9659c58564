//go:build !unix

package local

import (
	"context"
	"os"

	"github.com/ramp-deploy/ramp/providers"
)

// gracefulStop reports whether terminate asks a process to stop rather than
// killing it; without unix signals there is no portable way to ask, so
// revisions are killed once drained.
const gracefulStop = false

// terminate stops the process; here it is the same as kill.
func terminate(pid int) error { return kill(pid) }

// kill stops the process at once.
func kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer p.Release()
	return p.Kill()
}

// processAlive reports whether a process with this pid can be found.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// runAgentProcess runs the agent in this process: passing listeners to a
// child needs unix file descriptors, so there is no supervisor here.
func runAgentProcess(ctx context.Context, cfg providers.Config) error {
	return runAgent(ctx, cfg)
}

// runHostProcess runs the shared agent in this process: passing listeners
// to a child needs unix file descriptors, so there is no supervisor here.
func runHostProcess(ctx context.Context, dir string) error {
	return runHost(ctx, dir, hostSetup{})
}
