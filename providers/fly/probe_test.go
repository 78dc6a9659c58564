package fly

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// proxyTransport hands each request to the fake's fly-proxy of app web,
// in the calling goroutine (no socket, so synctest's clock moves).
type proxyTransport struct{ h http.Handler }

func (t proxyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestProbePinnedToTheCandidate: the probe client sends a request for
// the app's URL to the candidate's machines (fly-force-instance-id),
// round-robin, while they take no traffic; a request for another host,
// or with no candidate, goes out unpinned to the routable machines.
func TestProbePinnedToTheCandidate(t *testing.T) {
	t.Parallel()
	bubble(t, 3, func(t *testing.T, e *testEnv) {
		p := strategyProvider(t, e, "bluegreen")
		p.probeTransport = proxyTransport{e.w.AppHandler("web")}
		c, err := p.ProbeClient()
		if err != nil {
			t.Fatal(err)
		}
		served := func(url string) (string, int) {
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.Header.Get(fake.ImageHeader), resp.StatusCode
		}
		if img, code := served("https://web.fly.dev/healthz"); img != stableImage || code != http.StatusOK {
			t.Errorf("no candidate: served by %s (%d), want the stable image", img, code)
		}
		rev, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "green"})
		if err != nil {
			t.Fatal(err)
		}
		if rev.URL != "https://web.fly.dev" {
			t.Errorf("candidate URL %q", rev.URL)
		}
		time.Sleep(pinTTL + time.Second) // the client lists the machines again
		var ids []string
		for range 6 {
			resp, err := c.Get(rev.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if img := resp.Header.Get(fake.ImageHeader); img != nextImage {
				t.Errorf("pinned request served by %s", img)
			}
			ids = append(ids, resp.Header.Get(fake.MachineHeader))
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != 3 {
			t.Errorf("pinned requests reached %v, want the 3 candidate machines", ids)
		}
		if r := e.w.Routable("web"); r[nextImage] != 0 {
			t.Errorf("the candidate takes traffic: %v", r)
		}
	})
}

// TestBlueGreenProbeGate runs bluegreen with the real probe gate on the
// probe client: green answering 500 (image "failing") is rolled back at
// 0% though no user request reached it; a healthy green is promoted.
func TestBlueGreenProbeGate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		image   string
		outcome engine.Outcome
	}{
		{nextImage, engine.OutcomePromoted},
		{"registry.fly.io/web:failing", engine.OutcomeRolledBack},
	} {
		t.Run(tc.image, func(t *testing.T) {
			t.Parallel()
			bubble(t, 2, func(t *testing.T, e *testEnv) {
				p := strategyProvider(t, e, "bluegreen")
				p.probeTransport = proxyTransport{e.w.AppHandler("web")}
				c, err := p.ProbeClient()
				if err != nil {
					t.Fatal(err)
				}
				g := gates.ProbeGate{Client: c, Path: "/healthz", Count: 4, ExpectStatus: 200, MaxLatency: time.Second, SuccessRatio: 100}
				res := newEngine(p, g, 0, nil).Deploy(t.Context(), planOf(t, strategies.Spec{Strategy: "bluegreen"}),
					providers.Artifact{Image: tc.image, Revision: "green"}, providers.Rollout{ID: "r1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.outcome)
				}
			})
		})
	}
}
