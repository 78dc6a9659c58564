package local

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ramp-deploy/ramp/internal/input"
)

// scrapeURL scrapes the metrics at u.
func scrapeURL(c *http.Client, u string) (map[string]*dto.MetricFamily, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", u, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", u, err)
	}
	return fams, nil
}

// mustScrape scrapes the metrics at u and fails the test if it cannot.
func mustScrape(t *testing.T, c *http.Client, u string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := scrapeURL(c, u)
	must(t, "scrape", err)
	return fams
}

// requestsByRev sums ramp_local_requests_total by revision.
func requestsByRev(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams["ramp_local_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "revision" {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// call sends method url with the agent's token if token is set and returns
// the status.
func call(t *testing.T, method, url, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	must(t, "new request", err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, method+" "+url, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsEndpoint runs an agent with metrics-listen, sends requests
// through a 50% canary whose candidate fails every request, and checks the
// scrape against what the clients got; then that the metrics listener
// serves nothing of the control API, even with the token, and that the
// control API does not serve the metrics.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MetricsListen = "127.0.0.1:0"
	a, p := startAgent(t, cfg)
	ctx := t.Context()
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", promote(ctx, p, 0))
	mustDeploy(t, p, appArtifact("v2", "v2", 1))
	must(t, "shift to v2", shift(ctx, p, 50))

	c := &http.Client{Timeout: 10 * time.Second}
	got := map[string]map[int]int{"v1": {}, "v2": {}}
	for range 60 {
		resp, err := c.Get(a.ProxyURL() + "/")
		must(t, "GET through the proxy", err)
		resp.Body.Close()
		got[resp.Header.Get(revisionHeader)][resp.StatusCode]++
	}
	fams := mustScrape(t, c, a.MetricsURL())
	for rev, codes := range got {
		n := 0
		for code, want := range codes {
			n += want
			if v := value(t, fams, "ramp_local_requests_total", map[string]string{"revision": rev, "code": fmt.Sprint(code)}); v != float64(want) {
				t.Errorf("requests_total{revision=%q,code=\"%d\"} = %v, want %d", rev, code, v, want)
			}
		}
		checkHistogram(t, fams, rev, uint64(n))
	}
	if v := value(t, fams, "ramp_local_request_failures_total", map[string]string{"revision": "v2"}); v != float64(got["v2"][500]) {
		t.Errorf("request_failures_total{revision=\"v2\"} = %v, want the %d 500s", v, got["v2"][500])
	}
	for rev, role := range map[string]string{"v1": "stable", "v2": "candidate"} {
		if v := value(t, fams, "ramp_local_traffic_weight_ratio", map[string]string{"revision": rev, "role": role}); v != 0.5 {
			t.Errorf("traffic_weight_ratio{revision=%q,role=%q} = %v, want 0.5", rev, role, v)
		}
	}

	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	if info.Metrics != a.MetricsURL() || !strings.HasPrefix(info.Metrics, "http://127.0.0.1:") {
		t.Errorf("agent.json metrics = %q, want %q", info.Metrics, a.MetricsURL())
	}
	base := strings.TrimSuffix(a.MetricsURL(), metricsPath)
	for _, r := range []struct{ method, path string }{{"GET", "/v1/status"}, {"GET", "/v1/ping"}, {"POST", "/v1/shutdown"}, {"POST", metricsPath}} {
		if code := call(t, r.method, base+r.path, a.token); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s on the metrics listener with the token: status %d, want 404 or 405", r.method, r.path, code)
		}
	}
	if _, err := a.Client().Status(ctx); err != nil {
		t.Errorf("the agent after the calls on the metrics listener: %v", err)
	}
	control := "http://" + a.ControlAddr() + metricsPath
	if code := call(t, "GET", control, ""); code != http.StatusForbidden {
		t.Errorf("GET /metrics on the control API without the token: status %d, want 403", code)
	}
	if code := call(t, "GET", control, a.token); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the control API with the token: status %d, want 404", code)
	}
	other := cfg
	other.MetricsListen = httptestDeadAddr(t)
	if _, err := newProvider(t, other).Status(ctx); !isInputError(err, "metrics-listen") {
		t.Errorf("Status() asking for metrics on another port: error = %v, want an input error naming metrics-listen", err)
	}
}

// TestMetricsOffByDefault checks that an agent serves no metrics unless
// asked, and that asking for them of such an agent says to restart it.
func TestMetricsOffByDefault(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	a, p := startAgent(t, cfg)
	if _, err := p.Status(t.Context()); err != nil {
		t.Fatalf("Status() error = %v", err)
	}
	info, err := readAgentInfo(cfg.StateDir)
	must(t, "read agent.json", err)
	if a.MetricsURL() != "" || info.Metrics != "" {
		t.Errorf("metrics at %q (agent.json %q), want none", a.MetricsURL(), info.Metrics)
	}
	cfg.MetricsListen = "127.0.0.1:0"
	_, err = newProvider(t, cfg).Status(t.Context())
	if !isInputError(err, "metrics-listen") || !strings.Contains(err.Error(), "ramp down") {
		t.Errorf("Status() asking for metrics of an agent without: error = %v, want an input error naming metrics-listen and ramp down", err)
	}
}

// isInputError reports whether err is an input error naming name.
func isInputError(err error, name string) bool {
	ie, ok := errors.AsType[*input.Error](err)
	return ok && ie.Input == name
}
