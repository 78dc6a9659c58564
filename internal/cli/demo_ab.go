package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/report"
	"github.com/ramp-deploy/ramp/strategies"
)

// demoAB is the A/B test `ramp demo --ab` runs: requests with X-Variant: b
// or ?variant=b go to the candidate, other clients are split 50/50 and
// kept on their variant by a cookie, both are compared on errors for a
// few seconds, and the winner is promoted.
var demoAB = config.Rollout{
	Strategy: strategies.Spec{Strategy: strategies.AB, Match: []string{"header:X-Variant=b", "query:variant=b"}, ABWeight: 50,
		Duration: 8 * time.Second, OnFinish: strategies.OnFinishPromoteWinner, Interval: time.Second, FailureThreshold: 2},
	Gates: gates.Spec{Compare: "errors", Alpha: 0.01, Tolerance: 1, MaxErrorRate: 20, MinRequests: 20, ErrorThreshold: 3,
		ProgressDeadline: 20 * time.Second},
}

// demoABStableFailRate is the share of requests the demo's stable v1
// fails (under the guardrail): the bug v2 fixes, which the test finds.
const demoABStableFailRate = 0.04

// abSection runs the A/B demo: v1 first, then an A/B test of v2 against
// it under sticky clients, with the cohort's requests checked.
func (d *demoRun) abSection(ctx context.Context) error {
	if _, err := d.rollout(ctx, "v1", demoABStableFailRate, "First deploy of v1 (it fails 4% of its requests)"); err != nil {
		return err
	}
	fmt.Fprintf(d.w, "== A/B test of v2 against v1: X-Variant: b or ?variant=b go to v2; other clients 50/50, each kept on its variant by a cookie\n")
	sum := &report.Summary{Title: "A/B test of v2 against v1"}
	d.sums = append(d.sums, sum)
	clients := newStickyClients(d.load.url)
	console, stopLive := d.a.console(false)
	defer stopLive()
	sink := report.Multi(console.Event, sum.Event, clients.event)
	if d.a.cfg.Output == "json" {
		sink = report.Multi((&report.JSON{W: d.w}).Event, sum.Event, clients.event)
	}
	src, _ := d.prov.(gates.MetricSource)
	gs, m, err := gates.Build(demoAB.Gates, src, nil)
	if err == nil {
		_, err = abMetrics(&m, demoAB.Gates, src)
	}
	if err != nil {
		return err
	}
	e := d.a.newEngine(d.prov, gs, m, demoAB, sink)
	e.Service = "demo"
	plan, err := strategies.New(demoAB.Strategy)
	if err != nil {
		return err
	}
	clients.start(ctx, 12)
	art := providers.Artifact{Image: fmt.Sprintf("'%s' sample-app", d.self), Revision: "v2", Env: []string{"SAMPLE_VERSION=v2"}}
	start := time.Now()
	res := e.Deploy(ctx, plan, art, providers.Rollout{ID: "demo-ab", Spec: demoAB.Encode()})
	clients.stop()
	fmt.Fprintf(d.w, "   %s in %s\n", res.Outcome, time.Since(start).Round(100*time.Millisecond))
	return d.abConclude(res, clients)
}

