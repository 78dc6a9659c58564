package local

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Revision ports are picked at random below the ephemeral ranges of Linux
// (32768 up), macOS and Windows (49152 up). The kernel hands ports from
// those ranges to outgoing connections and to other programs' ":0"
// listeners, which could take a port between its pick and the revision's
// bind: the revision would then fail to start, or, worse, its health check
// would be answered by another server and a dead revision taken as ready.
const (
	minRevisionPort = 20000
	maxRevisionPort = 32768 // exclusive
)

// claimed are the ports the agents of this process gave revisions, so two
// agents of one process (tests run many) never pick the same one.
var claimed = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// pickPort claims a free loopback port for a revision, one that no agent
// of this process holds and that nothing listens on now.
func pickPort(taken func(int) bool) (int, error) {
	claimed.Lock()
	defer claimed.Unlock()
	for range 200 {
		port := minRevisionPort + rand.IntN(maxRevisionPort-minRevisionPort)
		if claimed.ports[port] || taken(port) {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		claimed.ports[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("find a free port: none free among 200 tried in %d-%d", minRevisionPort, maxRevisionPort-1)
}

// claimPort marks port as held by a revision of this process.
func claimPort(port int) {
	claimed.Lock()
	defer claimed.Unlock()
	claimed.ports[port] = true
}

// releasePort frees port once its revision has stopped.
func releasePort(port int) {
	claimed.Lock()
	defer claimed.Unlock()
	delete(claimed.ports, port)
}
