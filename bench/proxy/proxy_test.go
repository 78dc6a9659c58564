// Package proxy benchmarks the local provider's proxy side by side with
// nginx: two identical versions of the sample app at 50/50, the same load
// through each proxy, in one run. It is opt-in (it builds ramp, starts
// processes and loads both cores for a minute):
//
//	go test ./bench/proxy -run SideBySide -proxy -v
//
// It prints the throughput of each (wrk -t2 -c32 when wrk is installed,
// else a Go client at the same concurrency) and their ratio, the latency
// each adds at fixed rates (1000 req/s and half of ramp's throughput) over
// sending straight to a version, and the heap allocations per request of
// ramp's proxy (BenchmarkProxyOverhead, providers/local).
// nginx (one worker, upstream keepalive 32) is skipped with a message when
// it is not installed.
package proxy

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	enabled  = flag.Bool("proxy", false, "run the proxy side-by-side benchmark")
	duration = flag.Duration("proxy.duration", 10*time.Second, "how long each throughput run lasts")
	rounds   = flag.Int("proxy.rounds", 2, "throughput runs of each proxy, alternating")

	latencyRounds = flag.Int("proxy.latency-rounds", 3, "fixed-rate runs of each target at each rate, alternating")
)

// setup is what the benchmark runs against.
type setup struct {
	ramp     string   // the ramp binary
	rampURL  string   // ramp's proxy, 50/50 between the versions
	nginxURL string   // nginx's, the same split; "" without nginx
	versions []string // each version's own URL
}

// TestSideBySide measures ramp's proxy and nginx on the same versions.
func TestSideBySide(t *testing.T) {
	if !*enabled {
		t.Skip("opt-in: go test ./bench/proxy -run SideBySide -proxy -v")
	}
	s := start(t)
	rates := []int{1000}
	tp := map[string]float64{}
	targets := []struct{ name, url string }{{"ramp", s.rampURL}, {"nginx", s.nginxURL}}
	for range *rounds {
		for _, tg := range targets {
			if tg.url == "" {
				continue
			}
			rps, how := throughput(t, tg.url, *duration)
			t.Logf("throughput %-5s %8.0f req/s (%s)", tg.name, rps, how)
			tp[tg.name] = max(tp[tg.name], rps)
		}
	}
	if tp["nginx"] > 0 {
		t.Logf("ramp / nginx = %.2f (best of %d runs each; target ≥ 0.8)", tp["ramp"]/tp["nginx"], *rounds)
	} else {
		t.Log("nginx is not installed: no side-by-side ratio (apt-get install nginx)")
	}
	rates = append(rates, int(tp["ramp"]/2))
	for _, rate := range rates {
		// Rounds alternate direct, ramp and nginx, so that what else the
		// machine does weighs on each alike; each figure is the median round.
		runs := map[string][]latencies{}
		for range *latencyRounds {
			runs["direct"] = append(runs["direct"], fixedRate(t, s.versions[0], rate, 5*time.Second))
			for _, tg := range targets {
				if tg.url != "" {
					runs[tg.name] = append(runs[tg.name], fixedRate(t, tg.url, rate, 5*time.Second))
				}
			}
		}
		direct := median(runs["direct"])
		for _, tg := range targets {
			if tg.url == "" {
				continue
			}
			l := median(runs[tg.name])
			sent := ""
			if l.rate > 0 {
				sent = fmt.Sprintf("%.0f req/s sent; ", l.rate)
			}
			t.Logf("at %5d req/s %-5s adds p50 %+.2f ms, p99 %+.2f ms (direct p50 %.2f, p99 %.2f; %s%d errors; median of %d rounds)",
				rate, tg.name, l.p50-direct.p50, l.p99-direct.p99, direct.p50, direct.p99, sent, l.errors, *latencyRounds)
		}
	}
	allocations(t)
}

// median returns the run with the median p99 (its p50 with it), and the
// errors of all runs.
func median(runs []latencies) latencies {
	sorted := slices.SortedFunc(slices.Values(runs), func(a, b latencies) int { return cmp.Compare(a.p99, b.p99) })
	m := sorted[len(sorted)/2]
	m.errors = 0
	for _, r := range runs {
		m.errors += r.errors
	}
	return m
}

