//go:build unix

package failpoint

import "syscall"

// killSelf sends SIGKILL to this process.
func killSelf() {
	syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
