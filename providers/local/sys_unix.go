//go:build unix

package local

import (
	"errors"
	"os"
	"syscall"
)

// gracefulStop reports whether terminate asks a process to stop (SIGTERM)
// rather than killing it.
const gracefulStop = true

// detachedAttr starts the agent in a new session, so it outlives the ramp
// process that started it and no terminal signal reaches it.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// childAttr starts a revision in its own process group, so a Ctrl-C aimed at
// the agent's terminal does not stop it before it is drained, and so that
// terminate and kill reach the processes it starts.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// terminate asks the process group led by pid to stop (SIGTERM).
func terminate(pid int) error { return signalGroup(pid, syscall.SIGTERM) }

// kill stops the process group led by pid at once (SIGKILL).
func kill(pid int) error { return signalGroup(pid, syscall.SIGKILL) }

// signalGroup sends sig to the group led by pid, or to pid alone if it
// leads none.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(pid, sig)
	}
	if err != nil {
		return &os.SyscallError{Syscall: "kill", Err: err}
	}
	return nil
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
