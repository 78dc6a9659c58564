package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

func count(n int64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: n}}
}

// noon is on the minute; the seeded traffic ends there.
var noon = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// at is noon plus d.
func at(d time.Duration) time.Time { return noon.Add(d) }

// window is the window (noon+from, noon+to].
func window(from, to time.Duration) gates.Window { return gates.Window{Start: at(from), End: at(to)} }

// ms repeats a latency n times.
func ms(n int, latency float64) []float64 { return slices.Repeat([]float64{latency}, n) }

// noonEnv is a testEnv whose Cloud Monitoring clock stands at noon plus an
// hour, so that every point seeded around noon is ingested.
func noonEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	e.mon.StopClock(at(time.Hour))
	return e
}

// seedTraffic gives the candidate api-v2 and the stable seedRevision three
// minutes of traffic up to noon, and traffic that must never count: another
// service's revision of the same name, another revision of the service, and
// the same service and revisions in another project of the metrics scope.
func seedTraffic(f *fake.Monitoring) {
	f.Serve(resource(candidateRevision), "2xx", at(-2*time.Minute), ms(10, 80)...)
	f.Serve(resource(candidateRevision), "5xx", at(-time.Minute), ms(4, 900)...)
	f.Serve(resource(candidateRevision), "4xx", at(-time.Minute), ms(6, 20)...)
	f.Serve(resource(candidateRevision), "2xx", at(0), ms(20, 80)...)
	f.Serve(resource(seedRevision), "2xx", at(-time.Minute), ms(100, 50)...)
	f.Serve(resource(seedRevision), "5xx", at(0), ms(1, 50)...)
	f.Add(fake.Resource{Project: testProject, Location: testRegion, Service: "web", Revision: candidateRevision}, metricRequestCount, "5xx", at(0), count(900))
	f.Add(resource("api-v0"), metricRequestCount, "5xx", at(0), count(900))
	f.Add(fake.Resource{Project: "other", Location: testRegion, Service: testService, Revision: candidateRevision}, metricRequestCount, "5xx", at(0), count(900))
	f.Add(fake.Resource{Project: "other", Location: testRegion, Service: testService, Revision: seedRevision}, metricRequestLatencies, "5xx", at(0), fake.Distribution(fake.CloudRunLayout(), ms(900, 5)...))
}

// tally is what a test checks of one version's counts.
type tally struct{ Requests, Errors, Latencies int64 }

func tallyOf(c gates.Counts) tally { return tally{c.Requests, c.Errors, c.Latency.Total} }

func TestObserve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		seed            bool
		stable          string
		window          gates.Window
		candidate, stab tally
		calls           int
	}{
		{"both versions", true, seedRevision, window(-5*time.Minute, 0), tally{40, 4, 40}, tally{101, 1, 101}, 2},
		{"no stable", true, "", window(-5*time.Minute, 0), tally{40, 4, 40}, tally{}, 2},
		{"no traffic", false, seedRevision, window(-5*time.Minute, 0), tally{}, tally{}, 2},
		{"a point at the end counts, one at the start does not", true, seedRevision, window(-time.Minute, 0), tally{20, 0, 20}, tally{1, 1, 1}, 2},
		{"a window off the minute counts the minutes ending in it", true, seedRevision, window(-90*time.Second, 30*time.Second), tally{30, 4, 30}, tally{101, 1, 101}, 2},
		{"a short window holding a minute's end counts that minute", true, seedRevision, window(-10*time.Second, 20*time.Second), tally{20, 0, 20}, tally{1, 1, 1}, 2},
		{"a short window holding no minute's end makes no call", true, seedRevision, window(10*time.Second, 40*time.Second), tally{}, tally{}, 0},
		{"a short window ending just before the minute", true, seedRevision, window(-30*time.Second, -time.Nanosecond), tally{}, tally{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := noonEnv(t)
			if tc.seed {
				seedTraffic(e.mon)
			}
			q := gates.CountQuery{Candidate: candidateRevision, Stable: tc.stable, Window: tc.window}
			got, err := e.provider(t).Observe(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Window != tc.window {
				t.Errorf("Observe window = %v, want %v", got.Window, tc.window)
			}
			if diff := cmp.Diff([2]tally{tc.candidate, tc.stab}, [2]tally{tallyOf(got.Candidate), tallyOf(got.Stable)}); diff != "" {
				t.Errorf("Observe [candidate, stable] (-want +got):\n%s", diff)
			}
			calls := e.mon.Received()
			if len(calls) != tc.calls {
				t.Fatalf("Observe made %d calls, want %d", len(calls), tc.calls)
			}
			for _, req := range calls {
				checkSeriesRequest(t, req, q)
			}
		})
	}
}

