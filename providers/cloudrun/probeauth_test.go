package cloudrun

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
	"golang.org/x/oauth2"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
)

const (
	serviceURL  = "https://" + serviceHost
	deployer    = "deployer@p.iam.gserviceaccount.com"
	tokenPrefix = "id-token-for-"
)

// privateService is an httptest TLS server standing in for every host: a
// Cloud Run service that answers 200 to a request with the ID token for
// its URL and 403 to any other, on its run.app hosts; 200 to anything on
// other hosts. It records the Authorization header of every request by host.
type privateService struct {
	srv *httptest.Server

	mu   sync.Mutex
	seen map[string][]string // Authorization headers by host
	deny bool                // refuse even the right token (no run.invoker)
}

func newPrivateService(t *testing.T) *privateService {
	t.Helper()
	s := &privateService{seen: map[string][]string{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.seen[r.Host] = append(s.seen[r.Host], r.Header.Get("Authorization"))
		if !strings.HasSuffix(r.Host, serviceHost) {
			return // another host: public
		}
		if s.deny || r.Header.Get("Authorization") != "Bearer "+tokenPrefix+serviceURL {
			http.Error(w, "Your client does not have permission to get URL", http.StatusForbidden)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// transport reaches the server whatever the URL's host, checking its
// certificate (issued for example.com).
func (s *privateService) transport() *http.Transport {
	tr := s.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	addr := s.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return tr
}

// authorizations returns the Authorization headers host received.
func (s *privateService) authorizations(host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen[host])
}

// staticMint mints the token tokenPrefix+audience for deployer, recording
// the audiences asked for; err, when set, is its answer instead.
type staticMint struct {
	mu        sync.Mutex
	audiences []string
	err       error
}

func (m *staticMint) mint(_ context.Context, audience string) (idTokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audiences = append(m.audiences, audience)
	if m.err != nil {
		return idTokens{}, m.err
	}
	return idTokens{src: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tokenPrefix + audience}), who: deployer}, nil
}

func get(t *testing.T, c *http.Client, u string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func TestProbeClientCallsNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.admin.AdminCalls()
	if c, err := e.provider(t).ProbeClient(); err != nil || c == nil {
		t.Fatalf("ProbeClient() = %v, %v", c, err)
	}
	if got := e.admin.AdminCalls() - before; got != 0 {
		t.Errorf("ProbeClient made %d Admin API calls, want 0", got)
	}
}

func TestProbeSendsAnIDTokenToTheServiceOnly(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	svc := newPrivateService(t)
	mint := &staticMint{}
	c := e.provider(t).probeClient(svc.transport(), mint.mint)

	if code, err := get(t, &http.Client{Transport: svc.transport()}, tagOf("candidate")+"/healthz"); err != nil || code != http.StatusForbidden {
		t.Fatalf("without a token the service answered %d, %v; want 403", code, err)
	}
	for _, u := range []string{tagOf("candidate") + "/healthz", serviceURL + "/", tagOf("stable")} {
		if code, err := get(t, c, u); err != nil || code != http.StatusOK {
			t.Errorf("GET %s = %d, %v; want 200", u, code, err)
		}
	}
	if got := svc.authorizations("candidate---" + serviceHost); len(got) != 2 || got[1] != "Bearer "+tokenPrefix+serviceURL {
		t.Errorf("the candidate's tag URL received %q, want the ID token for %s", got, serviceURL)
	}
	if want := []string{serviceURL}; !slices.Equal(mint.audiences, want) {
		t.Errorf("audiences asked for = %q, want %q (the service URL, once)", mint.audiences, want)
	}

	// A probe-url on another host gets no token.
	for _, host := range []string{"probe.example.com", serviceHost + ".example.com"} {
		if code, err := get(t, c, "https://"+host+"/healthz"); err != nil || code != http.StatusOK {
			t.Errorf("GET https://%s/healthz = %d, %v; want 200", host, code, err)
		}
		if got := svc.authorizations(host); !slices.Equal(got, []string{""}) {
			t.Errorf("%s received %q, want no Authorization header", host, got)
		}
	}
	if got := e.admin.CallsOf(fake.MethodGetService); got != 1 {
		t.Errorf("GetService calls = %d, want 1 (the service's URLs, read once)", got)
	}
}

func TestProbeUsesTheServiceLastRead(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	svc := newPrivateService(t)
	p := e.provider(t)
	if _, err := p.Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := e.admin.AdminCalls()
	if code, err := get(t, p.probeClient(svc.transport(), (&staticMint{}).mint), tagOf("candidate")); err != nil || code != http.StatusOK {
		t.Fatalf("GET = %d, %v; want 200", code, err)
	}
	if got := e.admin.AdminCalls() - before; got != 0 {
		t.Errorf("the probe made %d Admin API calls, want 0", got)
	}
}

func TestProbeRefusalSaysWhatIsMissing(t *testing.T) {
	t.Parallel()
	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		svc := newPrivateService(t)
		mint := &staticMint{err: errDirectFederation}
		_, err := get(t, newTestEnv(t).provider(t).probeClient(svc.transport(), mint.mint), tagOf("candidate"))
		if !errors.Is(err, errDirectFederation) || !strings.Contains(err.Error(), "403 Forbidden to a probe sent without an ID token") {
			t.Errorf("err = %v, want the 403 and why no token was sent", err)
		}
		if got := svc.authorizations("candidate---" + serviceHost); !slices.Equal(got, []string{""}) {
			t.Errorf("the service received %q, want one request without a token", got)
		}
	})
	t.Run("no invoker role", func(t *testing.T) {
		t.Parallel()
		svc := newPrivateService(t)
		svc.deny = true
		_, err := get(t, newTestEnv(t).provider(t).probeClient(svc.transport(), (&staticMint{}).mint), tagOf("candidate"))
		for _, want := range []string{"403 Forbidden", deployer, "roles/run.invoker", `"` + serviceURL + `"`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to contain %q", err, want)
			}
		}
	})
	t.Run("a public service needs no token", func(t *testing.T) {
		t.Parallel()
		mint := &staticMint{err: errors.New("no credentials")}
		pub := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(pub.Close)
		tr := (&privateService{srv: pub}).transport()
		if code, err := get(t, newTestEnv(t).provider(t).probeClient(tr, mint.mint), tagOf("candidate")); err != nil || code != http.StatusOK {
			t.Errorf("GET = %d, %v; want 200", code, err)
		}
	})
}

