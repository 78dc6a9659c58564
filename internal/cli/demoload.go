package cli

import (
	"context"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"
)

// load sends steady traffic through the proxy and counts the answers by the
// version that gave them (the X-Ramp-Version header).
type load struct {
	url     string
	workers int
	client  *http.Client

	mu     sync.Mutex
	counts loadCounts
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type loadCounts struct {
	served int64
	failed map[string]int64 // by version; "" when no version answered
}

func newLoad(url string, workers int) *load {
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	return &load{url: url, workers: workers, client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		counts: loadCounts{failed: map[string]int64{}}}
}

// start begins the load; each worker sends a request every 5 ms or so.
func (l *load) start(ctx context.Context) {
	ctx, l.cancel = context.WithCancel(ctx)
	for range l.workers {
		l.wg.Go(func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					l.once(ctx)
				}
			}
		})
	}
}

func (l *load) once(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url+"/", nil)
	if err != nil {
		return
	}
	resp, err := l.client.Do(req)
	if ctx.Err() != nil {
		return // stopping: not the service's fault
	}
	version, failed := "", true
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		version, failed = resp.Header.Get("X-Ramp-Version"), resp.StatusCode >= 500
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts.served++
	if failed {
		l.counts.failed[version]++
	}
}

// stop ends the load and waits for the workers; it may be called twice.
func (l *load) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}

func (l *load) snapshot() loadCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadCounts{served: l.counts.served, failed: maps.Clone(l.counts.failed)}
}

// minus returns the failures since an earlier snapshot, by version.
func (c loadCounts) minus(before loadCounts) map[string]int64 {
	out := map[string]int64{}
	for v, n := range c.failed {
		if d := n - before.failed[v]; d > 0 {
			out[v] = d
		}
	}
	return out
}

func (c loadCounts) totalFailed() int64 {
	var n int64
	for _, v := range c.failed {
		n += v
	}
	return n
}
