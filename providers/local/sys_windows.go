//go:build windows

package local

import (
	"os"
	"syscall"
)

// gracefulStop reports whether terminate asks a process to stop rather than
// killing it; Windows has no portable way to ask, so revisions are killed
// once drained.
const gracefulStop = false

// detachedAttr starts the agent in a new process group, so it outlives the
// ramp process that started it and Ctrl-C does not reach it.
func detachedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// childAttr starts a revision in its own process group, so Ctrl-C in the
// agent's console does not stop it before it is drained.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// terminate stops the process; on Windows it is the same as kill.
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

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