func TestAudienceFor(t *testing.T) {
	t.Parallel()
	urls := urlsOf(&runpb.Service{
		Uri:             serviceURL,
		Urls:            []string{"https://api-123456789.europe-west1.run.app", serviceURL},
		TrafficStatuses: []*runpb.TrafficTargetStatus{{Tag: "stable", Uri: tagOf("stable")}, {Percent: 100}},
		CustomAudiences: []string{"https://web.example.com", "my-audience", "http://plain.example.com"},
	})
	for u, want := range map[string]string{
		serviceURL + "/healthz":                                   serviceURL,
		"https://API-abc123-uc.a.run.app:443/":                    serviceURL,
		tagOf("candidate"):                                        serviceURL,
		"https://api-123456789.europe-west1.run.app/":             serviceURL,
		"https://candidate---api-123456789.europe-west1.run.app/": serviceURL,
		"https://web.example.com/healthz":                         "https://web.example.com",
		"http://" + serviceHost + "/":                             "",
		"https://" + serviceHost + ":8443/":                       "",
		"https://other-abc123-uc.a.run.app/":                      "",
		"https://" + serviceHost + ".example.com/":                "",
		"https://probe.example.com/?u=" + serviceURL:              "",
		"https://x---web.example.com/":                            "",
		"http://plain.example.com/":                               "",
		"https://my-audience/":                                    "",
	} {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := urls.audienceFor(parsed); got != want {
			t.Errorf("audienceFor(%s) = %q, want %q", u, got, want)
		}
	}
	if got := urlsOf(&runpb.Service{DefaultUriDisabled: true}).audienceFor(&url.URL{Scheme: "https", Host: serviceHost}); got != "" {
		t.Errorf("a service with no URL gave the audience %q", got)
	}
}
