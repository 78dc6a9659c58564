// Package datadog is a metric source reading Datadog: each version's
// requests and errors from metrics queries (by default APM's trace
// metrics, selected by the version tag of unified service tagging), and
// the custom checks' queries. It calls Datadog's timeseries query API
// (POST /api/v2/query/timeseries) with github.com/DataDog/datadog-api-client-go.
package datadog

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

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
)

// The defaults. The queries follow APM's trace metrics
// (trace.<SPAN_NAME>.hits and .errors, COUNT metrics tagged with service,
// env and version) for the generic http.request span name; a service whose
// integration names its entry span otherwise (rack.request,
// servlet.request, ...) sets its own queries.
const (
	DefaultSite           = "datadoghq.com"
	DefaultRequestsQuery  = "sum:trace.http.request.hits{service:{{.Service}},version:{{.Version}}}.as_count()"
	DefaultErrorsQuery    = "sum:trace.http.request.errors{service:{{.Service}},version:{{.Version}}}.as_count()"
	DefaultTimeout        = 30 * time.Second
	defaultIngestionDelay = 2 * time.Minute
)

// Config configures a Source. Each field's input name is the option it
// comes from (datadog-site, ...).
type Config struct {
	// Site is the Datadog site, e.g. datadoghq.com or datadoghq.eu: the API
	// is https://api.<site>. Empty is DefaultSite.
	Site string
	// APIKey and AppKey are the API and application keys (DD_API_KEY,
	// DD_APP_KEY); the application key needs the timeseries_query scope.
	APIKey, AppKey string
	// RequestsQuery and ErrorsQuery are the metrics query templates of a
	// version's requests and failed requests, rendered per version
	// ({{.Version}}, {{.Candidate}}, {{.Stable}}, {{.Service}},
	// {{.Window}}); empty is the default.
	RequestsQuery, ErrorsQuery string
	// Service is the service's name, for {{.Service}}.
	Service string
	// Timeout bounds one API call; zero is DefaultTimeout.
	Timeout time.Duration
	// URL, when set, is the API's base URL instead of https://api.<site>
	// (a proxy, or a fake); Transport, when set, carries the requests
	// instead of http.DefaultTransport. Neither is an option.
	URL       string
	Transport http.RoundTripper
}

// The option names, for errors.
const (
	optSite     = "datadog-site"
	optAPIKey   = "datadog-api-key"
	optAppKey   = "datadog-app-key"
	optRequests = "datadog-requests-query"
	optErrors   = "datadog-errors-query"
)

var siteName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

// withDefaults fills the empty fields.
func (c Config) withDefaults() Config {
	c.Site = strings.TrimSpace(c.Site)
	if c.Site == "" {
		c.Site = DefaultSite
	}
	if strings.TrimSpace(c.RequestsQuery) == "" {
		c.RequestsQuery = DefaultRequestsQuery
	}
	if strings.TrimSpace(c.ErrorsQuery) == "" {
		c.ErrorsQuery = DefaultErrorsQuery
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate names every bad input at once, by option. It never prints a
// key.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !siteName.MatchString(c.Site) {
		errs = append(errs, input.Invalid(optSite, c.Site, "must be a Datadog site such as datadoghq.com or datadoghq.eu (a host name, no scheme)"))
	}
	if strings.TrimSpace(c.APIKey) == "" {
		errs = append(errs, input.Invalid(optAPIKey, "", "is required (or DD_API_KEY)"))
	}
	if strings.TrimSpace(c.AppKey) == "" {
		errs = append(errs, input.Invalid(optAppKey, "", "is required (or DD_APP_KEY)"))
	}
	for name, text := range map[string]string{optRequests: c.RequestsQuery, optErrors: c.ErrorsQuery} {
		if _, err := gates.ParseQuery(name, text); err != nil {
			errs = append(errs, input.Invalid(name, text, "%w", err))
		}
	}
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("datadog: URL "+c.URL+" is not an http(s) URL"))
		}
	}
	return errors.Join(errs...)
}

// Source reads Datadog. It is a gates.MetricSource, a gates.QuerySource,
// a gates.DelayedSource and a gates.AccessChecker, safe for concurrent
// use.
type Source struct {
	cfg              Config
	host             string // the API's host, for errors
	metrics          *datadogV2.MetricsApi
	auth             *datadogV1.AuthenticationApi
	requests, errors *template.Template
	server           context.Context // carries the server selection
}

var (
	_ gates.MetricSource  = (*Source)(nil)
	_ gates.QuerySource   = (*Source)(nil)
	_ gates.DelayedSource = (*Source)(nil)
	_ gates.AccessChecker = (*Source)(nil)
)

// New checks cfg (every bad input at once) and returns a Source; it makes
// no call.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Source{cfg: cfg, host: "api." + cfg.Site}
	s.requests, _ = gates.ParseQuery(optRequests, cfg.RequestsQuery)
	s.errors, _ = gates.ParseQuery(optErrors, cfg.ErrorsQuery)
	conf := dd.NewConfiguration()
	conf.HTTPClient = &http.Client{Transport: cfg.Transport}
	client := dd.NewAPIClient(conf)
	s.metrics, s.auth = datadogV2.NewMetricsApi(client), datadogV1.NewAuthenticationApi(client)
	// Server 2 is https://{subdomain}.{site} for any site; server 1 is
	// {protocol}://{name}, for a base URL.
	s.server = context.WithValue(context.Background(), dd.ContextServerIndex, 2)
	s.server = context.WithValue(s.server, dd.ContextServerVariables, map[string]string{"site": cfg.Site})
	if cfg.URL != "" {
		u, _ := url.Parse(cfg.URL)
		s.host = u.Host
		s.server = context.WithValue(context.Background(), dd.ContextServerIndex, 1)
		s.server = context.WithValue(s.server, dd.ContextServerVariables, map[string]string{"protocol": u.Scheme, "name": u.Host})
	}
	return s, nil
}

// call returns ctx bounded by the timeout and carrying the keys and the
// server selection the client reads from it.
func (s *Source) call(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	ctx = context.WithValue(ctx, dd.ContextAPIKeys, map[string]dd.APIKey{
		"apiKeyAuth": {Key: s.cfg.APIKey},
		"appKeyAuth": {Key: s.cfg.AppKey},
	})
	for _, k := range []any{dd.ContextServerIndex, dd.ContextServerVariables} {
		ctx = context.WithValue(ctx, k, s.server.Value(k))
	}
	return ctx, cancel
}

// MetricsDelay is the delay the analysis applies when metrics-delay is not
// given. APM's trace metrics come from stats the agent computes in
// 10-second buckets and flushes about 20 seconds after they close; intake
// adds some seconds more. So a minute is complete in Datadog about a
// minute after it ends: two minutes leaves a minute to spare.
func (s *Source) MetricsDelay() time.Duration { return defaultIngestionDelay }

// fail wraps err with the site and what was being done; never a key.
func (s *Source) fail(action string, err error) error {
	return fmt.Errorf("datadog %s: %s: %w", s.host, action, err)
}
