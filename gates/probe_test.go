package gates_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/pipenet"
	"github.com/ramp-deploy/ramp/providers"
)

// probeServer starts handler on an in-memory httptest server; it must be
// called inside a synctest bubble. The server's URL is http://candidate.test.
func probeServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	_ = srv.Listener.Close() // the loopback listener is not used
	l := pipenet.Listen("candidate.test")
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return srv, &http.Client{Transport: tr}
}

// answers is a handler whose nth request (from 1) gets status(n) after
// delay(n).
type answers struct {
	status func(n int) int
	delay  func(n int) time.Duration

	mu    sync.Mutex
	n     int
	paths []string
}

func (a *answers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.n++
	n := a.n
	a.paths = append(a.paths, r.URL.Path+" "+r.UserAgent())
	a.mu.Unlock()
	if a.delay != nil {
		select {
		case <-time.After(a.delay(n)):
		case <-r.Context().Done(): // the prober gave up
			return
		}
	}
	status := http.StatusOK
	if a.status != nil {
		status = a.status(n)
	}
	w.WriteHeader(status)
}

func every(k, status int) func(int) int {
	return func(n int) int {
		if n%k == 0 {
			return status
		}
		return http.StatusOK
	}
}

const probeQuery = "GET http://candidate.test/healthz expect 200 within 100ms"

var (
	probeGate = gates.ProbeGate{Path: "/healthz", Count: 10, ExpectStatus: 200, MaxLatency: 100 * time.Millisecond, SuccessRatio: 90}
	probeBase = gates.Result{Gate: "probe", Unit: "%", Threshold: ">= 90", Query: probeQuery, Window: 30 * time.Second, Samples: 10}
)

func withResult(r gates.Result, f func(*gates.Result)) gates.Result { f(&r); return r }

type probeCase struct {
	name      string
	gate      gates.ProbeGate
	candidate string // the candidate's URL
	status    func(int) int
	delay     func(int) time.Duration
	down      bool // the server is closed before the check
	want      gates.Result
	wantPaths []string // the first request's path and user agent
}

var probeCases = []probeCase{{
	name: "all good", gate: probeGate, candidate: "http://candidate.test",
	want:      withResult(probeBase, func(r *gates.Result) { r.Outcome, r.Value = gates.Successful, 100 }),
	wantPaths: []string{"/healthz ramp-probe"},
}, {
	name: "some 500s within the ratio", gate: probeGate, candidate: "http://candidate.test", status: every(10, 500),
	want: withResult(probeBase, func(r *gates.Result) { r.Outcome, r.Value = gates.Successful, 90 }),
}, {
	name: "some 500s under the ratio", gate: probeGate, candidate: "http://candidate.test", status: every(3, 500),
	want: withResult(probeBase, func(r *gates.Result) {
		r.Outcome, r.Value, r.Message = gates.Failed, 70, "3 of 10 probes failed; last: status 500, want 200"
	}),
}, {
	name: "slow answers over max latency", gate: probeGate, candidate: "http://candidate.test",
	delay: func(n int) time.Duration { return time.Duration(n%2) * 150 * time.Millisecond },
	want: withResult(probeBase, func(r *gates.Result) {
		r.Outcome, r.Value, r.Message = gates.Failed, 50, "5 of 10 probes failed; last: answered in 150ms, over 100ms"
	}),
}, {
	name: "a hung answer times out", gate: probeGate, candidate: "http://candidate.test",
	delay: func(n int) time.Duration { return time.Duration(n/10) * time.Minute },
	want: withResult(probeBase, func(r *gates.Result) {
		r.Outcome, r.Value = gates.Successful, 90 // one timeout in ten is within the ratio
	}),
}, {
	name: "unreachable", gate: probeGate, candidate: "http://candidate.test", down: true,
	want: withResult(probeBase, func(r *gates.Result) {
		r.Outcome, r.Value = gates.Failed, 0
		r.Message = `10 of 10 probes failed; last: Get "http://candidate.test/healthz": connection refused`
	}),
}, {
	name: "no URL for the candidate", gate: probeGate,
	want: gates.Result{Gate: "probe", Outcome: gates.Error, Unit: "%", Threshold: ">= 90", Window: 30 * time.Second,
		Message: `revision "v2" has no URL of its own; set probe-url`},
}, {
	name: "probe-url wins over the candidate's URL",
	gate: withGate(probeGate, func(g *gates.ProbeGate) { g.URL, g.Count = "http://candidate.test/ready?full=1", 1 }),
	want: withResult(probeBase, func(r *gates.Result) {
		r.Outcome, r.Value, r.Samples = gates.Successful, 100, 1
		r.Query = "GET http://candidate.test/ready?full=1 expect 200 within 100ms"
	}),
	wantPaths: []string{"/ready ramp-probe"},
}, {
	name:      "path joins the candidate's path",
	gate:      withGate(probeGate, func(g *gates.ProbeGate) { g.Path, g.Count = "/healthz/", 1 }),
	candidate: "http://candidate.test/base",
	want: withResult(probeBase, func(r *gates.Result) {
		r.Outcome, r.Value, r.Samples = gates.Successful, 100, 1
		r.Query = "GET http://candidate.test/base/healthz/ expect 200 within 100ms"
	}),
	wantPaths: []string{"/base/healthz/ ramp-probe"},
}}

func TestProbeGateCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range probeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := &answers{status: tc.status, delay: tc.delay}
				srv, client := probeServer(t, h.ServeHTTP)
				if tc.down {
					srv.Close()
				}
				g := tc.gate
				g.Client = client
				target := gates.Target{Candidate: providers.Revision{ID: "v2", URL: tc.candidate}, Weight: 10, Window: 30 * time.Second}
				if diff := cmp.Diff(tc.want, g.Check(t.Context(), target)); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				h.mu.Lock()
				defer h.mu.Unlock()
				if tc.wantPaths != nil && (len(h.paths) == 0 || h.paths[0] != tc.wantPaths[0]) {
					t.Errorf("requests %q, want the first to be %q", h.paths, tc.wantPaths[0])
				}
				if tc.want.Outcome == gates.Error && len(h.paths) > 0 {
					t.Errorf("an Error outcome sent %d requests", len(h.paths))
				}
			})
		})
	}
}

func withGate(g gates.ProbeGate, f func(*gates.ProbeGate)) gates.ProbeGate { f(&g); return g }

func TestProbeGateCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, client := probeServer(t, (&answers{}).ServeHTTP)
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(errors.New("SIGTERM"))
		g := gates.ProbeGate{Client: client, URL: "http://candidate.test/", Count: 5, ExpectStatus: 200, SuccessRatio: 100}
		got := g.Check(ctx, gates.Target{Candidate: providers.Revision{ID: "v2"}})
		want := gates.Result{Gate: "probe", Outcome: gates.Error, Unit: "%", Threshold: ">= 100",
			Query: "GET http://candidate.test/ expect 200 within 0s", Message: "probe interrupted: SIGTERM"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
}

// TestProbeGateLoopback runs the probe over a real loopback connection, the
// way it runs in production; it checks nothing time-dependent. MaxLatency is
// a minute so that each probe's timeout (twice that, at least 5s) bounds a
// hang only, not a slow answer on a loaded machine.
func TestProbeGateLoopback(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(&answers{status: every(2, http.StatusServiceUnavailable)})
	t.Cleanup(up.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cases := []struct {
		name        string
		url         string
		wantOutcome gates.Outcome
		wantValue   float64
		wantMessage string
	}{
		{"half the answers are 503", up.URL, gates.Failed, 50, "2 of 4 probes failed; last: status 503, want 200"},
		{"a closed server is unreachable", down.URL, gates.Failed, 0, "4 of 4 probes failed; last: Get \"" + down.URL + "/healthz\": dial tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := gates.ProbeGate{Client: up.Client(), Path: "healthz", Count: 4, ExpectStatus: 200, SuccessRatio: 75, MaxLatency: time.Minute}
			got := g.Check(t.Context(), gates.Target{Candidate: providers.Revision{ID: "v2", URL: tc.url}})
			if got.Outcome != tc.wantOutcome || got.Value != tc.wantValue || !strings.HasPrefix(got.Message, tc.wantMessage) {
				t.Errorf("Check = %s %v %q, want %s %v %q…", got.Outcome, got.Value, got.Message, tc.wantOutcome, tc.wantValue, tc.wantMessage)
			}
		})
	}
}
