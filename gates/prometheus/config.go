// Package prometheus reads a rollout's traffic from a Prometheus-compatible
// HTTP API (Prometheus itself, Grafana Cloud, Google Managed Prometheus,
// Fly's managed Prometheus, Thanos, Mimir, VictoriaMetrics): both
// versions' requests, errors and latency histogram for the comparative
// judge and the guardrails (gates.MetricSource), and the value of a custom
// PromQL query for ramp.yaml's checks (gates.QuerySource).
//
// Every query is an instant query evaluated at the end of the window it
// measures, over a range of the window's length; see Source.Observe for how
// Prometheus's increase() estimates become whole counts and what "no data"
// means.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
)

// The defaults of Config: the conventions of the Prometheus client
// libraries' HTTP instrumentation (promhttp, the Go, Java and Python
// clients, most ingress controllers' own names aside).
const (
	DefaultSelector       = `version="{{.Version}}"`
	DefaultRequestsMetric = "http_requests_total"
	DefaultCodeLabel      = "code"
	DefaultLatencyMetric  = "http_request_duration_seconds"
	// DefaultTimeout bounds one query, on the client and on the server.
	DefaultTimeout = 30 * time.Second
)

// Config is how to reach a Prometheus-compatible API and what to ask it.
// The zero value of each optional field is its default.
type Config struct {
	// URL is the API's base URL, before /api/v1 (e.g.
	// https://prometheus-prod-10-prod-us-central-0.grafana.net/api/prom).
	URL string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// Username and Password are sent as HTTP basic auth; not with Token.
	Username, Password string
	// Headers are extra request headers, each "Name: value".
	Headers []string
	// Selector is the label matchers that select one version's series,
	// a query template (gates.QueryVars): default DefaultSelector.
	Selector string
	// RequestsMetric is the request counter, with a status-code label
	// named CodeLabel; LatencyMetric is the base name of the latency
	// histogram in seconds (its series are LatencyMetric_bucket).
	RequestsMetric, CodeLabel, LatencyMetric string
	// RequestsQuery, ErrorsQuery and LatencyQuery replace the built-in
	// queries: templates rendered for each version, the first two
	// returning one value, the last the histogram's cumulative counts by
	// le (in seconds) over {{.Window}}.
	RequestsQuery, ErrorsQuery, LatencyQuery string
	// Service is the service's name, for {{.Service}}.
	Service string
	// Timeout bounds one query; zero or less is DefaultTimeout.
	Timeout time.Duration
	// Warn receives each distinct warning Prometheus returns with an
	// answer (a result that may be partial); nil drops them.
	Warn func(msg string)
	// Instances, when set, returns the regular expression matching the
	// instances that run a version, for {{.Instances}}; the CLI sets it
	// from a providers.InstanceLister.
	Instances func(ctx context.Context, version string) (string, error)
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// withDefaults returns c with every empty optional field set.
func (c Config) withDefaults() Config {
	def := func(s *string, d string) {
		if strings.TrimSpace(*s) == "" {
			*s = d
		}
	}
	def(&c.Selector, DefaultSelector)
	def(&c.RequestsMetric, DefaultRequestsMetric)
	def(&c.CodeLabel, DefaultCodeLabel)
	def(&c.LatencyMetric, DefaultLatencyMetric)
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate names every bad setting at once, by its option name. No value
// of a secret (token, password, a header's value) is repeated in an error.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	errs = append(errs, validURL(c.URL))
	switch {
	case c.Token != "" && (c.Username != "" || c.Password != ""):
		errs = append(errs, input.Invalid("prometheus-token", "", "set either a bearer token or basic auth (prometheus-username and prometheus-password), not both"))
	case c.Username != "" && c.Password == "":
		errs = append(errs, input.Invalid("prometheus-password", "", "is required with prometheus-username"))
	case c.Password != "" && c.Username == "":
		errs = append(errs, input.Invalid("prometheus-username", "", "is required with prometheus-password"))
	}
	_, err := c.header()
	errs = append(errs, err)
	for key, name := range map[string]string{"prometheus-requests-metric": c.RequestsMetric, "prometheus-latency-metric": c.LatencyMetric} {
		if !metricName.MatchString(name) {
			errs = append(errs, input.Invalid(key, name, "is not a Prometheus metric name"))
		}
	}
	if !labelName.MatchString(c.CodeLabel) {
		errs = append(errs, input.Invalid("prometheus-code-label", c.CodeLabel, "is not a Prometheus label name"))
	}
	_, err = c.templates()
	errs = append(errs, err)
	return errors.Join(errs...)
}

// validURL checks the API's base URL: http(s), a host, and no credentials
// in it (they would show in every error that names the URL).
func validURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return input.Invalid("prometheus-url", "", "is required with metrics-source prometheus")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return input.Invalid("prometheus-url", redact(raw), "is not an http(s) URL")
	case u.User != nil:
		return input.Invalid("prometheus-url", u.Redacted(), "holds credentials: set prometheus-username and prometheus-password (or prometheus-token) instead")
	case strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1"):
		return input.Invalid("prometheus-url", raw, "is the base URL, without /api/v1 (ramp adds /api/v1/query)")
	}
	return nil
}

