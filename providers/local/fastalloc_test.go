package local

import (
	"net"
	"net/url"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestFastPathAllocations: a request proxied over HTTP/1.1 costs the
// process, once warm, 4 heap allocations more than the same request sent
// straight to the revision, all four fasthttp's streamed response body
// (its reader and three closures; net/http's proxy made about 90): the
// frontend's server and ramp's routing, metrics and body watch allocate
// nothing per request. (AllocsPerRun counts every goroutine's
// allocations; both runs count the client's and the revision's.)
func TestFastPathAllocations(t *testing.T) {
	const streamAllocs = 4
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello from v1") }}
	go app.Serve(ln)
	defer app.Shutdown()
	target, _ := url.Parse("http://" + ln.Addr().String())
	var rt router
	rt.set(table{stable: one(newBackend("v1", target, new(revMetrics), nil, 0))})
	base, _ := serveFrontend(t, &rt, nil)
	front, _ := url.Parse(base)

	perRequest := func(addr string) float64 {
		c := &fasthttp.HostClient{Addr: addr}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addr + "/")
		get := func() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("GET %s: %d %v", addr, resp.StatusCode(), err)
			}
		}
		for range 200 {
			get()
		}
		return testing.AllocsPerRun(2000, get)
	}
	direct := perRequest(ln.Addr().String())
	proxied := perRequest(front.Host)
	t.Logf("heap allocations per request: direct %.2f, through the proxy %.2f", direct, proxied)
	limit := float64(streamAllocs)
	if raceEnabled {
		// sync.Pool drops a share of what the request's pools get back
		// (fasthttp's buffers, the response, the body watch): still far
		// below net/http's proxy, about 90.
		limit = 16
	}
	if proxied-direct > limit {
		t.Errorf("the proxy adds %.2f allocations per request, want at most %.0f (fasthttp's streamed body; race detector on: %v)", proxied-direct, limit, raceEnabled)
	}
}
