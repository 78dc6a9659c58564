//go:build !unix

package providers

import "os"

// processExists reports whether a process with this pid exists; where
// FindProcess cannot tell, it says yes and the lease's expiry decides.
func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
