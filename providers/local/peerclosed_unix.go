//go:build unix

package local

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports, without blocking, whether an idle connection c is
// unusable: the other side closed it (a read would end at once), or sent
// something no request asked for, as servers that answer 408 Request
// Timeout before closing an idle connection do (net/http's transport
// drops such a connection too). Only "nothing to read yet" means usable.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR)
		return true // never wait for data
	})
	return closed
}
