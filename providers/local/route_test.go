package local

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// abProxy serves a proxy in front of two revisions answering their names,
// stable "rev-1" and candidate "rev-2", routed by weight and rules.
func abProxy(t *testing.T, weight int, rt *providers.Routing) *abServer {
	t.Helper()
	backendOf := func(rev string) *backend {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "app", Value: "own"}) // the app's cookies pass beside ramp's
			io.WriteString(w, rev)
		}))
		t.Cleanup(srv.Close)
		target, _ := url.Parse(srv.URL)
		return newBackend(rev, target, new(revMetrics), nil, 0)
	}
	var r router
	r.set(table{stable: one(backendOf("rev-1")), candidate: one(backendOf("rev-2")), weight: weight,
		routes: newRoutes(rt, "rev-2", "rev-1")})
	base, _ := serveFrontend(t, &r, nil)
	return &abServer{URL: base}
}

// abServer is the proxy of an A/B test, served by a frontend.
type abServer struct{ URL string }

// Client returns a client of the proxy.
func (abServer) Client() *http.Client { return &http.Client{Transport: &http.Transport{}} }

// abGet sends req's headers to the proxy and returns the revision that
// answered and the response.
func abGet(t *testing.T, c *http.Client, req *http.Request) (string, *http.Response) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp
}

// TestMatchRoutesTheCohort: at the HTTP level, a request whose header,
// cookie or query parameter matches a rule goes to the candidate, every
// other request to the stable revision, exactly (weight 0: match only).
func TestMatchRoutesTheCohort(t *testing.T) {
	t.Parallel()
	rules, err := providers.ParseMatch([]string{"header:x-variant=b", "cookie:variant=b", "query:variant=b"})
	if err != nil {
		t.Fatal(err)
	}
	proxy := abProxy(t, 0, &providers.Routing{Match: rules})
	for _, c := range []struct {
		name   string
		path   string
		header map[string]string
		want   string
	}{
		{"header", "/", map[string]string{"X-Variant": "b"}, "rev-2"},
		{"header other value", "/", map[string]string{"X-Variant": "a"}, "rev-1"},
		{"header value is exact", "/", map[string]string{"X-Variant": "bb"}, "rev-1"},
		{"cookie", "/", map[string]string{"Cookie": "session=1; variant=b"}, "rev-2"},
		{"quoted cookie", "/", map[string]string{"Cookie": `variant="b"`}, "rev-2"},
		{"cookie other value", "/", map[string]string{"Cookie": "variant=a; x=b"}, "rev-1"},
		{"cookie named like the header", "/", map[string]string{"Cookie": "x-variant=b"}, "rev-1"},
		{"query", "/shop?page=2&variant=b", nil, "rev-2"},
		{"escaped query", "/shop?vari%61nt=b", nil, "rev-2"},
		{"query other value", "/shop?variant=c", nil, "rev-1"},
		{"query value elsewhere", "/shop?other=variant%3Db", nil, "rev-1"},
		{"header named like the query", "/", map[string]string{"Variant": "b"}, "rev-1"},
		{"nothing", "/", nil, "rev-1"},
	} {
		for range 20 { // weight 0: no chance in it
			req, _ := http.NewRequest(http.MethodGet, proxy.URL+c.path, nil)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			if got, resp := abGet(t, proxy.Client(), req); got != c.want {
				t.Fatalf("%s: served by %s, want %s", c.name, got, c.want)
			} else if resp.Header.Get("Set-Cookie") != "app=own" {
				t.Fatalf("%s: Set-Cookie %q, want only the app's own (match routing sets none)", c.name, resp.Header.Values("Set-Cookie"))
			}
		}
	}
}

// TestStickyClientsKeepTheirVariant: in a weighted A/B test, 1000 requests
// from 20 clients that keep their cookies never switch variant; clients
// are split between both, each given its variant in a cookie on its first
// request only.
func TestStickyClientsKeepTheirVariant(t *testing.T) {
	t.Parallel()
	rules, _ := providers.ParseMatch([]string{"header:X-Variant=b"})
	proxy := abProxy(t, 50, &providers.Routing{Match: rules, Sticky: true})
	variants := map[string]int{}
	for client := range 20 {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: proxy.Client().Transport}
		first := ""
		for i := range 50 {
			req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/", nil)
			got, resp := abGet(t, c, req)
			set := strings.Join(resp.Header.Values("Set-Cookie"), "; ")
			if i == 0 {
				first = got
				if !strings.Contains(set, variantCookie+"="+got) {
					t.Fatalf("client %d: first answer by %s set cookies %q, want %s=%s", client, got, set, variantCookie, got)
				}
				variants[got]++
				continue
			}
			if got != first {
				t.Fatalf("client %d switched from %s to %s at request %d", client, first, got, i+1)
			}
			if strings.Contains(set, variantCookie) {
				t.Fatalf("client %d: cookie set again at request %d: %q", client, i+1, set)
			}
		}
	}
	if variants["rev-1"] == 0 || variants["rev-2"] == 0 {
		t.Errorf("variants of 20 clients at 50%%: %v, want both", variants)
	}
	// A match rule still wins over a client's cookie.
	req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/", nil)
	req.Header.Set("X-Variant", "b")
	req.Header.Set("Cookie", variantCookie+"=rev-1")
	if got, _ := abGet(t, proxy.Client(), req); got != "rev-2" {
		t.Errorf("a matching request with the stable's cookie was served by %s, want rev-2", got)
	}
}

