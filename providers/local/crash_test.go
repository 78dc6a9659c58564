package local

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/crashtest"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCrashPointsLocal runs the crash-point suite over the local provider:
// each case has its own in-process agent (the detached agent a killed
// deploy leaves running), real sample-app revisions, and keep-alive load
// through the proxy, which must lose no request. Every kill point runs; a
// command from another process runs at every other stop point, to keep
// the suite within a couple of minutes on a loaded machine.
func TestCrashPointsLocal(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts hundreds of processes")
	}
	start := time.Now()
	crashtest.Run(t, crashtest.Suite{
		Provider:         "local",
		Service:          localService,
		Interval:         100 * time.Millisecond,
		ProgressDeadline: time.Minute, // a loaded machine may take long to measure a step
		Parallel:         6,
		Sample:           crashtest.EveryKillSomeCommands,
	})
	t.Logf("local crash suite took %s", time.Since(start).Round(time.Millisecond))
}

// localService starts an agent with v1 stable and ready, and load through
// its proxy that the case's Check stops and checks.
func localService(t *testing.T, sc crashtest.Scenario) *crashtest.Service {
	cfg := testConfig(t)
	a, p := startAgent(t, cfg)
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", promote(t.Context(), p, 0))
	failRate := 0.0
	if sc.Failing {
		failRate = 1
	}
	l := startCrashLoad(a.ProxyURL()+"/", 2)
	t.Cleanup(l.halt)
	return &crashtest.Service{
		Connect: func() providers.Provider {
			p, err := New(cfg)
			if err != nil {
				panic(fmt.Sprintf("New(%+v): %v", cfg, err)) // cfg was accepted by startAgent
			}
			return p
		},
		Stable:   "v1",
		Artifact: appArtifact("v2", "v2", failRate),
		Metrics:  func(src gates.MetricSource) gates.Metrics { return crashtest.Guardrail(src, 1, 1) },
		Check: func(t *testing.T) {
			l.halt()
			t.Logf("load: %s", l)
			if l.total() == 0 {
				t.Error("the load sent no request")
			}
			for _, pr := range l.unexpected(sc.Failing) {
				t.Error(pr)
			}
		},
	}
}

// crashLoad sends GET requests through the proxy from keep-alive workers
// and tallies the answers by version and status.
type crashLoad struct {
	url    string
	client *http.Client
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu      sync.Mutex
	answers map[string]int64 // "v1 200", "v2 500", ...
	errs    []string
	nerr    atomic.Int64
}

// startCrashLoad starts workers sending requests to url.
func startCrashLoad(url string, workers int) *crashLoad {
	l := &crashLoad{
		url:     url,
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: time.Minute},
		stop:    make(chan struct{}),
		answers: map[string]int64{},
	}
	for range workers {
		l.wg.Go(l.work)
	}
	return l
}

// work sends requests until the load stops.
func (l *crashLoad) work() {
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		code, ver, err := get(l.client, l.url)
		l.mu.Lock()
		if err != nil {
			l.nerr.Add(1)
			if len(l.errs) < 5 {
				l.errs = append(l.errs, err.Error())
			}
		} else {
			l.answers[fmt.Sprintf("%s %d", ver, code)]++
		}
		l.mu.Unlock()
	}
}

// halt stops the workers and waits for them.
func (l *crashLoad) halt() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

// total counts the requests answered or failed.
func (l *crashLoad) total() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.nerr.Load()
	for _, c := range l.answers {
		n += c
	}
	return n
}

// unexpected lists the failed requests the scenario does not cause: any
// error or status but 200, except the 500s of a failing v2.
func (l *crashLoad) unexpected(failing bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	if n := l.nerr.Load(); n > 0 {
		out = append(out, fmt.Sprintf("%d requests failed: %q", n, l.errs))
	}
	for k, n := range l.answers {
		if k == "v1 200" || k == "v2 200" || (failing && k == "v2 500") {
			continue
		}
		out = append(out, fmt.Sprintf("%d answers %q", n, k))
	}
	return out
}

func (l *crashLoad) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%v, %d errors", l.answers, l.nerr.Load())
}
