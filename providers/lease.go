package providers

import (
	"crypto/rand"
	"fmt"
	"os"
	"time"
)

// Lease names the process driving a rollout, so other processes can tell a
// live driver (whose rollout they must not resume or repair under it) from
// one that is gone. The driver renews Until at its polls.
type Lease struct {
	// Holder identifies the driving process.
	Holder
	// Until is when the lease expires unless renewed.
	Until time.Time `json:"until"`
}

// Holder identifies one process run.
type Holder struct {
	// ID is unique per run, so two runs in one process differ.
	ID string `json:"id"`
	// Host is the host name the process runs on.
	Host string `json:"host,omitempty"`
	// PID is the process ID on Host.
	PID int `json:"pid,omitempty"`
}

// Self returns the Holder of this process run, with a new ID.
func Self() Holder {
	host, _ := os.Hostname() // an unknown host only disables the same-host check
	return Holder{ID: rand.Text()[:12], Host: host, PID: os.Getpid()}
}

// String names the holder for people, e.g. "pid 4242 on runner-7".
func (h Holder) String() string {
	if h.Host == "" {
		return fmt.Sprintf("pid %d", h.PID)
	}
	return fmt.Sprintf("pid %d on %s", h.PID, h.Host)
}

// Alive reports whether the lease's holder may still drive the rollout at
// now: the lease has not expired and, when the holder ran on this host, its
// process still exists. why says what made it dead.
func (l *Lease) Alive(now time.Time) (alive bool, why string) {
	if l == nil {
		return false, "no process holds it"
	}
	if !now.Before(l.Until) {
		return false, fmt.Sprintf("the lease of %s expired at %s", l.Holder, l.Until.UTC().Format(time.RFC3339))
	}
	if host, err := os.Hostname(); err == nil && host == l.Host && l.PID > 0 && !processExists(l.PID) {
		return false, fmt.Sprintf("%s, which held it, is gone", l.Holder)
	}
	return true, ""
}