// redact cuts what may be credentials out of a URL that does not parse.
func redact(raw string) string {
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		return "…" + raw[i:]
	}
	return raw
}

// header builds the headers every request carries: the extra headers,
// then the authorization. A header must be "Name: value"; Authorization
// may come from the headers only when neither a token nor basic auth is
// set (Fly's "FlyV1 <token>").
func (c Config) header() (http.Header, error) {
	h := http.Header{}
	var errs []error
	for i, kv := range c.Headers {
		name, value, ok := strings.Cut(kv, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || !headerName.MatchString(name):
			errs = append(errs, input.Invalid("prometheus-headers", "", `entry %d is not "Name: value" with a valid header name`, i+1))
			continue
		case strings.ContainsAny(value, "\r\n"):
			errs = append(errs, input.Invalid("prometheus-headers", "", "header %s: the value holds a line break", name))
			continue
		case http.CanonicalHeaderKey(name) == "Authorization" && (c.Token != "" || c.Username != ""):
			errs = append(errs, input.Invalid("prometheus-headers", "", "sets Authorization, and so does prometheus-token or prometheus-username: keep one"))
			continue
		}
		h.Add(name, value)
	}
	switch {
	case c.Token != "":
		h.Set("Authorization", "Bearer "+c.Token)
	case c.Username != "":
		r := http.Request{Header: http.Header{}}
		r.SetBasicAuth(c.Username, c.Password)
		h.Set("Authorization", r.Header.Get("Authorization"))
	}
	return h, errors.Join(errs...)
}

// headerStart matches the start of a "Name: value" entry.
var headerStart = regexp.MustCompile("^\\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+\\s*:")

// SplitHeaders splits the prometheus-headers option into its entries:
// one a line, or separated by commas, but a comma not followed by
// "Name:" stays in the value (Fly's "FlyV1 fm2_…,fm2_…" tokens hold
// commas). Empty entries are dropped.
func SplitHeaders(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		entry := -1 // the entry this line's last part went to
		for part := range strings.SplitSeq(strings.TrimRight(line, "\r\n"), ",") {
			switch {
			case entry >= 0 && !headerStart.MatchString(part):
				out[entry] = strings.TrimSpace(out[entry] + "," + part)
			case strings.TrimSpace(part) != "":
				out = append(out, strings.TrimSpace(part))
				entry = len(out) - 1
			}
		}
	}
	return out
}

// queries are the parsed templates; a nil custom query is the built-in.
type queries struct {
	selector                  *template.Template
	requests, errors, latency *template.Template
}

// templates parses the selector and the custom queries.
func (c Config) templates() (queries, error) {
	var q queries
	var errs []error
	parse := func(key, text string, into **template.Template) {
		if strings.TrimSpace(text) == "" {
			return
		}
		t, err := gates.ParseQuery(key, text)
		if err != nil {
			errs = append(errs, input.Invalid(key, text, "%w", err))
			return
		}
		*into = t
	}
	parse("prometheus-selector", c.Selector, &q.selector)
	parse("prometheus-requests-query", c.RequestsQuery, &q.requests)
	parse("prometheus-errors-query", c.ErrorsQuery, &q.errors)
	parse("prometheus-latency-query", c.LatencyQuery, &q.latency)
	return q, errors.Join(errs...)
}

// String describes the source for messages: its URL, never a credential.
func (c Config) String() string {
	if u, err := url.Parse(c.URL); err == nil {
		return fmt.Sprintf("prometheus at %s", u.Redacted())
	}
	return "prometheus"
}
