//go:build unix

package flag

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// testUnleashLock checks the lock on the rollout record against a real
// Unleash: writers that find an expired lock at once never hold it
// together, a break marker left by a writer that died is passed over,
// a writer whose lock was taken from it leaves the new one alone, and a
// feature whose lock name would be too long for Unleash still locks.
func testUnleashLock(t *testing.T, srv unleashServer) {
	t.Run("an expired lock broken by one writer only", func(t *testing.T) {
		t.Parallel()
		const writers, rounds = 6, 3
		dead := srv.lockWriter("lock-race", "dead")
		srv.admin(t, http.MethodPost, "/api/admin/context", map[string]any{"name": dead.lockName(),
			"description": "ramp: a dead process writes the rollout record of lock-race until " + time.Now().Add(-time.Second).UTC().Format(time.RFC3339)}, nil)
		var in, most atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			u := srv.lockWriter("lock-race", fmt.Sprintf("writer-%d", i))
			// Each writer's deletions arrive a little later than the one
			// before's, as from machines further away: a writer that found
			// the lock expired deletes it after another took it anew.
			u.api.hc.Transport = slowDeletes{delay: time.Duration(i) * 25 * time.Millisecond}
			wg.Go(func() {
				<-start
				for range rounds {
					unlock, err := u.lock(t.Context())
					if err != nil {
						t.Errorf("%s: lock: %v", u.holder, err)
						return
					}
					n := in.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(150 * time.Millisecond)
					in.Add(-1)
					unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if m := most.Load(); m != 1 {
			t.Errorf("%d writers held the lock at once, want 1", m)
		}
	})
	t.Run("a break marker left by a dead writer is passed over", func(t *testing.T) {
		t.Parallel()
		u := srv.lockWriter("lock-marker", "survivor")
		u.lockTTL = 2 * time.Second
		held := "ramp: a dead process writes the rollout record of lock-marker until " + time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
		srv.admin(t, http.MethodPost, "/api/admin/context", map[string]any{"name": u.lockName(), "description": held}, nil)
		marker := fmt.Sprintf("ramp-lock-break.%x.0", sha256.Sum256([]byte(u.lockName()+"\n"+held)))
		srv.admin(t, http.MethodPost, "/api/admin/context", map[string]any{"name": marker, "description": "ramp: a breaker that died"}, nil)
		unlock, err := u.lock(t.Context())
		if err != nil {
			t.Fatalf("lock with the expired lock's break marker left behind: %v", err)
		}
		if got, err := u.fieldDescription(t.Context(), u.lockName()); err != nil || !strings.Contains(got, "survivor") {
			t.Errorf("lock field after taking it: %q, %v; want the survivor's", got, err)
		}
		unlock()
	})
	t.Run("a lock taken over is left to its new holder", func(t *testing.T) {
		t.Parallel()
		slow := srv.lockWriter("lock-takeover", "slow")
		unlock, err := slow.lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		srv.admin(t, http.MethodDelete, "/api/admin/context/"+slow.lockName(), nil, nil)            // broken as expired by another writer,
		srv.admin(t, http.MethodPost, "/api/admin/context", map[string]any{"name": slow.lockName(), // which took it
			"description": "ramp: another writes the rollout record of lock-takeover until " + time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}, nil)
		unlock()
		if got, err := slow.fieldDescription(t.Context(), slow.lockName()); err != nil || !strings.Contains(got, "another") {
			t.Errorf("lock field after the slow writer's unlock: %q, %v; want the new holder's", got, err)
		}
	})
	t.Run("a long feature name", func(t *testing.T) {
		t.Parallel()
		u := srv.lockWriter(strings.Repeat("checkout-", 10)+"long", "writer")
		if n := len(u.lockName()); n > unleashNameMax {
			t.Fatalf("lock name %q is %d long, over Unleash's %d", u.lockName(), n, unleashNameMax)
		}
		unlock, err := u.lock(t.Context())
		if err != nil {
			t.Fatalf("lock for a feature named with 94 characters: %v", err)
		}
		unlock()
		if _, err := u.fieldDescription(t.Context(), u.lockName()); err == nil {
			t.Error("the lock field is still there after unlock")
		}
	})
}

// lockWriter is the Unleash backend of one writer (a process) of feature
// name's record, named holder.
func (s unleashServer) lockWriter(name, holder string) *Unleash {
	u := NewUnleash(providers.FlagTarget{Name: name, Backend: "unleash", Environment: "development", URL: s.url, Token: unleashAdminToken},
		&http.Client{Timeout: 30 * time.Second})
	u.holder = holder
	return u
}

// slowDeletes sends DELETE requests after delay.
type slowDeletes struct{ delay time.Duration }

func (s slowDeletes) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodDelete {
		time.Sleep(s.delay)
	}
	return http.DefaultTransport.RoundTrip(r)
}
