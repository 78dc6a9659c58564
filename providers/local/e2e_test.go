package local

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/ramp-deploy/ramp/gates"
)

// loadPhase is one step of the load test: the operation that starts it and
// the versions that may answer requests sent after that operation returned.
type loadPhase struct {
	name    string
	op      func(ctx context.Context, p *Provider) error
	allowed []string
	weight  int // the candidate weight Status must report
}

// canaryPhases is a full canary of v2 (shift 0, 10, 50, 100, promote) and a
// canary of v3 rolled back at 50%, over a stable v1.
func canaryPhases() []loadPhase {
	deploy := func(rev string) func(context.Context, *Provider) error {
		return func(ctx context.Context, p *Provider) error {
			_, err := p.Deploy(ctx, appArtifact(rev, rev, 0))
			return err
		}
	}
	shift := func(w int) func(context.Context, *Provider) error {
		return func(ctx context.Context, p *Provider) error { return shift(ctx, p, w) }
	}
	return []loadPhase{
		{name: "stable v1", allowed: []string{"v1"}},
		{name: "deploy v2", op: deploy("v2"), allowed: []string{"v1"}},
		{name: "v2 at 10%", op: shift(10), allowed: []string{"v1", "v2"}, weight: 10},
		{name: "v2 at 50%", op: shift(50), allowed: []string{"v1", "v2"}, weight: 50},
		{name: "v2 at 100%", op: shift(100), allowed: []string{"v2"}, weight: 100},
		{name: "promote v2", op: func(ctx context.Context, p *Provider) error { return promote(ctx, p, 0) }, allowed: []string{"v2"}},
		{name: "deploy v3", op: deploy("v3"), allowed: []string{"v2"}},
		{name: "v3 at 25%", op: shift(25), allowed: []string{"v2", "v3"}, weight: 25},
		{name: "v3 at 50%", op: shift(50), allowed: []string{"v2", "v3"}, weight: 50},
		{name: "roll back v3", op: func(ctx context.Context, p *Provider) error { return rollback(ctx, p) }, allowed: []string{"v2"}},
	}
}

// loadGen sends requests through the proxy from a fixed set of workers,
// checking each answer against the phase it was sent in. The workers take
// turns at three kinds of client: HTTP/1.1 keep-alive GETs, HTTP/2 (h2c)
// GETs, and websockets opened, sent a message, answered and closed.
type loadGen struct {
	url    string
	phases []loadPhase
	client *http.Client
	h2c    *http.Client

	phase    atomic.Int32
	done     []atomic.Int64 // requests completed, by the phase they were sent in
	failures atomic.Int64
	// byKind counts the requests of each kind of client: HTTP/1.1,
	// HTTP/2, websocket.
	byKind [3]atomic.Int64

	mu       sync.Mutex
	byVer    map[string]int64
	problems []string

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startLoad starts workers sending requests to url.
func startLoad(url string, phases []loadPhase, workers int) *loadGen {
	l := &loadGen{
		url: url, phases: phases,
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
			Timeout:   time.Minute, // bounds a hang only
		},
		h2c: &http.Client{
			Transport: &http.Transport{Protocols: h2cOnly(), DisableCompression: true},
			Timeout:   time.Minute,
		},
		done:  make([]atomic.Int64, len(phases)),
		byVer: map[string]int64{},
		stop:  make(chan struct{}),
	}
	fetchers := []func() (int, string, error){
		func() (int, string, error) { return get(l.client, l.url) },
		func() (int, string, error) { return get(l.h2c, l.url) },
		func() (int, string, error) { return echo(strings.Replace(l.url, "http://", "ws://", 1) + "ws") },
	}
	for i := range workers {
		fetch, kind := fetchers[i%len(fetchers)], &l.byKind[i%len(fetchers)]
		l.wg.Go(func() {
			l.work(func() (int, string, error) {
				kind.Add(1)
				return fetch()
			})
		})
	}
	return l
}

// h2cOnly is HTTP/2 over cleartext with prior knowledge, as gRPC clients
// speak it.
func h2cOnly() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}

// echo opens a websocket to url, sends one message and returns 200 and the
// version that echoed it.
func echo(url string) (int, string, error) {
	ws, err := websocket.Dial(url, "", "http://127.0.0.1/")
	if err != nil {
		return 0, "", err
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(time.Minute)) // bounds a hang only
	if err := websocket.Message.Send(ws, "ping"); err != nil {
		return 0, "", err
	}
	var answer string
	if err := websocket.Message.Receive(ws, &answer); err != nil {
		return 0, "", err
	}
	ver, ok := strings.CutSuffix(answer, ": ping")
	if !ok {
		return 0, "", fmt.Errorf("websocket answered %q", answer)
	}
	return http.StatusOK, ver, nil
}

