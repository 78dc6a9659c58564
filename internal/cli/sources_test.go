package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestMetricsSourceSelection: metrics-source picks the source from a
// literal registry with no fallback, checks need a source that answers
// queries, and every bad Prometheus setting is named at once, before any
// call.
func TestMetricsSourceSelection(t *testing.T) {
	t.Parallel()
	const checks = "checks:\n  - name: p99\n    query: histogram_quantile(0.99, sum by (le) (rate(lat_bucket{version=\"{{.Version}}\"}[{{.Window}}])))\n    max: 0.5\n"
	base := "provider: local\nservice: web\nstate-dir: state\n"
	cases := []struct {
		name string
		file string
		args []string
		code int
		want []string
		not  []string
	}{
		{"datadog with checks", base + "compare: errors\n" + checks, []string{"--metrics-source=datadog", "--datadog-api-key=key-123", "--datadog-app-key=app-456"}, cli.ExitOK,
			[]string{"gates: check:p99, judge comparing errors", "metrics-delay 2m (the datadog source's default)"}, []string{"key-123", "app-456"}},
		{"datadog without keys", base, []string{"--metrics-source=datadog"}, cli.ExitInvalid,
			[]string{`input "datadog-api-key"`, `input "datadog-app-key"`}, nil},
		{"a datadog query with another source", base, []string{"--datadog-errors-query=sum:errs{*}.as_count()"}, cli.ExitInvalid,
			[]string{`input "metrics-source": datadog-errors-query is set: set metrics-source to datadog`}, nil},
		{"an unknown source", base, []string{"--metrics-source=influx"}, cli.ExitInvalid,
			[]string{`input "metrics-source"`, `valid sources are ["datadog" "prometheus" "provider"]`}, nil},
		{"checks need a query source", base + checks, nil, cli.ExitInvalid,
			[]string{`input "checks": need a metrics source that answers queries: set metrics-source to prometheus or datadog`}, nil},
		{"prometheus with checks", base + checks, []string{"--metrics-source=prometheus", "--prometheus-url=http://127.0.0.1:9"}, cli.ExitOK,
			[]string{"gates: check:p99, judge comparing errors", "metrics-delay 1m (the prometheus source's default)"}, nil},
		{"every prometheus problem at once", base, []string{"--metrics-source=prometheus", "--prometheus-url=localhost:9090",
			"--prometheus-token=tok-123", "--prometheus-username=u", "--prometheus-password=pw-456", "--prometheus-selector={{.Versoin}}",
			"--prometheus-headers=X-Scope-OrgID"}, cli.ExitInvalid,
			[]string{`input "prometheus-url"`, `input "prometheus-token"`, `input "prometheus-selector"`, `input "prometheus-headers"`},
			[]string{"tok-123", "pw-456"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := rampIn(t, map[string]string{"ramp.yaml": c.file}, nil, append([]string{"validate"}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out+stderr, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, stderr)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out+stderr, w) {
					t.Errorf("output shows the secret %q:\n%s%s", w, out, stderr)
				}
			}
		})
	}
}

// TestPlanReadsPrometheus: `ramp plan` runs the queries once, with the
// credentials, and says whether Prometheus answered.
func TestPlanReadsPrometheus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		code   int
		want   string
	}{
		{"readable", http.StatusOK, cli.ExitOK, "metrics: readable"},
		{"refused", http.StatusUnauthorized, cli.ExitProvider, "could not read their metrics"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var auth []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				auth = append(auth, r.Header.Get("Authorization"))
				mu.Unlock()
				w.WriteHeader(c.status)
				fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"3"]}]}}`)
			}))
			t.Cleanup(srv.Close)
			code, out, stderr := ramp(t, map[string]string{"RAMP_PROMETHEUS_TOKEN": "plan-token"}, "plan", "--provider=local", "--service=web",
				"--state-dir="+filepath.Join(t.TempDir(), "state"), "--metrics-source=prometheus", "--prometheus-url="+srv.URL)
			if code != c.code || !strings.Contains(out+stderr, c.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s%s", code, c.code, c.want, out, stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(auth) == 0 || auth[0] != "Bearer plan-token" {
				t.Errorf("Prometheus saw Authorization %q, want the bearer token", auth)
			}
		})
	}
}

func TestResumeTakesTheMetricsSource(t *testing.T) {
	t.Parallel()
	code, out, _ := ramp(t, nil, "resume", "--help")
	if code != cli.ExitOK || !strings.Contains(out, "--metrics-source") || !strings.Contains(out, "--prometheus-token") {
		t.Errorf("resume --help (exit %d) lacks the metrics source options:\n%s", code, out)
	}
}
