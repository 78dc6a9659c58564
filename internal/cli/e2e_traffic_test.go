//go:build unix

package cli_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// trafficWorkers is how many keep-alive clients send the constant load.
const trafficWorkers = 3

// traffic is a small constant client load through the service's proxy:
// a few keep-alive workers on loopback, each sending a request every few
// milliseconds, counting what failed (no answer, or a 5xx).
type traffic struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	sent   int64
	failed int64
	errs   []string // the first few failures
}

// startTraffic starts the load on url; stop ends it.
func startTraffic(t *testing.T, url string) *traffic {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &traffic{cancel: cancel}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: trafficWorkers}, Timeout: 30 * time.Second}
	for range trafficWorkers {
		tr.wg.Go(func() {
			for ctx.Err() == nil {
				tr.once(ctx, client, url)
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	t.Cleanup(func() { tr.stop() })
	return tr
}

// once sends one request and counts its outcome.
func (tr *traffic) once(ctx context.Context, c *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		panic(err) // a constant, valid URL
	}
	resp, err := c.Do(req)
	if ctx.Err() != nil {
		return // stopping: not the service's doing
	}
	what := ""
	switch {
	case err != nil:
		what = err.Error()
	default:
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			what = "reading the body: " + err.Error()
		} else if resp.StatusCode >= 500 {
			what = fmt.Sprintf("status %d from %q", resp.StatusCode, resp.Header.Get("X-Ramp-Version"))
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sent++
	if what != "" {
		tr.failed++
		if len(tr.errs) < 5 {
			tr.errs = append(tr.errs, what)
		}
	}
}

// stop ends the load and returns the requests sent, those that failed and
// the first failures. It may be called more than once.
func (tr *traffic) stop() (sent, failed int64, errs []string) {
	tr.cancel()
	tr.wg.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.sent, tr.failed, slices.Clone(tr.errs)
}

// splitRequests is how many requests measure a split between two
// versions: enough that the share of each is within a few points of its
// weight. oneVersionRequests is how many show that one version serves
// alone: with 100, a leak of 5% to another shows with odds of 99.4%.
const (
	splitRequests      = 400
	oneVersionRequests = 100
)

// splitTolerance is the largest difference, in percentage points, between
// a version's measured share and its weight: about eight standard
// deviations at 10% and five at 50% with splitRequests requests.
const splitTolerance = 12

// split sends n requests through the proxy, from a few keep-alive clients
// at once, and returns the share, in percent, of each version that
// answered (X-Ramp-Version).
func (s *service) split(n int) map[string]int {
	s.t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: trafficWorkers}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		errs   []string
		wg     sync.WaitGroup
	)
	for w := range trafficWorkers {
		wg.Go(func() {
			for i := w; i < n; i += trafficWorkers {
				version, err := get(client, "http://"+s.vars["RAMP_LISTEN"]+"/")
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
				}
				counts[version]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		s.t.Fatalf("measure the split: %d of %d requests failed: %s", len(errs), n, errs[0])
	}
	share := map[string]int{}
	for v, c := range counts {
		share[v] = c * 100 / n
	}
	return share
}

// get sends one GET and returns the version that answered it.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	version := resp.Header.Get("X-Ramp-Version")
	if resp.StatusCode != http.StatusOK {
		return version, fmt.Errorf("status %d from %q", resp.StatusCode, version)
	}
	return version, nil
}

// mustRoute requires that the proxy routes weight percent to candidate and
// the rest to stable (within splitTolerance), and nothing to any other
// version; an empty candidate means stable serves alone.
func (s *service) mustRoute(stable, candidate string, weight int) {
	s.t.Helper()
	want := map[string]int{stable: 100 - weight}
	if candidate != "" {
		want[candidate] = weight
	}
	n := splitRequests
	if weight == 0 || weight == 100 {
		n = oneVersionRequests
	}
	got := s.split(n)
	bad := false
	for v, share := range got { // any version not wanted fails, even below 1%
		if w, ok := want[v]; !ok || share < w-splitTolerance || share > w+splitTolerance {
			bad = true
		}
	}
	for v, w := range want {
		if _, ok := got[v]; !ok && w > splitTolerance {
			bad = true
		}
	}
	if bad || (weight == 0 && got[stable] != 100) || (weight == 100 && got[candidate] != 100) {
		s.t.Errorf("the proxy routes %v (percent of %d requests), want %v", got, n, want)
	}
}