// work sends requests with fetch until the load stops.
func (l *loadGen) work(fetch func() (int, string, error)) {
	seen := map[string]int64{}
	defer func() {
		l.mu.Lock()
		for v, n := range seen {
			l.byVer[v] += n
		}
		l.mu.Unlock()
	}()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		ph := int(l.phase.Load())
		code, ver, err := fetch()
		l.check(ph, code, ver, err)
		seen[ver]++
		l.done[ph].Add(1)
	}
}

// check records a problem with one answer to a request sent in phase ph,
// which the table of phase ph or of the next phase may have routed.
func (l *loadGen) check(ph, code int, ver string, err error) {
	p := l.phases[ph]
	allowed := slices.Contains(p.allowed, ver) || (ph+1 < len(l.phases) && slices.Contains(l.phases[ph+1].allowed, ver))
	var problem string
	switch {
	case err != nil:
		problem = fmt.Sprintf("phase %q: %v", p.name, err)
	case code != http.StatusOK:
		problem = fmt.Sprintf("phase %q: status %d from %q", p.name, code, ver)
	case !allowed:
		problem = fmt.Sprintf("phase %q: answered by %q, want one of %q", p.name, ver, p.allowed)
	default:
		return
	}
	l.failures.Add(1)
	l.mu.Lock()
	if len(l.problems) < 10 {
		l.problems = append(l.problems, problem)
	}
	l.mu.Unlock()
}

// halt stops the workers and waits for them.
func (l *loadGen) halt() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.client.CloseIdleConnections()
	l.h2c.CloseIdleConnections()
}

// TestZeroDroppedRequestsUnderLoad runs canaryPhases under constant load
// through the proxy (HTTP/1.1 keep-alive, HTTP/2 and websocket clients)
// and checks that no request fails and that each is answered by a version
// its phase allows.
func TestZeroDroppedRequestsUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		workers     = 24
		perPhase    = 2100            // 10 phases: at least 21,000 requests
		phaseBudget = 2 * time.Minute // bounds a hang only
	)
	a, p := startAgent(t, testConfig(t))
	ctx := t.Context()
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", promote(ctx, p, 0))

	phases := canaryPhases()
	start := time.Now()
	l := startLoad(a.ProxyURL()+"/", phases, workers)
	defer l.halt()
	for i, ph := range phases {
		if ph.op != nil {
			opStart := time.Now()
			must(t, ph.name, ph.op(ctx, p))
			t.Logf("phase %-14q op took %v", ph.name, time.Since(opStart).Round(time.Microsecond))
			l.phase.Store(int32(i))
		}
		st, err := p.Status(ctx)
		must(t, "status", err)
		if st.Weight != ph.weight {
			t.Errorf("phase %q: Status().Weight = %d, want %d", ph.name, st.Weight, ph.weight)
		}
		waitFor(t, phaseBudget, fmt.Sprintf("%d requests in phase %q", perPhase, ph.name), func() bool {
			return l.done[i].Load() >= perPhase
		})
	}
	l.halt()
	elapsed := time.Since(start)

	var total int64
	for i := range l.done {
		total += l.done[i].Load()
	}
	t.Logf("%d requests in %v (%.0f req/s) from %d workers; by version %v; %d failures",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), workers, l.byVer, l.failures.Load())
	for _, pr := range l.problems {
		t.Error(pr)
	}
	if total < 20000 {
		t.Errorf("sent %d requests, want at least 20000", total)
	}
	for i, kind := range []string{"HTTP/1.1", "HTTP/2", "websocket"} {
		n := l.byKind[i].Load()
		t.Logf("%s: %d requests", kind, n)
		if n == 0 {
			t.Errorf("no %s request was sent", kind)
		}
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		if l.byVer[v] == 0 {
			t.Errorf("no answer from %s; by version %v", v, l.byVer)
		}
	}
	checkAfterLoad(t, p)
}

// checkAfterLoad checks the end state of the load test: v2 stable alone,
// and the proxy metrics counting no failure for v2 or v3 over the longest
// window they keep (the last phases may take long on a loaded machine).
func checkAfterLoad(t *testing.T, p *Provider) {
	ctx := t.Context()
	st, err := p.Status(ctx)
	must(t, "status", err)
	if st.Stable == nil || st.Stable.ID != "v2" || st.Candidate != nil || st.Previous != nil || st.Weight != 0 {
		t.Errorf("final Status() = %+v, want stable v2 only", st)
	}
	for _, rev := range []string{"v2", "v3"} {
		now := time.Now()
		o, err := p.Observe(ctx, gates.CountQuery{Candidate: rev, Window: gates.Window{Start: now.Add(-10 * time.Minute), End: now.Add(time.Second)}})
		must(t, "observe", err)
		if c := o.Candidate; c.Errors != 0 || c.Requests == 0 {
			t.Errorf("%s failed %d of %d requests, want none of some", rev, c.Errors, c.Requests)
		}
	}
}
