//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCanaryJudgedFromARealPrometheus runs canaries judged from a real
// Prometheus (Debian's prometheus package) scraping the local agent's
// metrics every second: a healthy v2 is promoted, then a v3 failing half
// of its requests is rolled back. The judge, the guardrails and two
// ramp.yaml checks read Prometheus only (metrics-source prometheus),
// through a recording proxy that shows the queries and the bearer token
// arrived there.
func TestCanaryJudgedFromARealPrometheus(t *testing.T) {
	t.Parallel()
	bin := prometheusBinary(t)
	metricsAddr := freePort(t)
	s := newServiceWith(t, map[string]string{"RAMP_METRICS_LISTEN": metricsAddr})
	prom := startPrometheus(t, bin, metricsAddr)
	prom.waitForSamples(t, `ramp_local_requests_total{revision="v1"}`)
	rec := newRecordingProxy(t, prom.url)

	dir := t.TempDir()
	config := filepath.Join(dir, "ramp.yaml")
	if err := os.WriteFile(config, []byte(promChecks), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(version string, extra ...string) []string {
		return deployArgs(version, append([]string{"--config=" + config, "--steps=50,100", "--interval=3s", "--metrics-delay=2s",
			"--progress-deadline=1m", "--compare=errors", "--max-latency-p99=10s", "--metrics-source=prometheus",
			"--prometheus-url=" + rec.srv.URL, "--prometheus-token=e2e-token", `--prometheus-selector=revision="{{.Version}}"`,
			"--prometheus-requests-metric=ramp_local_requests_total", "--prometheus-latency-metric=ramp_local_request_duration_seconds"},
			extra...)...)
	}

	began := time.Now()
	out := s.must(cli.ExitOK, args("v2")...)
	mustHaveJudgedFromPrometheus(t, "v2", out, "check:candidate-traffic", "check:error-ratio", "latency-p99")
	if o := s.status(); revID(o.st.Stable) != "v2" || o.st.Rollout.Phase != providers.PhasePromoted {
		t.Fatalf("healthy v2 not promoted:\n%s", o.text)
	}
	t.Logf("healthy v2 promoted in %s", time.Since(began).Round(100*time.Millisecond))
	s.finish() // no client request failed during the healthy canary
	s.traffic = startTraffic(t, "http://"+s.vars["RAMP_LISTEN"])
	prom.waitForSamples(t, `ramp_local_requests_total{revision="v2"}`)

	began = time.Now()
	out = s.must(cli.ExitRolledBack, args("v3", "--env=SAMPLE_VERSION=v3,SAMPLE_FAIL_RATE=0.5")...)
	mustHaveJudgedFromPrometheus(t, "v3", out)
	if !strings.Contains(out, "worse than the stable") && !strings.Contains(out, "error-rate") && !strings.Contains(out, "check:error-ratio") {
		t.Errorf("the rollback does not say the errors were the reason:\n%s", out)
	}
	o := s.status()
	o.mustAgree(t)
	if revID(o.st.Stable) != "v2" || o.st.Rollout.Phase != providers.PhaseRolledBack {
		t.Errorf("faulty v3 not rolled back to v2:\n%s", o.text)
	}
	t.Logf("faulty v3 rolled back in %s", time.Since(began).Round(100*time.Millisecond))
	if n, bad := rec.counts(); n == 0 || bad > 0 {
		t.Errorf("Prometheus received %d queries, %d without the bearer token", n, bad)
	}
}

// promChecks is the ramp.yaml of the test: two checks, run against the
// candidate at every check of the gates.
const promChecks = `checks:
  - name: candidate-traffic
    query: sum(rate(ramp_local_requests_total{revision="{{.Version}}"}[{{.Window}}]))
    min: 1
  - name: error-ratio
    query: >-
      (sum(increase(ramp_local_requests_total{revision="{{.Version}}",code=~"5.."}[{{.Window}}])) or vector(0))
      / sum(increase(ramp_local_requests_total{revision="{{.Version}}"}[{{.Window}}]))
    max: 0.1
`

// promEvent is the part of a JSON Lines event this test reads.
type promEvent struct {
	Type      string `json:"type"`
	Candidate struct {
		Requests int64 `json:"requests"`
	} `json:"candidate"`
	Result struct {
		Gate    string `json:"gate"`
		Outcome string `json:"outcome"`
	} `json:"result"`
}

// mustHaveJudgedFromPrometheus requires that the deploy's output shows
// windows of the candidate's traffic counted, and each of gates passing
// at least once.
func mustHaveJudgedFromPrometheus(t *testing.T, candidate, out string, gates ...string) {
	t.Helper()
	var counted int64
	passed := map[string]bool{}
	for line := range strings.Lines(out) {
		var ev promEvent
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		switch ev.Type {
		case "judged":
			counted += ev.Candidate.Requests
		case "gate_checked":
			passed[ev.Result.Gate] = passed[ev.Result.Gate] || ev.Result.Outcome == "successful"
		}
	}
	if counted == 0 {
		t.Errorf("no request of %s was counted from Prometheus:\n%s", candidate, out)
	}
	for _, g := range gates {
		if !passed[g] {
			t.Errorf("%s: gate %s never passed:\n%s", candidate, g, out)
		}
	}
}

// prometheusBinary finds Prometheus, or skips the test when it is not
// installed outside CI; in CI (CI set) its absence fails the test.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and prometheus is not installed (%v): .ci/run installs Debian's prometheus package", err)
		}
		t.Skipf("prometheus is not installed (%v): this test runs a real Prometheus; apt-get install prometheus, or run .ci/run", err)
	}
	return bin
}

// prometheus is a Prometheus server this test started.
type prometheus struct {
	url string
}

// startPrometheus starts Prometheus on a free loopback port with its data
// in a temporary directory, scraping target every second; it is stopped at
// the end of the test, and its log shown if the test failed.
func startPrometheus(t *testing.T, bin, target string) prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"+
		"scrape_configs:\n  - job_name: ramp\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=1h", "--query.lookback-delta=30s", "--log.level=warn")
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	return prometheus{url: "http://" + addr}
}

// waitForSamples waits until Prometheus holds at least two samples of
// series, scraped in the last ten seconds: then increase() over a window
// of a few seconds has data.
func (p prometheus) waitForSamples(t *testing.T, series string) {
	t.Helper()
	q := fmt.Sprintf("max(count_over_time(%s[10s]))", series)
	deadline := time.Now().Add(procTimeout)
	for {
		n, err := p.value(t.Context(), q)
		if err == nil && n >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has no samples of %s after %s (last answer %v, %v)", series, procTimeout, n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// value runs an instant query and returns its one value (0 when empty).
func (p prometheus) value(ctx context.Context, q string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("status %s: %w", resp.Status, err)
	}
	if len(body.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// recordingProxy passes requests on to Prometheus, counting the queries
// and those that lacked the bearer token ramp was given.
type recordingProxy struct {
	srv *httptest.Server

	mu           sync.Mutex
	queries, bad int
}

func newRecordingProxy(t *testing.T, target string) *recordingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recordingProxy{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/api/v1/query") {
			r.mu.Lock()
			r.queries++
			if req.Header.Get("Authorization") != "Bearer e2e-token" {
				r.bad++
			}
			r.mu.Unlock()
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recordingProxy) counts() (queries, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries, r.bad
}

// lockedBuffer is a buffer safe for the writes of a process's two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