// allocations prints the heap allocations per request of the proxy's
// HTTP/1.1 path, from BenchmarkProxyOverhead (providers/local) run in a go
// test of its own: direct to a version, proxied through ramp's frontend,
// and through net/http's reverse proxy alone (bare).
func allocations(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "ProxyOverhead", "-benchtime", "3000x",
		"github.com/ramp-deploy/ramp/providers/local").CombinedOutput()
	if err != nil {
		t.Errorf("BenchmarkProxyOverhead: %v\n%s", err, out)
		return
	}
	for _, m := range regexp.MustCompile(`ProxyOverhead/(\w+)\S*\s.*?(\d+) allocs/op`).FindAllStringSubmatch(string(out), -1) {
		t.Logf("allocations per request, %-7s %s (client and servers, one process)", m[1], m[2])
	}
}

// start builds ramp, rolls out two versions of the sample app to a 50/50
// split through ramp's proxy, and puts nginx in front of the same two.
func start(t *testing.T) setup {
	t.Helper()
	dir := t.TempDir()
	s := setup{ramp: filepath.Join(dir, "ramp")}
	build := exec.Command("go", "build", "-o", s.ramp, "github.com/ramp-deploy/ramp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	listen := freeAddr(t)
	s.rampURL = "http://" + listen + "/"
	common := []string{"--provider", "local", "--service", "bench", "--state-dir", filepath.Join(dir, "state"),
		"--listen", listen, "--compare", "off", "--max-error-rate", "0", "--interval", "1s"}
	image := s.ramp + " sample-app"
	rampCmd(t, s.ramp, 0, append([]string{"deploy", "--image", image, "--revision", "v1", "--strategy", "immediate"}, common...)...)
	rampCmd(t, s.ramp, 5, append([]string{"deploy", "--image", image, "--revision", "v2", "--steps", "50,pause,100", "--hold", "1s"}, common...)...)
	t.Cleanup(func() { rampCmd(t, s.ramp, -1, append([]string{"down"}, common[:6]...)...) })
	s.versions = versionURLs(t, s.ramp, common[:6])
	if nginx, err := exec.LookPath("nginx"); err == nil {
		s.nginxURL = startNginx(t, nginx, dir, s.versions)
	}
	return s
}

// rampCmd runs ramp with args and fails unless it exits with want (-1:
// any).
func rampCmd(t *testing.T, ramp string, want int, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ramp, args...)
	cmd.Env = append(os.Environ(), "SAMPLE_VERSION=bench")
	out, err := cmd.Output()
	code := cmd.ProcessState.ExitCode()
	if want >= 0 && code != want {
		t.Fatalf("ramp %s: exit %d (%v), want %d\n%s", strings.Join(args, " "), code, err, want, out)
	}
	return out
}

// versionURLs reads the two versions' own URLs from ramp status.
func versionURLs(t *testing.T, ramp string, common []string) []string {
	t.Helper()
	out := rampCmd(t, ramp, 0, append([]string{"status", "--output", "json"}, common...)...)
	var st struct {
		Stable, Candidate struct {
			URL string `json:"url"`
		}
		Weight int `json:"weight"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Stable.URL == "" || st.Candidate.URL == "" {
		t.Fatalf("ramp status: %v\n%s", err, out)
	}
	if st.Weight != 50 {
		t.Fatalf("candidate weight %d, want 50", st.Weight)
	}
	return []string{st.Stable.URL + "/", st.Candidate.URL + "/"}
}

// startNginx runs nginx in the foreground with one worker, proxying to
// versions at equal weights over keep-alive connections.
func startNginx(t *testing.T, nginx, dir string, versions []string) string {
	t.Helper()
	listen := freeAddr(t)
	var upstreams strings.Builder
	for _, v := range versions {
		fmt.Fprintf(&upstreams, "    server %s;\n", strings.TrimSuffix(strings.TrimPrefix(v, "http://"), "/"))
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  upstream versions {
%[2]s    keepalive 32;
  }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://versions;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`, dir, upstreams.String(), listen)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-c", path, "-p", dir, "-e", filepath.Join(dir, "nginx-error.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + listen + "/"
	waitUp(t, url)
	return url
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
