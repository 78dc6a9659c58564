package fly

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// forceInstanceHeader pins a request to one machine at the fly-proxy,
// whether it takes traffic or not.
const forceInstanceHeader = "fly-force-instance-id"

// pinTTL is how long the probe client reuses its list of the candidate's
// machines (a probe check sends its requests within seconds).
const pinTTL = 5 * time.Second

var _ providers.ProbeAuthenticator = (*Provider)(nil)

// appURL is the app's public address: FLY_APP_URL when set (a custom
// domain, a fake), else https://APP.fly.dev.
func (p *Provider) appURL() string {
	if u := strings.TrimRight(os.Getenv("FLY_APP_URL"), "/"); u != "" {
		return u
	}
	return "https://" + p.app + ".fly.dev"
}

// ProbeClient returns the client the probe gate sends its requests with:
// a request for the app's own address (appURL) goes to one of the
// candidate's machines, round-robin, with the fly-force-instance-id
// header, so the probe tests the candidate while it takes no traffic (a
// blue-green's green at 0%, a canary before its first step); with no
// candidate, or for any other host, the request goes out as it is.
func (p *Provider) ProbeClient() (*http.Client, error) {
	u, err := url.Parse(p.appURL())
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: FLY_APP_URL %q is not a URL", providers.ErrInvalid, p.appURL())
	}
	return &http.Client{Transport: &pinner{p: p, host: u.Host, base: p.probeBase()}}, nil
}

// probeBase is the transport under the probe client.
func (p *Provider) probeBase() http.RoundTripper {
	if p.probeTransport != nil {
		return p.probeTransport
	}
	return http.DefaultTransport
}

// pinner pins requests for the app's host to the candidate's machines.
type pinner struct {
	p    *Provider
	host string
	base http.RoundTripper

	mu   sync.Mutex
	ids  []string
	at   time.Time
	next int
}

// RoundTrip sends req, pinned to a candidate machine when it is for the
// app's host and not pinned already.
func (t *pinner) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host || req.Header.Get(forceInstanceHeader) != "" {
		return t.base.RoundTrip(req)
	}
	id, err := t.pick(req)
	if err != nil {
		return nil, fmt.Errorf("pick a candidate machine to probe: %w", err)
	}
	if id != "" {
		req = req.Clone(req.Context())
		req.Header.Set(forceInstanceHeader, id)
	}
	return t.base.RoundTrip(req)
}

// pick is the next of the candidate's started machines, "" with none.
func (t *pinner) pick(req *http.Request) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at.IsZero() || t.p.now().Sub(t.at) > pinTTL {
		v, err := t.p.read(req.Context(), "read the candidate's machines of")
		if err != nil {
			return "", err
		}
		t.ids, t.at = nil, t.p.now()
		for _, m := range machinesOf(t.p.rolesOf(v).candidate) {
			if m.State == "started" {
				t.ids = append(t.ids, m.ID)
			}
		}
	}
	if len(t.ids) == 0 {
		return "", nil
	}
	id := t.ids[t.next%len(t.ids)]
	t.next++
	return id, nil
}

var _ providers.InstanceLister = (*Provider)(nil)

// InstancesOf lists the IDs of the machines that run the revision: the
// instance label of the metrics Fly's managed Prometheus keeps for each
// machine, so a selector instance=~"{{.Instances}}" sums a version's.
func (p *Provider) InstancesOf(ctx context.Context, revision string) ([]string, error) {
	v, err := p.read(ctx, "list the machines of "+revision+" in")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range v.machines {
		if revisionOf(m) == revision {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
