package datadog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/gates/datadog"
	fake "github.com/ramp-deploy/ramp/internal/fakes/datadog"
	"github.com/ramp-deploy/ramp/internal/input"
)

// TestRefusals: a wrong key or a malformed query fails Observe,
// Value and CheckMetricsAccess with an error that names the site, the
// query and the wrong key's option, and never a key.
func TestRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  func(*datadog.Config)
		want []string
	}{
		{"wrong API key", func(c *datadog.Config) { c.APIKey = "wrong-api-key-000" },
			[]string{"403 Forbidden: Forbidden", "the API key (datadog-api-key, DD_API_KEY) is not valid"}},
		{"wrong application key", func(c *datadog.Config) { c.AppKey = "wrong-app-key-000" },
			[]string{"403 Forbidden: Forbidden", "the application key (datadog-app-key, DD_APP_KEY) is wrong"}},
		{"malformed query", func(c *datadog.Config) {
			c.RequestsQuery = "sum:trace.http.request.hits{service:{{.Service}},version:{{.Version}}"
		},
			[]string{"400 Bad Request: Error parsing query", `"sum:trace.http.request.hits{service:shop,version:`, "Datadog refused the query"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(apiKey, appKey)
				cfg, _ := serve(t, f)
				c.cfg(&cfg)
				src := newSource(t, cfg)
				t0 := time.Now()
				time.Sleep(5 * time.Minute)
				w := gates.Window{Start: t0, End: t0.Add(3 * time.Minute)}
				_, obsErr := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Stable: "v1", Window: w})
				_, _, valErr := src.Value(t.Context(), strings.ReplaceAll(cfg.RequestsQuery, "{{.Service}}", "shop"), w)
				accErr := src.CheckMetricsAccess(t.Context())
				for call, err := range map[string]error{"Observe": obsErr, "Value": valErr, "CheckMetricsAccess": accErr} {
					if call == "Value" && c.name == "malformed query" {
						continue // Value's query was not rendered; its own refusal is tested below
					}
					if err == nil {
						t.Errorf("%s: no error", call)
						continue
					}
					msg := err.Error()
					for _, s := range append(c.want, "datadog api.datadoghq.com") {
						if !strings.Contains(msg, s) && !(call == "CheckMetricsAccess" && strings.HasPrefix(s, "403 Forbidden: Forbidden")) {
							t.Errorf("%s: %q does not say %q", call, msg, s)
						}
					}
					if strings.Contains(msg, apiKey) || strings.Contains(msg, appKey) || strings.Contains(msg, "wrong-") {
						t.Errorf("%s: %q shows a key", call, msg)
					}
				}
			})
		})
	}
}

// TestSite: the site picks the API's host; a URL replaces it.
func TestSite(t *testing.T) {
	t.Parallel()
	cases := []struct{ site, url, want string }{
		{"", "", "https://api.datadoghq.com/api/v2/query/timeseries"},
		{"datadoghq.eu", "", "https://api.datadoghq.eu/api/v2/query/timeseries"},
		{"us5.datadoghq.com", "", "https://api.us5.datadoghq.com/api/v2/query/timeseries"},
		{"datadoghq.eu", "http://proxy.test:8080", "http://proxy.test:8080/api/v2/query/timeseries"},
	}
	for _, c := range cases {
		t.Run(c.site+c.url, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(apiKey, appKey)
				cfg, h := serve(t, f)
				cfg.Site, cfg.URL = c.site, c.url
				src := newSource(t, cfg)
				t0 := time.Now()
				time.Sleep(3 * time.Minute)
				if _, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Window: gates.Window{Start: t0, End: t0.Add(time.Minute)}}); err != nil {
					t.Fatal(err)
				}
				if seen := h.Seen(); len(seen) != 1 || seen[0] != c.want {
					t.Errorf("requests went to %q, want %q", seen, c.want)
				}
			})
		})
	}
}

// TestValidate: every bad input is named at once, by option, and no key
// is shown.
func TestValidate(t *testing.T) {
	t.Parallel()
	good := datadog.Config{APIKey: apiKey, AppKey: appKey}
	cases := []struct {
		name string
		cfg  func(*datadog.Config)
		want []string // the inputs named
	}{
		{"defaults", func(*datadog.Config) {}, nil},
		{"eu", func(c *datadog.Config) { c.Site = "datadoghq.eu" }, nil},
		{"everything wrong", func(c *datadog.Config) {
			*c = datadog.Config{Site: "https://app.datadoghq.eu", RequestsQuery: "sum:x{version:{{.Vesion}}}", ErrorsQuery: "sum:y{{{.Version}"}
		}, []string{"datadog-site", "datadog-api-key", "datadog-app-key", "datadog-requests-query", "datadog-errors-query"}},
		{"blank keys", func(c *datadog.Config) { c.APIKey, c.AppKey = " ", "" }, []string{"datadog-api-key", "datadog-app-key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			c.cfg(&cfg)
			err := cfg.Validate()
			_, newErr := datadog.New(cfg)
			if (err == nil) != (newErr == nil) {
				t.Errorf("Validate = %v but New = %v", err, newErr)
			}
			var named []string
			for _, e := range input.Leaves(err) {
				if ie, ok := errors.AsType[*input.Error](e); ok {
					named = append(named, ie.Input)
				}
			}
			if !slices.Equal(slices.Sorted(slices.Values(named)), slices.Sorted(slices.Values(c.want))) {
				t.Errorf("Validate named %q, want %q (%v)", named, c.want, err)
			}
			if err != nil && strings.Contains(err.Error(), apiKey) {
				t.Errorf("%v shows the key", err)
			}
		})
	}
}
