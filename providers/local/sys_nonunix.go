//go:build !unix

package local

import "os"

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
