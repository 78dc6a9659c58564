package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-deploy/ramp/gates/datadog"
	"github.com/ramp-deploy/ramp/internal/input"
)

// TestDatadogOptions: the datadog-* options fall back to Datadog's own
// variables (DD_SITE, DD_API_KEY, DD_APP_KEY) below every ramp source,
// default to the APM queries, and reach config.Datadog for the service.
func TestDatadogOptions(t *testing.T) {
	t.Parallel()
	dd := map[string]string{"DD_SITE": "datadoghq.eu", "DD_API_KEY": "env-api", "DD_APP_KEY": "env-app"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range dd {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		args []string
		vars map[string]string
		want datadog.Config
	}{
		{"defaults", []string{"--service=shop"}, nil, datadog.Config{Site: "datadoghq.com", Service: "shop",
			RequestsQuery: datadog.DefaultRequestsQuery, ErrorsQuery: datadog.DefaultErrorsQuery}},
		{"Datadog's variables", []string{"--service=shop"}, dd, datadog.Config{Site: "datadoghq.eu", APIKey: "env-api", AppKey: "env-app",
			Service: "shop", RequestsQuery: datadog.DefaultRequestsQuery, ErrorsQuery: datadog.DefaultErrorsQuery}},
		{"ramp's win", []string{"--service=shop", "--metrics-source=datadog", "--datadog-site=us5.datadoghq.com", "--datadog-errors-query=sum:e{version:{{.Version}}}.as_count()"},
			with("RAMP_DATADOG_API_KEY", "ramp-api"), datadog.Config{Site: "us5.datadoghq.com", APIKey: "ramp-api", AppKey: "env-app",
				Service: "shop", RequestsQuery: datadog.DefaultRequestsQuery, ErrorsQuery: "sum:e{version:{{.Version}}}.as_count()"}},
		{"the action's inputs", []string{"--service=shop"}, with("INPUT_DATADOG_APP_KEY", "input-app"), datadog.Config{Site: "datadoghq.eu",
			APIKey: "env-api", AppKey: "input-app", Service: "shop", RequestsQuery: datadog.DefaultRequestsQuery, ErrorsQuery: datadog.DefaultErrorsQuery}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, cfg, err := load(t, c.args, c.vars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, cfg.Datadog, cmpopts.IgnoreFields(datadog.Config{}, "Transport")); diff != "" {
				t.Errorf("Datadog (-want +got):\n%s", diff)
			}
		})
	}
	_, _, err := load(t, []string{"--metrics-source=datadog", "--datadog-site=https://app.datadoghq.eu", "--datadog-requests-query=sum:x{{{.Nope}}}"}, nil)
	var named []string
	for _, e := range input.Leaves(err) {
		if ie, ok := errors.AsType[*input.Error](e); ok {
			named = append(named, ie.Input)
		}
	}
	if len(named) != 4 {
		t.Errorf("Parse named %q, want datadog-site, datadog-api-key, datadog-app-key and datadog-requests-query", named)
	}
}

// TestDatadogKeysNotInFile: the keys are secrets, refused in ramp.yaml.
func TestDatadogKeysNotInFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ramp.yaml"), []byte("datadog-site: datadoghq.eu\ndatadog-api-key: abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := loadFile(t, dir, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "datadog-api-key") || !strings.Contains(err.Error(), "is a secret") {
		t.Errorf("a key in ramp.yaml: %v", err)
	}
}
