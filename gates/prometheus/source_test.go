package prometheus

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
)

// inputs lists the inputs an error names, in order.
func inputs(err error) []string {
	var out []string
	for _, e := range input.Leaves(err) {
		if ie, ok := errors.AsType[*input.Error](e); ok {
			out = append(out, ie.Input)
		}
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	cases := []struct {
		name string
		cfg  Config
		want []string // the inputs named, in order
	}{
		{"defaults", Config{URL: "http://127.0.0.1:9090"}, nil},
		{"grafana cloud basic auth", Config{URL: "https://prometheus-prod-10.grafana.net/api/prom", Username: "123456", Password: secret}, nil},
		{"fly header", Config{URL: "https://api.fly.io/prometheus/personal", Headers: []string{"Authorization: FlyV1 " + secret}}, nil},
		{"no url", Config{}, []string{"prometheus-url"}},
		{"not http", Config{URL: "ftp://x"}, []string{"prometheus-url"}},
		{"credentials in the url", Config{URL: "https://user:" + secret + "@x"}, []string{"prometheus-url"}},
		{"api path in the url", Config{URL: "http://x/api/v1/"}, []string{"prometheus-url"}},
		{"token and basic auth", Config{URL: "http://x", Token: secret, Username: "u", Password: secret}, []string{"prometheus-token"}},
		{"username alone", Config{URL: "http://x", Username: "u"}, []string{"prometheus-password"}},
		{"password alone", Config{URL: "http://x", Password: secret}, []string{"prometheus-username"}},
		{"header without a colon", Config{URL: "http://x", Headers: []string{"X-Scope-OrgID " + secret}}, []string{"prometheus-headers"}},
		{"authorization twice", Config{URL: "http://x", Token: secret, Headers: []string{"authorization: Bearer " + secret}}, []string{"prometheus-headers"}},
		{"bad names", Config{URL: "http://x", RequestsMetric: "http-requests", CodeLabel: "status code", LatencyMetric: "9lat"},
			[]string{"prometheus-requests-metric", "prometheus-latency-metric", "prometheus-code-label"}},
		{"every problem at once", Config{URL: "x", Token: secret, Username: "u", Selector: `version="{{.Verison}}"`,
			RequestsQuery: "sum({{.Version}", ErrorsQuery: "{{.Window}}", LatencyQuery: "{{if}}"},
			[]string{"prometheus-url", "prometheus-token", "prometheus-selector", "prometheus-requests-query", "prometheus-latency-query"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.cfg.Validate()
			got := inputs(err)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(got, want) {
				t.Errorf("Validate() names %q, want %q: %v", got, want, err)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error repeats a secret: %v", err)
			}
		})
	}
}

func TestAuthHeaders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want map[string]string
	}{
		{"bearer token", Config{Token: "tok"}, map[string]string{"Authorization": "Bearer tok"}},
		{"basic auth", Config{Username: "123456", Password: "glc_x"}, map[string]string{"Authorization": "Basic MTIzNDU2OmdsY194"}},
		{"extra headers", Config{Token: "tok", Headers: []string{"X-Scope-OrgID: tenant-1", " X-Extra :  a: b "}},
			map[string]string{"Authorization": "Bearer tok", "X-Scope-Orgid": "tenant-1", "X-Extra": "a: b"}},
		{"authorization from the headers", Config{Headers: []string{"Authorization: FlyV1 fm2_abc"}}, map[string]string{"Authorization": "FlyV1 fm2_abc"}},
		{"none", Config{}, map[string]string{"Authorization": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, map[string]answer{"up": {scalar: "1"}})
			if _, _, err := f.source(t, c.cfg, nil).Value(t.Context(), "up", window); err != nil {
				t.Fatal(err)
			}
			for _, r := range f.requests() {
				for k, v := range c.want {
					if got := r.header.Get(k); got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
			}
		})
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	one := func(v string) answer { return answer{vector: []series{{value: v}}} }
	cases := []struct {
		name   string
		answer answer
		want   float64
		ok     bool
		err    string
	}{
		{"one series", one("0.25"), 0.25, true, ""},
		{"scalar", answer{scalar: "3"}, 3, true, ""},
		{"empty", answer{}, 0, false, ""},
		{"NaN is no data", one("NaN"), 0, false, ""},
		{"infinity is a value", one("+Inf"), math.Inf(1), true, ""},
		{"two series", answer{vector: []series{{labels: map[string]string{"a": "1"}, value: "1"}, {labels: map[string]string{"a": "2"}, value: "1"}}},
			0, false, "returned 2 series"},
		{"unauthorized", answer{status: 401, body: "no"}, 0, false, "401"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, map[string]answer{"q": c.answer})
			v, ok, err := f.source(t, Config{Token: "tok-secret"}, nil).Value(t.Context(), "q", window)
			if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if err != nil && (!strings.Contains(err.Error(), f.srv.URL) || strings.Contains(err.Error(), "tok-secret")) {
				t.Errorf("error %v should name %s and not the token", err, f.srv.URL)
			}
			if v != c.want || ok != c.ok {
				t.Errorf("Value = %v, %v; want %v, %v", v, ok, c.want, c.ok)
			}
		})
	}
}