// TestStickyAssignmentFollowsTheWeight: clients without a cookie are
// assigned by weight.
func TestStickyAssignmentFollowsTheWeight(t *testing.T) {
	t.Parallel()
	rs := newRoutes(&providers.Routing{Sticky: true}, "rev-2", "rev-1")
	cand, stable := &backend{rev: "rev-2"}, &backend{rev: "rev-1"}
	tb := table{stable: one(stable), candidate: one(cand), weight: 20, routes: rs}
	n := 0
	for range 10000 {
		b, set := rs.choose(&tb, stdRequest{httptest.NewRequest(http.MethodGet, "/", nil)})
		if set == nil {
			t.Fatal("a client without a cookie was given none")
		}
		if b == cand {
			n++
		}
	}
	if n < 1700 || n > 2300 { // 20% of 10000, ±7.5 standard deviations
		t.Errorf("%d of 10000 new clients on the candidate at 20%%, want about 2000", n)
	}
}

// BenchmarkRouteWithRules is the cost of matching three rules for a
// request that matches none.
func BenchmarkRouteWithRules(b *testing.B) {
	var rt router
	rules, _ := providers.ParseMatch([]string{"header:X-Variant=b", "cookie:variant=b", "query:variant=b"})
	rt.set(table{stable: one(&backend{rev: "rev-1"}), candidate: one(&backend{rev: "rev-2"}),
		routes: newRoutes(&providers.Routing{Match: rules}, "rev-2", "rev-1")})
	req := httptest.NewRequest(http.MethodGet, "/shop?page=2&sort=asc", nil)
	req.Header.Set("Cookie", "session=abc; theme=dark")
	for b.Loop() {
		be, _ := rt.route(stdRequest{req})
		be.release()
	}
}

// TestRoutingWithRulesAllocatesNothing: with match rules set, routing a
// request that matches none (or one that matches, or a sticky client with
// its cookie) allocates nothing; only a new sticky client's first request
// does not come free, and its Set-Cookie value is built once per table.
func TestRoutingWithRulesAllocatesNothing(t *testing.T) {
	rules, _ := providers.ParseMatch([]string{"header:X-Variant=b", "cookie:variant=b", "query:variant=b"})
	var rt router
	rt.set(table{stable: one(&backend{rev: "rev-1"}), candidate: one(&backend{rev: "rev-2"}), weight: 50,
		routes: newRoutes(&providers.Routing{Match: rules, Sticky: true}, "rev-2", "rev-1")})
	for _, c := range []struct{ name, target, cookie string }{
		{"no match, sticky client", "/shop?page=2&sort=asc", "session=abc; " + variantCookie + "=rev-1"},
		{"query match", "/shop?page=2&variant=b", "session=abc"},
		{"cookie match", "/shop", "session=abc; variant=b"},
	} {
		req := httptest.NewRequest(http.MethodGet, c.target, nil)
		req.Header.Set("Cookie", c.cookie)
		allocs := testing.AllocsPerRun(1000, func() {
			b, _ := rt.route(stdRequest{req})
			b.release()
		})
		if allocs != 0 {
			t.Errorf("%s: routing allocates %.1f times, want 0", c.name, allocs)
		}
	}
}

// TestAgentRoutesByRequest: through the control API, a shift with match
// rules routes the cohort at 0%, the status and state.json report the
// routing, and the promotion ends it.
func TestAgentRoutesByRequest(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	a, p := startAgent(t, cfg)
	ctx := t.Context()
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", promote(ctx, p, 0))
	mustDeploy(t, p, appArtifact("v2", "v2", 0))
	rules, _ := providers.ParseMatch([]string{"header:X-Variant=b"})
	rt := &providers.Routing{Match: rules}
	must(t, "shift with rules", transition(ctx, p, providers.Transition{Action: providers.ActionShift, Routing: rt}, candidateOf))
	st, err := p.Status(ctx)
	if err != nil || !rt.Equal(st.Routing) || st.Weight != 0 {
		t.Fatalf("status routing %v weight %d (%v), want %v at 0%%", st.Routing, st.Weight, err, rt)
	}
	if saved, err := readState(cfg.StateDir); err != nil || !rt.Equal(saved.Routing) {
		t.Errorf("state.json routing %v (%v), want %v", saved.Routing, err, rt)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		req, _ := http.NewRequest(http.MethodGet, a.ProxyURL()+"/", nil)
		want := "v1"
		if i%2 == 0 {
			req.Header.Set("X-Variant", "b")
			want = "v2"
		}
		got, _ := abGet(t, c, req)
		if resp := got; !strings.Contains(resp, want) {
			t.Fatalf("request %d answered %q, want %s", i, resp, want)
		}
	}
	must(t, "promote v2", promote(ctx, p, 0))
	if st, err := p.Status(ctx); err != nil || st.Routing != nil {
		t.Errorf("after the promotion: routing %v (%v), want none", st.Routing, err)
	}
}
