package proxy

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// connections is the concurrency of the throughput runs, as wrk -c32.
const connections = 32

// throughput returns the requests per second url sustains at connections
// concurrent keep-alive connections over d, and what measured it: wrk
// when installed (it costs the machine least), else a Go client.
func throughput(t *testing.T, url string, d time.Duration) (float64, string) {
	t.Helper()
	if wrk, err := exec.LookPath("wrk"); err == nil {
		out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(connections), "-d"+d.String(), url).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("wrk printed no Requests/sec:\n%s", out)
		}
		rps, _ := strconv.ParseFloat(string(m[1]), 64)
		if regexp.MustCompile(`Non-2xx or 3xx responses|Socket errors`).Match(out) {
			t.Errorf("wrk saw errors through %s:\n%s", url, out)
		}
		return rps, "wrk -t2 -c32"
	}
	c := client()
	var done, failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range connections {
		wg.Go(func() {
			for ctx.Err() == nil {
				if fetch(c, url) != nil {
					failed.Add(1)
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests through %s failed", n, done.Load(), url)
	}
	return float64(done.Load()) / d.Seconds(), "Go client, 32 connections (wrk is not installed)"
}

// latencies are the percentiles of one fixed-rate run, in milliseconds.
type latencies struct {
	p50, p99 float64
	errors   int
	rate     float64 // requests a second sent, when known
}

// fixedRate sends about rate requests a second to url for d and returns
// the latency percentiles: paced by wrk when installed (pacedWrk), else
// from a Go client, each request at its scheduled time whatever the
// earlier ones are doing (so a stall is measured, not hidden), measured
// from that time.
func fixedRate(t *testing.T, target string, rate int, d time.Duration) latencies {
	t.Helper()
	if rate <= 0 {
		t.Fatalf("rate %d", rate)
	}
	if wrk, err := exec.LookPath("wrk"); err == nil {
		return pacedWrk(t, wrk, target, rate, d)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	// fasthttp's client, which costs the shared cores a fraction of
	// net/http's, so that the generator disturbs what it measures less. At
	// most 64 connections, as a real client pool: past that, requests wait
	// in the client, and the wait counts in their latency.
	hc := &fasthttp.HostClient{Addr: u.Host, MaxConns: 64, MaxConnWaitTimeout: 30 * time.Second}
	n := int(d.Seconds() * float64(rate))
	took := make([]time.Duration, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range n {
		at := begin.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(target)
			if err := hc.DoTimeout(req, resp, 30*time.Second); err != nil || resp.StatusCode() != http.StatusOK {
				failed.Add(1)
			}
			took[i] = time.Since(at)
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		})
	}
	wg.Wait()
	slices.Sort(took)
	ms := func(q float64) float64 { return float64(took[int(q*float64(n-1))]) / float64(time.Millisecond) }
	return latencies{p50: ms(0.50), p99: ms(0.99), errors: int(failed.Load())}
}

// pace is wrk's script for a fixed rate: each connection waits 10 ms
// after each answer before its next request.
const pace = "function delay()\n  return 10\nend\n"

// pacedWrk has wrk send about rate requests a second to target for d: rate
// / 100 connections, each sending a request 10 ms after its last answer.
// wrk, in C, costs the shared cores least, so the measure is the proxies'
// and not the generator's; its latencies are from each request's sending.
func pacedWrk(t *testing.T, wrk, target string, rate int, d time.Duration) latencies {
	t.Helper()
	script := filepath.Join(t.TempDir(), "pace.lua")
	if err := os.WriteFile(script, []byte(pace), 0o644); err != nil {
		t.Fatal(err)
	}
	conns := max(rate/100, 2)
	out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(conns), "-d"+d.String(), "--latency", "-s", script, target).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	pct := func(p string) float64 {
		m := regexp.MustCompile(`(?m)^\s+` + p + `%\s+([0-9.]+)(us|ms|s)\b`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("wrk printed no %s%% latency:\n%s", p, out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v * map[string]float64{"us": 0.001, "ms": 1, "s": 1000}[string(m[2])]
	}
	l := latencies{p50: pct("50"), p99: pct("99")}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindSubmatch(out); m != nil {
		l.errors, _ = strconv.Atoi(string(m[1]))
	}
	if m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out); m != nil {
		l.rate, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	return l
}

// client is a keep-alive client with room for every request in flight.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}, Timeout: 30 * time.Second}
}

// fetch GETs url and reads the answer, which must be 200.
func fetch(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode}
	}
	return nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + strconv.Itoa(e.code) }

// waitUp waits until url answers 200, for a minute at most.
func waitUp(t *testing.T, url string) {
	t.Helper()
	c := client()
	deadline := time.Now().Add(time.Minute)
	for fetch(c, url) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within a minute", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