// checkSeriesRequest checks that req asks for q's revisions over whole
// minutes.
func checkSeriesRequest(t *testing.T, req *monitoringpb.ListTimeSeriesRequest, q gates.CountQuery) {
	t.Helper()
	revs := `resource.labels.revision_name=one_of("api-v2", "api-00001-x01")`
	if q.Stable == "" {
		revs = `resource.labels.revision_name="api-v2"`
	}
	for _, s := range []string{`resource.labels.project_id="p"`, `resource.labels.service_name="api"`, `resource.labels.location="europe-west1"`, revs} {
		if !strings.Contains(req.GetFilter(), s) {
			t.Errorf("filter %q lacks %s", req.GetFilter(), s)
		}
	}
	start, end := req.GetInterval().GetStartTime().AsTime(), req.GetInterval().GetEndTime().AsTime()
	if !start.Equal(start.Truncate(time.Minute)) || !end.Equal(end.Truncate(time.Minute)) {
		t.Errorf("interval %v to %v is not on whole minutes", start, end)
	}
	if p := req.GetAggregation().GetAlignmentPeriod().AsDuration(); p != time.Minute {
		t.Errorf("alignment period %v, want 1m", p)
	}
}

// TestObserveConsecutiveWindows checks that windows of any length, one
// after the other, count every request exactly once: their sum is what one
// window over the same time counts, and what was served.
func TestObserveConsecutiveWindows(t *testing.T) {
	t.Parallel()
	e := noonEnv(t)
	var served tally
	for i := range 30 { // Cloud Run's points end at any second, not on the minute
		end := at(time.Duration(i-30)*time.Minute + 17*time.Second)
		e.mon.Serve(resource(candidateRevision), "2xx", end, ms(i+1, float64(10*i+5))...)
		e.mon.Serve(resource(candidateRevision), "5xx", end, ms(i%3, 700)...)
		e.mon.Serve(resource(seedRevision), "2xx", end, ms(2*i, 40)...)
		if i > 0 && i < 29 { // the first and last minutes fall outside the windows
			served = tally{served.Requests + int64(i+1+i%3), served.Errors + int64(i%3), served.Latencies + int64(i+1+i%3)}
		}
	}
	p := e.provider(t)
	lengths := []time.Duration{30 * time.Second, 45 * time.Second, 10 * time.Second, 2 * time.Minute, 90 * time.Second, time.Minute}
	var sum gates.Observation
	start := at(-29 * time.Minute)
	for i := 0; start.Before(at(-time.Minute)); i++ {
		end := start.Add(lengths[i%len(lengths)])
		if end.After(at(-time.Minute)) {
			end = at(-time.Minute)
		}
		o, err := p.Observe(t.Context(), gates.CountQuery{Candidate: candidateRevision, Stable: seedRevision, Window: gates.Window{Start: start, End: end}})
		if err != nil {
			t.Fatal(err)
		}
		sum.Candidate, sum.Stable = addCounts(t, sum.Candidate, o.Candidate), addCounts(t, sum.Stable, o.Stable)
		start = end
	}
	whole, err := p.Observe(t.Context(), gates.CountQuery{Candidate: candidateRevision, Stable: seedRevision, Window: window(-29*time.Minute, -time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(whole, sum, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Window" }, cmp.Ignore())); diff != "" {
		t.Errorf("consecutive windows (-one window +their sum):\n%s", diff)
	}
	if got := tallyOf(whole.Candidate); got != served {
		t.Errorf("one window counted %+v of the candidate, want %+v served", got, served)
	}
}

func addCounts(t *testing.T, a, b gates.Counts) gates.Counts {
	t.Helper()
	h, ok := a.Latency.Add(b.Latency)
	if !ok {
		t.Fatalf("windows have different latency bounds")
	}
	return gates.Counts{Requests: a.Requests + b.Requests, Errors: a.Errors + b.Errors, Latency: h}
}

// TestObserveLatency checks the histogram Observe builds from Cloud Run's
// exponential layout, summed over points and revisions' response classes.
func TestObserveLatency(t *testing.T) {
	t.Parallel()
	e := noonEnv(t)
	seedTraffic(e.mon)
	o, err := e.provider(t).Observe(t.Context(), gates.CountQuery{Candidate: candidateRevision, Stable: seedRevision, Window: window(-5*time.Minute, 0)})
	if err != nil {
		t.Fatal(err)
	}
	h := o.Candidate.Latency
	if len(h.Bounds) != 65 || h.Bounds[0] != 1 || !near(h.Bounds[64], 1<<32) {
		t.Fatalf("bounds %v…, want 65 from 1ms to 2^32ms", h.Bounds[:min(3, len(h.Bounds))])
	}
	// 6 requests at 20ms, 30 at 80ms, 4 at 900ms; the bounds grow by √2 from 1ms.
	for _, c := range []struct {
		bound  int
		slower int64
	}{{8, 40}, {9, 34}, {13, 4}, {20, 0}} {
		if got := h.Slower(h.Bounds[c.bound]); got != c.slower {
			t.Errorf("Slower(%vms) = %d, want %d", h.Bounds[c.bound], got, c.slower)
		}
	}
	if q, ok := o.Stable.Latency.Quantile(0.5); !ok || !near(q, 64) {
		t.Errorf("stable median bound %v, %v, want 64ms", q, ok)
	}
}

// near reports whether a is b but for rounding.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }

func TestObserveRejects(t *testing.T) {
	t.Parallel()
	w := window(-time.Minute, 0)
	cases := []struct {
		name string
		q    gates.CountQuery
	}{
		{"no candidate", gates.CountQuery{Stable: seedRevision, Window: w}},
		{"the same revision twice", gates.CountQuery{Candidate: candidateRevision, Stable: candidateRevision, Window: w}},
		{"an empty window", gates.CountQuery{Candidate: candidateRevision, Window: window(0, 0)}},
		{"a window ending before it starts", gates.CountQuery{Candidate: candidateRevision, Window: window(0, -time.Minute)}},
		{"no start", gates.CountQuery{Candidate: candidateRevision, Window: gates.Window{End: noon}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := noonEnv(t)
			if _, err := e.provider(t).Observe(t.Context(), tc.q); !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("Observe error %v, want ErrInvalid", err)
			}
			if n := len(e.mon.Received()); n != 0 {
				t.Errorf("Observe made %d calls, want none", n)
			}
		})
	}
}

func TestObserveErrors(t *testing.T) {
	t.Parallel()
	q := gates.CountQuery{Candidate: candidateRevision, Stable: seedRevision, Window: window(-time.Minute, 0)}
	const action = `cloudrun: observe revisions "api-v2" and "api-00001-x01" of service "api"`
	cases := []struct {
		name string
		fail func(call int) codes.Code
		want error // nil: Observe succeeds
	}{
		{"permission denied", func(int) codes.Code { return codes.PermissionDenied }, providers.ErrPermission},
		{"unauthenticated", func(int) codes.Code { return codes.Unauthenticated }, providers.ErrPermission},
		{"latency permission denied", func(call int) codes.Code { return []codes.Code{codes.OK, codes.PermissionDenied}[min(call, 1)] }, providers.ErrPermission},
		{"unavailable until the call times out", func(int) codes.Code { return codes.Unavailable }, context.DeadlineExceeded},
		{"unavailable once is retried", func(call int) codes.Code { return []codes.Code{codes.Unavailable, codes.OK}[min(call, 1)] }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				e.mon.StopClock(at(time.Hour))
				seedTraffic(e.mon)
				e.mon.FailWith(tc.fail)
				o, err := e.provider(t).Observe(t.Context(), q)
				switch {
				case tc.want == nil && err != nil:
					t.Fatalf("Observe: %v", err)
				case tc.want == nil && o.Candidate.Requests != 20:
					t.Errorf("Observe counted %d candidate requests after a retry, want 20", o.Candidate.Requests)
				case tc.want != nil && (!errors.Is(err, tc.want) || !strings.HasPrefix(fmt.Sprint(err), action)):
					t.Errorf("Observe error %v, want %v after %q", err, tc.want, action)
				}
			})
		})
	}
}

