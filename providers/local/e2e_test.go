package local

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
)

// loadPhase is one step of the load test: the operation that starts it and
// the versions that may answer requests sent after that operation returned.
type loadPhase struct {
	name    string
	op      func(ctx context.Context, p *Provider) error
	allowed []string
	weight  int
}

// TestZeroDroppedRequestsUnderLoad runs a full canary of v2 (shift 0, 10,
// 50, 100, promote) and a canary of v3 rolled back at 50%, all under
// constant keep-alive load through the proxy, and checks that no request
// fails and that each request is answered by a version its phase allows.
func TestZeroDroppedRequestsUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		workers     = 24
		perPhase    = 2100 // 10 phases: at least 21,000 requests
		phaseBudget = 20 * time.Second
	)
	a, p := startAgent(t, testConfig(t))
	ctx := t.Context()
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", p.Promote(ctx, 0))

	deploy := func(rev string) func(context.Context, *Provider) error {
		return func(ctx context.Context, p *Provider) error {
			_, err := p.Deploy(ctx, appArtifact(rev, rev, 0))
			return err
		}
	}
	shift := func(w int) func(context.Context, *Provider) error {
		return func(ctx context.Context, p *Provider) error { return p.SetWeight(ctx, w) }
	}
	phases := []loadPhase{
		{name: "stable v1", allowed: []string{"v1"}},
		{name: "deploy v2", op: deploy("v2"), allowed: []string{"v1"}},
		{name: "v2 at 10%", op: shift(10), allowed: []string{"v1", "v2"}, weight: 10},
		{name: "v2 at 50%", op: shift(50), allowed: []string{"v1", "v2"}, weight: 50},
		{name: "v2 at 100%", op: shift(100), allowed: []string{"v2"}, weight: 100},
		{name: "promote v2", op: func(ctx context.Context, p *Provider) error { return p.Promote(ctx, 0) }, allowed: []string{"v2"}},
		{name: "deploy v3", op: deploy("v3"), allowed: []string{"v2"}},
		{name: "v3 at 25%", op: shift(25), allowed: []string{"v2", "v3"}, weight: 25},
		{name: "v3 at 50%", op: shift(50), allowed: []string{"v2", "v3"}, weight: 50},
		{name: "roll back v3", op: func(ctx context.Context, p *Provider) error { return p.Rollback(ctx) }, allowed: []string{"v2"}},
	}

	var (
		phase    atomic.Int32
		done     = make([]atomic.Int64, len(phases)) // requests completed, by the phase they started in
		failures atomic.Int64
		mu       sync.Mutex
		byVer    = map[string]int64{}
		problems []string
	)
	report := func(format string, args ...any) {
		failures.Add(1)
		mu.Lock()
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
	defer client.CloseIdleConnections()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	stopLoad := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	start := time.Now()
	for range workers {
		wg.Go(func() {
			local := map[string]int64{}
			defer func() {
				mu.Lock()
				for v, n := range local {
					byVer[v] += n
				}
				mu.Unlock()
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ph := int(phase.Load())
				code, ver, err := get(client, a.ProxyURL()+"/")
				switch {
				case err != nil:
					report("phase %q: %v", phases[ph].name, err)
				case code != http.StatusOK:
					report("phase %q: status %d from %q", phases[ph].name, code, ver)
				case !slices.Contains(phases[ph].allowed, ver) &&
					(ph+1 == len(phases) || !slices.Contains(phases[ph+1].allowed, ver)):
					report("phase %q: answered by %q, want one of %q", phases[ph].name, ver, phases[ph].allowed)
				}
				local[ver]++
				done[ph].Add(1)
			}
		})
	}
	defer stopLoad()

	for i, ph := range phases {
		if ph.op != nil {
			opStart := time.Now()
			if err := ph.op(ctx, p); err != nil {
				t.Fatalf("phase %q: %v", ph.name, err)
			}
			t.Logf("phase %-13q op took %v", ph.name, time.Since(opStart).Round(time.Microsecond))
			phase.Store(int32(i))
		}
		st, err := p.Status(ctx)
		must(t, "status", err)
		if st.Weight != ph.weight {
			t.Errorf("phase %q: Status().Weight = %d, want %d", ph.name, st.Weight, ph.weight)
		}
		deadline := time.Now().Add(phaseBudget)
		for done[i].Load() < perPhase {
			if time.Now().After(deadline) {
				t.Fatalf("phase %q: only %d requests in %v", ph.name, done[i].Load(), phaseBudget)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	stopLoad()
	elapsed := time.Since(start)

	var total int64
	for i := range phases {
		total += done[i].Load()
	}
	t.Logf("%d requests in %v (%.0f req/s) by %d workers; by version %v; %d failures",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), workers, byVer, failures.Load())
	for _, pr := range problems {
		t.Error(pr)
	}
	if total < 20000 {
		t.Errorf("sent %d requests, want at least 20000", total)
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		if byVer[v] == 0 {
			t.Errorf("no response from %s; by version %v", v, byVer)
		}
	}
	checkAfterLoad(t, p)
}

// checkAfterLoad checks the end state of the load test: v2 stable with all
// the traffic, v3's failures counted at 0 by the proxy metrics.
func checkAfterLoad(t *testing.T, p *Provider) {
	ctx := t.Context()
	st, err := p.Status(ctx)
	must(t, "status", err)
	if st.Stable == nil || st.Stable.ID != "v2" || st.Candidate != nil || st.Previous != nil || st.Weight != 0 {
		t.Errorf("final Status() = %+v, want stable v2 only", st)
	}
	for _, rev := range []string{"v2", "v3"} {
		s, err := p.Measure(ctx, gates.Query{Metric: gates.MetricErrorRate, Revision: rev, Window: time.Minute})
		must(t, "measure", err)
		if diff := cmp.Diff(0.0, s.Value); diff != "" || s.Requests == 0 {
			t.Errorf("error rate of %s = %v%% over %d requests, want 0%% over some", rev, s.Value, s.Requests)
		}
	}
}
