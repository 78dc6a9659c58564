//go:build unix

package local

import (
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// sendN sends n requests to url and fails the test on a transport error.
func sendN(t *testing.T, c *http.Client, url string, n int) {
	t.Helper()
	for range n {
		_, _, err := get(c, url)
		must(t, "GET through the proxy", err)
	}
}

// totalRequests sums ramp_local_requests_total over every series.
func totalRequests(fams map[string]*dto.MetricFamily) float64 {
	var n float64
	for _, v := range requestsByRev(fams) {
		n += v
	}
	return n
}

// TestMetricsAcrossRestartAndUpgrade runs a supervised agent with
// metrics-listen: the metrics stay at the same address when the agent is
// killed and restarted (its counters start again at zero, as a restarted
// Prometheus exporter's do) and while the sockets are handed over to an
// upgraded agent, which a scraper polling all along never sees fail.
func TestMetricsAcrossRestartAndUpgrade(t *testing.T) {
	cfg := testConfig(t)
	cfg.MetricsListen = "127.0.0.1:0"
	cfg, p := spawnSupervisedWith(t, cfg)
	url := canaryAt(t, p, 10)
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	murl := info.Metrics
	if murl == "" {
		t.Fatal("agent.json names no metrics URL")
	}
	c := &http.Client{Timeout: 10 * time.Second}
	sendN(t, c, url, 20)
	if n := totalRequests(mustScrape(t, c, murl)); n != 20 {
		t.Errorf("requests_total after 20 requests = %v", n)
	}

	victim := servingPID(t, cfg)
	must(t, "SIGKILL the agent", syscall.Kill(victim, syscall.SIGKILL))
	waitFor(t, time.Minute, "another agent to serve", func() bool {
		r, err := ping(t.Context(), c, info, cfg.Service)
		return err == nil && r.PID != victim
	})
	fams := mustScrape(t, c, murl)
	if n := totalRequests(fams); n != 0 {
		t.Errorf("requests_total after the restart = %v, want 0 (counters restart at zero)", n)
	}
	if v := value(t, fams, "ramp_local_traffic_weight_ratio", map[string]string{"revision": "v2", "role": "candidate"}); v != 0.1 {
		t.Errorf("traffic_weight_ratio of the candidate after the restart = %v, want 0.1", v)
	}
	sendN(t, c, url, 10)
	if n := totalRequests(mustScrape(t, c, murl)); n != 10 {
		t.Errorf("requests_total after 10 more requests = %v, want 10", n)
	}

	before, next := servingPID(t, cfg), copyExecutable(t)
	var (
		stop            = make(chan struct{})
		wg              sync.WaitGroup
		scrapes, failed atomic.Int64
		firstErr        atomic.Value
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			scrapes.Add(1)
			if _, err := scrapeURL(c, murl); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}
	})
	res, err := p.Upgrade(t.Context(), next)
	must(t, "upgrade", err)
	waitFor(t, time.Minute, "the old agent to exit", func() bool { return !processAlive(before) })
	close(stop)
	wg.Wait()
	t.Logf("upgrade from agent pid %d to %d: %d scrapes, %d failed", res.From, res.To, scrapes.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d scrapes during the upgrade failed, want none; first: %v", failed.Load(), scrapes.Load(), firstErr.Load())
	}
	fams = mustScrape(t, c, murl)
	if v := value(t, fams, "ramp_local_traffic_weight_ratio", map[string]string{"revision": "v1", "role": "stable"}); v != 0.9 {
		t.Errorf("traffic_weight_ratio of the stable after the upgrade = %v, want 0.9", v)
	}
	if after, err := readAgentInfo(cfg.StateDir); err != nil || after.Metrics != murl {
		t.Errorf("agent.json after the upgrade: metrics %q, %v; want %q", after.Metrics, err, murl)
	}
}
