//go:build windows

package local

import "syscall"

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