// abConclude prints what the clients saw, writes the summary and checks
// the demo's promises.
func (d *demoRun) abConclude(res engine.Result, c *stickyClients) error {
	w := d.w
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(w, "   cohort: %d of %d requests with X-Variant: b or ?variant=b answered by v2\n", c.cohortV2, c.cohort)
	fmt.Fprintf(w, "   sticky: %d client sessions during the test (%d on v1, %d on v2), %d requests, %d switched variant\n",
		c.sessions["v1"]+c.sessions["v2"], c.sessions["v1"], c.sessions["v2"], c.requests, c.switched)
	path := d.a.cfg.Summary
	if path == "" {
		path = filepath.Join(os.TempDir(), "ramp-demo-summary.md")
	}
	if err := os.WriteFile(path, []byte(report.Markdown(d.sums...)), 0o644); err != nil {
		return fmt.Errorf("write the demo summary: %w", err)
	}
	fmt.Fprintf(w, "\nThe Markdown summary of the rollouts is in %s\n", path)
	var problems []string
	if res.Outcome != engine.OutcomePromoted || res.AB == nil || res.AB.Winner != gates.VariantCandidate {
		problems = append(problems, fmt.Sprintf("v2 was not promoted as the winner: %s: %s", res.Outcome, res.Reason))
	}
	if c.cohort == 0 || c.cohortV2 != c.cohort {
		problems = append(problems, fmt.Sprintf("%d of %d cohort requests answered by v2", c.cohortV2, c.cohort))
	}
	if c.switched > 0 || c.sessions["v1"] == 0 || c.sessions["v2"] == 0 {
		problems = append(problems, fmt.Sprintf("sticky sessions: %d switched, %d on v1, %d on v2", c.switched, c.sessions["v1"], c.sessions["v2"]))
	}
	if len(problems) > 0 {
		return errors.New("demo --ab: " + strings.Join(problems, "; "))
	}
	fmt.Fprintln(w, "Demo OK: the cohort reached v2 alone, no client switched variant, and v2 was promoted as the winner.")
	return nil
}

// stickyClients are browser-like clients that keep their cookies, in
// sessions of sessionRequests requests each with a fresh cookie jar, and
// count, while the A/B test runs (between the shift and its conclusion),
// the sessions that switched variant. At the shift they also send the
// cohort's requests, which must all reach the candidate.
type stickyClients struct {
	url     string
	testing atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu                 sync.Mutex
	sessions           map[string]int
	requests, switched int
	cohort, cohortV2   int
}

// sessionRequests is how many requests a client session sends.
const sessionRequests = 40

func newStickyClients(url string) *stickyClients {
	return &stickyClients{url: url, sessions: map[string]int{}}
}

// event follows the rollout: the test runs from the shift to its end.
func (c *stickyClients) event(ev engine.Event) {
	switch ev.(type) {
	case *engine.Shifted:
		c.testing.Store(true)
		c.wg.Go(c.sendCohort)
	case *engine.Concluded, *engine.RolledBack, *engine.Finished:
		c.testing.Store(false)
	}
}

// start runs n clients, each sending a request every 20 ms or so.
func (c *stickyClients) start(ctx context.Context, n int) {
	ctx, c.cancel = context.WithCancel(ctx)
	tr := &http.Transport{MaxIdleConnsPerHost: n + 1}
	for range n {
		c.wg.Go(func() {
			for ctx.Err() == nil {
				c.session(ctx, tr)
			}
		})
	}
}

// stop ends the clients and waits for them.
func (c *stickyClients) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

// session is one client's visit: sessionRequests requests keeping the
// proxy's cookie; it counts once the test ran through all of it.
func (c *stickyClients) session(ctx context.Context, tr http.RoundTripper) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: tr, Jar: jar, Timeout: 10 * time.Second}
	first, seen, switched := "", 0, false
	for range sessionRequests {
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return
		}
		during := c.testing.Load()
		v := get(ctx, client, c.url+"/", nil)
		if !during || !c.testing.Load() || v == "" {
			first, seen, switched = "", 0, false // only what the test served counts
			continue
		}
		if first == "" {
			first = v
		}
		switched = switched || v != first
		seen++
	}
	if seen == sessionRequests {
		c.mu.Lock()
		c.sessions[first]++
		c.requests += seen
		if switched {
			c.switched++
		}
		c.mu.Unlock()
	}
}

// sendCohort sends the cohort's requests (by header and by query) once
// the test has shifted, each from a client with no cookie.
func (c *stickyClients) sendCohort() {
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 20 {
		target, header := c.url+"/?variant=b", http.Header(nil)
		if i%2 == 0 {
			target, header = c.url+"/", http.Header{"X-Variant": {"b"}}
		}
		v := get(context.Background(), client, target, header)
		if !c.testing.Load() {
			return
		}
		c.mu.Lock()
		c.cohort++
		if v == "v2" {
			c.cohortV2++
		}
		c.mu.Unlock()
	}
}

// get sends one request and returns the version that answered it ("" on
// failure).
func get(ctx context.Context, client *http.Client, url string, header http.Header) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.Header.Get("X-Ramp-Version")
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
