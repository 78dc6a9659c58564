package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates/prometheus"
	"github.com/ramp-deploy/ramp/internal/input"
)

func TestMetricsSourceOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		vars map[string]string
		want prometheus.Config
		errs []string // the inputs named
	}{
		{"provider by default", nil, nil, prometheus.Config{}, nil},
		{"prometheus, every option", []string{"--service=web", "--metrics-source=prometheus", "--prometheus-url=https://prom.example/api/prom",
			"--prometheus-username=42", "--prometheus-selector=rev=\"{{.Version}}\"", "--prometheus-requests-metric=reqs",
			"--prometheus-code-label=status", "--prometheus-latency-metric=lat", "--prometheus-requests-query=sum(a)",
			"--prometheus-errors-query=sum(b)", "--prometheus-latency-query=sum by (le) (c)"},
			map[string]string{"RAMP_PROMETHEUS_PASSWORD": "pw", "INPUT_PROMETHEUS-HEADERS": "X-Scope-OrgID: t1\nX-Other: 2"},
			prometheus.Config{URL: "https://prom.example/api/prom", Username: "42", Password: "pw", Headers: []string{"X-Scope-OrgID: t1", "X-Other: 2"},
				Selector: `rev="{{.Version}}"`, RequestsMetric: "reqs", CodeLabel: "status", LatencyMetric: "lat",
				RequestsQuery: "sum(a)", ErrorsQuery: "sum(b)", LatencyQuery: "sum by (le) (c)", Service: "web"}, nil},
		{"prometheus without a url", []string{"--metrics-source=prometheus"}, nil, prometheus.Config{}, []string{"prometheus-url"}},
		{"prometheus, every problem at once", []string{"--metrics-source=prometheus", "--prometheus-url=ftp://x", "--prometheus-token=t",
			"--prometheus-username=u", "--prometheus-code-label=a-b", "--prometheus-errors-query={{.Nope"}, nil, prometheus.Config{},
			[]string{"prometheus-code-label", "prometheus-errors-query", "prometheus-token", "prometheus-url"}},
		{"a prometheus option with another source", []string{"--prometheus-url=http://x"}, nil, prometheus.Config{}, []string{"metrics-source"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, cfg, err := load(t, c.args, c.vars)
			var named []string
			for _, e := range input.Leaves(err) {
				if ie, ok := errors.AsType[*input.Error](e); ok {
					named = append(named, ie.Input)
				}
			}
			slices.Sort(named)
			if !slices.Equal(named, c.errs) {
				t.Fatalf("errors name %q, want %q: %v", named, c.errs, err)
			}
			if err != nil {
				if strings.Contains(err.Error(), "=t") {
					t.Errorf("the error repeats the token: %v", err)
				}
				return
			}
			got := cfg.Prometheus
			got.Warn = nil
			if c.want.URL == "" {
				if cfg.MetricsSource != "provider" {
					t.Errorf("metrics source %q, want provider", cfg.MetricsSource)
				}
				return
			}
			if cfg.MetricsSource != "prometheus" {
				t.Errorf("metrics source %q, want prometheus", cfg.MetricsSource)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("parsed settings (-want +got):\n%s", d)
			}
		})
	}
}
