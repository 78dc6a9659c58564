package cloudrun

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/ramp-deploy/ramp/providers"
)

var _ providers.ProbeAuthenticator = (*Provider)(nil)

// ProbeClient returns the probe gate's client. Cloud Run services are
// private by default, so a request for one of the service's own URLs (its
// run.app addresses and the tag URLs under them) carries an ID token whose
// audience is the service URL, which Cloud Run always accepts; a request for
// an https custom audience set on the service (a custom domain or load
// balancer in front of it) carries one for that audience. Requests for
// other hosts go out unchanged. Credentials are Application Default
// Credentials, found at the first request for the service, as are the
// service's URLs (from the service last read, or one read). A refusal
// (401 or 403) from the service is an error saying what is missing.
func (p *Provider) ProbeClient() (*http.Client, error) {
	return p.probeClient(http.DefaultTransport, adcIDTokens), nil
}

// probeClient is ProbeClient sending through base and minting ID tokens
// with mint.
func (p *Provider) probeClient(base http.RoundTripper, mint mintFunc) *http.Client {
	return &http.Client{Transport: &probeTransport{p: p, base: base, mint: mint, tokens: map[string]idTokens{}}}
}

// probeTransport adds ID tokens to the requests for the service's URLs.
type probeTransport struct {
	p    *Provider
	base http.RoundTripper
	mint mintFunc

	mu     sync.Mutex
	urls   *serviceURLs        // nil until read
	tokens map[string]idTokens // by audience
}

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	aud, ids, why := t.credentialsFor(req)
	if aud == "" && why == nil { // not for the service
		return t.base.RoundTrip(req)
	}
	out := req
	if why == nil {
		var tok string
		if tok, why = token(ids); why == nil {
			out = req.Clone(req.Context())
			out.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return nil, t.refused(req.URL.Host, resp.Status, aud, ids, why)
}

// credentialsFor is the audience and the ID tokens req needs: no audience
// and no error when req is not for the service; an error when they could
// not be found or made, and req goes out without a token (a public service
// needs none).
func (t *probeTransport) credentialsFor(req *http.Request) (string, idTokens, error) {
	urls, err := t.serviceURLs(req.Context())
	if err != nil {
		return "", idTokens{}, fmt.Errorf("find the URLs of service %q: %w", t.p.cfg.Service, err)
	}
	aud := urls.audienceFor(req.URL)
	if aud == "" {
		return "", idTokens{}, nil
	}
	ids, err := t.tokensFor(req.Context(), aud)
	return aud, ids, err
}

// token is the next ID token of ids, with what minting needs when it fails.
func token(ids idTokens) (string, error) {
	tok, err := ids.src.Token()
	if err == nil {
		return tok.AccessToken, nil
	}
	if ids.needs != "" {
		return "", fmt.Errorf("mint an ID token of %s (%s): %w", whoOf(ids), ids.needs, err)
	}
	return "", fmt.Errorf("mint an ID token of %s: %w", whoOf(ids), err)
}

func whoOf(ids idTokens) string {
	if ids.who == "" {
		return "the identity ramp runs as"
	}
	return ids.who
}

// refused explains a 401 or 403 answer to a probe for host: the ID token
// that could not be made, or the role the identity it names lacks.
func (t *probeTransport) refused(host, status, aud string, ids idTokens, tokenErr error) error {
	if tokenErr != nil {
		return fmt.Errorf("cloudrun: %s answered %s to a probe sent without an ID token: %w", host, status, tokenErr)
	}
	return fmt.Errorf("cloudrun: %s answered %s to a probe with an ID token of %s for audience %q: "+
		"grant it roles/run.invoker on service %q", host, status, whoOf(ids), aud, t.p.cfg.Service)
}

// tokensFor returns the ID token source for aud, made at its first use; a
// failure is tried again at the next request.
func (t *probeTransport) tokensFor(ctx context.Context, aud string) (idTokens, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ids, ok := t.tokens[aud]; ok {
		return ids, nil
	}
	ids, err := t.mint(context.WithoutCancel(ctx), aud)
	if err != nil {
		return idTokens{}, fmt.Errorf("ID tokens for %s: %w", aud, err)
	}
	t.tokens[aud] = ids
	return ids, nil
}

// serviceURLs returns the service's URLs, from the service the provider
// last read or, if it has none, from a read; they never change.
func (t *probeTransport) serviceURLs(ctx context.Context) (*serviceURLs, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.urls != nil {
		return t.urls, nil
	}
	svc := t.p.cached()
	if svc.GetUri() == "" {
		admin, err := t.p.adminClient(ctx)
		if err != nil {
			return nil, err
		}
		if svc, err = admin.GetService(ctx, t.p.name); err != nil {
			return nil, t.p.fail("read", err)
		}
	}
	t.urls = urlsOf(svc)
	return t.urls, nil
}

// serviceURLs is where a service answers, and the audience each URL's ID
// tokens carry.
type serviceURLs struct {
	// audience is the service URL, for every run.app host.
	audience string
	// hosts are the run.app hosts of the service's URLs; a tag URL's host
	// is TAG---HOST.
	hosts map[string]bool
	// custom maps the host of each https custom audience to the audience.
	custom map[string]string
}

// urlsOf lists the URLs of svc.
func urlsOf(svc *runpb.Service) *serviceURLs {
	s := &serviceURLs{audience: svc.GetUri(), hosts: map[string]bool{}, custom: map[string]string{}}
	for _, raw := range append([]string{svc.GetUri()}, svc.GetUrls()...) {
		if h := httpsHost(raw); h != "" {
			s.hosts[h] = true
			if s.audience == "" {
				s.audience = strings.TrimSuffix(raw, "/")
			}
		}
	}
	for _, st := range svc.GetTrafficStatuses() {
		if h := httpsHost(st.GetUri()); h != "" {
			s.hosts[h] = true
		}
	}
	for _, aud := range svc.GetCustomAudiences() {
		if h := httpsHost(aud); h != "" && !s.hosts[h] {
			s.custom[h] = aud
		}
	}
	return s
}

// audienceFor is the audience of the ID token a request for u carries,
// empty when u is not one of the service's URLs. Only https URLs carry one.
func (s *serviceURLs) audienceFor(u *url.URL) string {
	h := httpsHost(u.String())
	if h == "" || s.audience == "" {
		return ""
	}
	for host := range s.hosts {
		if h == host || strings.HasSuffix(h, "---"+host) {
			return s.audience
		}
	}
	return s.custom[h]
}

// httpsHost is the lowercase host of an https URL on the default port, or
// empty.
func httpsHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || (u.Port() != "" && u.Port() != "443") {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
