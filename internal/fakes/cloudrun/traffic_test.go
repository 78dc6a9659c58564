package cloudrun

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	webName = "projects/p/locations/europe-west1/services/web"
	webHost = "web-abc123-uc.a.run.app"
)

// canary is a Server whose service web runs a healthy revision with 90%
// of the traffic, tagged stable, and web-v2, a failing one, with 10%,
// tagged candidate; its points are visible at once.
func canary(t *testing.T) *Server {
	t.Helper()
	s := New(WithLag(0))
	s.Admin.Seed(webName, "europe-docker.pkg.dev/p/web/web:v1")
	stable := s.Admin.Service(webName).GetTrafficStatuses()[0].GetRevision()
	svc := &runpb.Service{Name: webName,
		Template: &runpb.RevisionTemplate{Revision: "web-v2", Containers: []*runpb.Container{{Image: "europe-docker.pkg.dev/p/web/web:failing"}}},
		Traffic:  []*runpb.TrafficTarget{{Revision: stable, Percent: 90, Tag: "stable"}, {Revision: "web-v2", Percent: 10, Tag: "candidate"}}}
	_, err := s.Admin.UpdateService(t.Context(), &runpb.UpdateServiceRequest{Service: svc,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"template", "traffic"}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// requests reads request_count of web over (from, to] from the fake, as
// the provider asks for it, by revision and response code class.
func requests(t *testing.T, m *Monitoring, from, to time.Time) map[string]int64 {
	t.Helper()
	resp, err := m.ListTimeSeries(t.Context(), &monitoringpb.ListTimeSeriesRequest{
		Name:     "projects/p",
		Filter:   `metric.type="` + MetricRequestCount + `" AND resource.labels.service_name="web"`,
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)},
		Aggregation: &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM,
			GroupByFields:      []string{"resource.labels.revision_name", "metric.labels.response_code_class"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, ts := range resp.GetTimeSeries() {
		for _, pt := range ts.GetPoints() {
			out[ts.GetResource().GetLabels()["revision_name"]+" "+ts.GetMetric().GetLabels()["response_code_class"]] += pt.GetValue().GetInt64Value()
		}
	}
	return out
}

// TestLoadFollowsTheSplit: the synthetic load reaches each revision as
// the traffic says, and the failing one answers 5xx.
func TestLoadFollowsTheSplit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := canary(t)
		start := time.Now() // on the minute in a bubble
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); s.Load(ctx, 20) }()
		time.Sleep(2*time.Minute + loadTick/2)
		cancel()
		<-done
		got := requests(t, s.Monitoring, start, start.Add(2*time.Minute))
		stable := s.Admin.Service(webName).GetTrafficStatuses()[0].GetRevision()
		for key, want := range map[string]int64{stable + " 2xx": 2160, "web-v2 5xx": 240} {
			if n := got[key]; n < want-1 || n > want {
				t.Errorf("%s: %d requests, want %d (of %v)", key, n, want, got)
			}
		}
		if len(got) != 2 {
			t.Errorf("requests %v, want two series", got)
		}
	})
}

// TestFrontend: the service URL's host reaches the split, a tag URL's host
// its revision, another host nothing; every answer is counted.
func TestFrontend(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := canary(t)
		start := time.Now()
		time.Sleep(time.Second) // inside the minute ending at start+1m
		h := s.Frontend()
		get := func(host string) (int, string) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "http://"+host+":8081/", nil)
			h.ServeHTTP(rec, req)
			return rec.Code, rec.Body.String()
		}
		for range 5 {
			if code, body := get("candidate---" + webHost); code != http.StatusInternalServerError || !strings.Contains(body, "revision web-v2") {
				t.Errorf("candidate tag URL: %d %q, want 500 from web-v2", code, body)
			}
		}
		var ok, failed int
		for range 200 {
			switch code, _ := get(webHost); code {
			case http.StatusOK:
				ok++
			case http.StatusInternalServerError:
				failed++
			}
		}
		if ok+failed != 200 || ok < 150 || failed == 0 {
			t.Errorf("service URL: %d answered 200 and %d 500 of 200, want about 180 and 20", ok, failed)
		}
		if code, _ := get("api-abc123-uc.a.run.app"); code != http.StatusNotFound {
			t.Errorf("unknown host: %d, want 404", code)
		}
		time.Sleep(time.Minute)
		got := requests(t, s.Monitoring, start, start.Add(time.Minute))
		if got["web-v2 5xx"] != int64(5+failed) {
			t.Errorf("web-v2 counted %v, want %d 5xx", got, 5+failed)
		}
	})
}

// TestRecordHidesTheMinuteUntilIngested: requests recorded in a minute
// land in the point ending at the minute's end, visible lag after it.
func TestRecordHidesTheMinuteUntilIngested(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitoring(30 * time.Second)
		start := time.Now()
		r := Resource{Project: "p", Location: "europe-west1", Service: "web", Revision: "web-v1"}
		time.Sleep(10 * time.Second)
		m.Record(r, "2xx", m.Now(), 3, 40)
		time.Sleep(50 * time.Second) // at the minute's end: still inside it
		m.Record(r, "2xx", m.Now(), 4, 40)
		time.Sleep(29 * time.Second)
		if got := requests(t, m, start, start.Add(time.Hour)); len(got) != 0 {
			t.Errorf("before the lag: %v, want nothing", got)
		}
		time.Sleep(time.Second)
		if got := requests(t, m, start, start.Add(time.Hour)); got["web-v1 2xx"] != 7 {
			t.Errorf("after the lag: %v, want the 7 requests", got)
		}
	})
}

func TestListenLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:0": true, "localhost:0": true,
		"0.0.0.0:0": false, ":0": false, "192.0.2.1:0": false, "127.0.0.1": false} {
		if err := CheckLoopback(addr); (err == nil) != ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok: %t", addr, err, ok)
		}
	}
	if _, err := ListenLoopback("0.0.0.0:0"); err == nil {
		t.Error("ListenLoopback(0.0.0.0:0) listened")
	}
}
