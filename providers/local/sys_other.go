//go:build !unix && !windows

package local

import "syscall"

// detachedAttr has nothing to add on this platform.
func detachedAttr() *syscall.SysProcAttr { return nil }

// childAttr has nothing to add on this platform.
func childAttr() *syscall.SysProcAttr { return nil }