func TestWarningsArePassedOnOnce(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, map[string]answer{"q": {scalar: "1", warnings: []string{"partial response: store down"}}})
	var warns []string
	src := f.source(t, Config{}, &warns)
	for range 3 {
		if _, _, err := src.Value(t.Context(), "q", window); err != nil {
			t.Fatal(err)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "partial response: store down") || !strings.Contains(warns[0], f.srv.URL) {
		t.Errorf("warnings %q, want the server's one warning once, naming the server", warns)
	}
}

func TestWindowVar(t *testing.T) {
	t.Parallel()
	src := &Source{}
	for d, want := range map[time.Duration]string{
		time.Minute: "60s", 90 * time.Second: "90s", 1500 * time.Millisecond: "1500ms",
		time.Second + 300*time.Microsecond: "1s", 100 * time.Microsecond: "1ms",
	} {
		if got := src.WindowVar(gates.Window{Start: start, End: start.Add(d)}); got != want {
			t.Errorf("WindowVar(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []series
		want gates.Histogram
		err  string
	}{
		{"empty is no latency", nil, gates.Histogram{}, ""},
		{"seconds to milliseconds, unsorted", buckets("+Inf", "10", "0.1", "6", "0.0005", "1", "0.025", "4"),
			gates.Histogram{Bounds: []float64{0.5, 25, 100}, Counts: []int64{1, 4, 6}, Total: 10}, ""},
		{"rounded and kept cumulative", buckets("0.1", "3.6", "0.2", "3.4", "+Inf", "3.2"),
			gates.Histogram{Bounds: []float64{100, 200}, Counts: []int64{4, 4}, Total: 4}, ""},
		{"the same le twice is added", buckets("1", "2", "1.0", "3", "+Inf", "6"),
			gates.Histogram{Bounds: []float64{1000}, Counts: []int64{5}, Total: 6}, ""},
		{"only +Inf", buckets("+Inf", "7"), gates.Histogram{Total: 7}, ""},
		{"no +Inf", buckets("0.1", "7"), gates.Histogram{}, `no le="+Inf"`},
		{"no le", []series{{value: "1"}}, gates.Histogram{}, "no le label"},
		{"le not a number", buckets("fast", "1", "+Inf", "1"), gates.Histogram{}, "not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var v model.Vector
			for _, s := range c.in {
				m := model.Metric{}
				for k, l := range s.labels {
					m[model.LabelName(k)] = model.LabelValue(l)
				}
				var f float64
				if err := (*model.SampleValue)(&f).UnmarshalJSON([]byte(`"` + s.value + `"`)); err != nil {
					t.Fatal(err)
				}
				v = append(v, &model.Sample{Metric: m, Value: model.SampleValue(f)})
			}
			h, err := histogram(v)
			if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if !slices.Equal(h.Bounds, c.want.Bounds) || !slices.Equal(h.Counts, c.want.Counts) || h.Total != c.want.Total {
				t.Errorf("histogram %+v, want %+v", h, c.want)
			}
			if err == nil && h.Validate() != nil {
				t.Errorf("histogram %+v is not valid: %v", h, h.Validate())
			}
		})
	}
}

func TestCheckMetricsAccess(t *testing.T) {
	t.Parallel()
	codesQ := `sum by (code) (increase(http_requests_total{version="ramp-plan"}[60s]))`
	cases := []struct {
		name    string
		answers map[string]answer
		want    string
	}{
		{"readable", map[string]answer{"count(http_requests_total)": {vector: []series{{value: "12"}}}}, ""},
		{"no such metric", nil, "no series named http_requests_total"},
		{"refused", map[string]answer{codesQ: {status: 403, body: "forbidden"}}, "403"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, c.answers)
			err := f.source(t, Config{}, nil).CheckMetricsAccess(t.Context())
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("CheckMetricsAccess() = %v, want %q", err, c.want)
			}
		})
	}
}

func TestSplitHeaders(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"":                                 nil,
		"X-Scope-OrgID: t1":                {"X-Scope-OrgID: t1"},
		"A: 1,B: 2":                        {"A: 1", "B: 2"},
		"A: 1\nB: 2\r\n\n":                 {"A: 1", "B: 2"},
		"Authorization: FlyV1 fm2_a,fm2_b": {"Authorization: FlyV1 fm2_a,fm2_b"},
		"Authorization: FlyV1 fm2_a,fm2_b,X-Other: y": {"Authorization: FlyV1 fm2_a,fm2_b", "X-Other: y"},
		"oops, A: 1":   {"oops", "A: 1"},
		",fm2_b\nA: 1": {"fm2_b", "A: 1"},
	}
	for in, want := range cases {
		if got := SplitHeaders(in); !slices.Equal(got, want) {
			t.Errorf("SplitHeaders(%q) = %q, want %q", in, got, want)
		}
	}
}
