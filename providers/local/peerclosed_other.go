//go:build !unix

package local

import "net"

// peerClosed cannot tell here: the check needs a non-blocking peek, which
// this platform's syscall package lacks. A request on a connection the
// version closed is then sent again only as net/http would (retryStale).
func peerClosed(net.Conn) bool { return false }