// TestWindowRule checks the rule on points as any server may return them:
// a point counts in the window holding its end time, (Start, End].
func TestWindowRule(t *testing.T) {
	t.Parallel()
	w := window(-2*time.Minute, 0)
	point := func(end time.Time, v *monitoringpb.TypedValue) *monitoringpb.Point {
		return &monitoringpb.Point{Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(end)}, Value: v}
	}
	series := func(rev, class string, v func(int64) *monitoringpb.TypedValue) *monitoringpb.TimeSeries {
		return &monitoringpb.TimeSeries{
			Metric:   &metricpb.Metric{Labels: map[string]string{"response_code_class": class}},
			Resource: &monitoredres.MonitoredResource{Labels: map[string]string{"revision_name": rev}},
			Points: []*monitoringpb.Point{
				point(at(-3*time.Minute), v(1000)), point(at(-2*time.Minute), v(100)), // before and at Start
				point(at(-time.Minute), v(10)), point(at(0), v(1)), // inside and at End
				point(at(time.Nanosecond), v(10000)), // after End
			},
		}
	}
	latencies := func(n int64) *monitoringpb.TypedValue {
		return fake.Distribution(fake.CloudRunLayout(), ms(int(n), 3)...)
	}
	byRev := map[string]*gates.Counts{candidateRevision: {}}
	tallyRequests(byRev, []*monitoringpb.TimeSeries{series(candidateRevision, "5xx", count), series("api-v0", "2xx", count)}, w)
	if err := tallyLatency(byRev, []*monitoringpb.TimeSeries{series(candidateRevision, "", latencies)}, w); err != nil {
		t.Fatal(err)
	}
	if got, want := tallyOf(*byRev[candidateRevision]), (tally{11, 11, 11}); got != want {
		t.Errorf("counted %+v, want %+v", got, want)
	}
}
