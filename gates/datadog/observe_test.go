package datadog_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/datadog"
)

// TestObserveConsecutiveWindows: windows that share their bounds, at any
// second, count every minute once; the stable's counts are its own.
func TestObserveConsecutiveWindows(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(apiKey, appKey)
		cfg, _ := serve(t, f)
		src := newSource(t, cfg)
		t0 := time.Now()
		traffic(f, t0, "v2", 0, 10, 10, 1)
		traffic(f, t0, "v1", 0, 10, 30, 0)
		time.Sleep(12 * time.Minute)
		bounds := []time.Duration{0, 150 * time.Second, 250 * time.Second, 7 * time.Minute, 7*time.Minute + 20*time.Second, 10 * time.Minute}
		minutes := []int64{2, 2, 3, 0, 3} // minutes ending in each window
		var total gates.Observation
		for i := range minutes {
			w := gates.Window{Start: t0.Add(bounds[i]), End: t0.Add(bounds[i+1])}
			o, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Stable: "v1", Window: w})
			if err != nil {
				t.Fatalf("window %d: %v", i, err)
			}
			want := gates.Observation{Window: w, Candidate: gates.Counts{Requests: 10 * minutes[i], Errors: minutes[i]},
				Stable: gates.Counts{Requests: 30 * minutes[i]}}
			if diff := cmp.Diff(want, o); diff != "" {
				t.Errorf("window %d (-want +got):\n%s", i, diff)
			}
			total.Candidate.Requests += o.Candidate.Requests
			total.Stable.Requests += o.Stable.Requests
		}
		if total.Candidate.Requests != 100 || total.Stable.Requests != 300 {
			t.Errorf("over all windows: candidate %d, stable %d requests; want 100 and 300", total.Candidate.Requests, total.Stable.Requests)
		}
		asked := f.Received()
		if len(asked) != 4*4 { // four windows hold a minute's end, four queries each
			t.Errorf("the fake got %d queries, want 16", len(asked))
		}
		if q := asked[0]; q.Interval != time.Minute || !strings.Contains(q.Query, "version:v2") || q.Query != "sum:trace.http.request.hits{service:shop,version:v2}.as_count()" {
			t.Errorf("first query = %+v", q)
		}
	})
}

// TestObserveDelayed: points not yet ingested are not counted; the window
// read once the delay passed counts them, which is why the analysis reads
// windows that ended MetricsDelay ago.
func TestObserveDelayed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(apiKey, appKey)
		f.SetLag(2 * time.Minute)
		cfg, _ := serve(t, f)
		src := newSource(t, cfg)
		if src.MetricsDelay() != 2*time.Minute {
			t.Errorf("MetricsDelay = %s, want 2m", src.MetricsDelay())
		}
		t0 := time.Now()
		traffic(f, t0, "v2", 0, 10, 10, 0)
		time.Sleep(10 * time.Minute)
		w := gates.Window{Start: t0.Add(5 * time.Minute), End: t0.Add(10 * time.Minute)}
		q := gates.CountQuery{Candidate: "v2", Window: w}
		early, err := src.Observe(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		late, err := src.Observe(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if early.Candidate.Requests != 30 || late.Candidate.Requests != 50 {
			t.Errorf("requests before and after ingestion = %d, %d; want 30, 50", early.Candidate.Requests, late.Candidate.Requests)
		}
	})
}

// TestObserveNoData: a version without series served nothing, but requests
// without an errors series are no data, not zero errors.
func TestObserveNoData(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		feed     func(f *fake.Fake, t0 time.Time)
		want     gates.Counts
		wantErrs []string
	}{
		{"no series at all", func(*fake.Fake, time.Time) {}, gates.Counts{}, nil},
		{"requests and zero errors", func(f *fake.Fake, t0 time.Time) { traffic(f, t0, "v2", 0, 5, 7, 0) }, gates.Counts{Requests: 35}, nil},
		{"requests and no errors series", func(f *fake.Fake, t0 time.Time) {
			f.Add("trace.http.request.hits", []string{"service:shop", "version:v2"}, t0.Add(time.Minute), 9)
		}, gates.Counts{}, []string{"version v2", `errors query "sum:trace.http.request.errors{service:shop,version:v2}.as_count()" found no series`, "9 requests", "no data is not zero errors", "api.datadoghq.com"}},
		{"errors of another version only", func(f *fake.Fake, t0 time.Time) {
			f.Add("trace.http.request.hits", []string{"service:shop", "version:v2"}, t0.Add(time.Minute), 9)
			f.Add("trace.http.request.errors", []string{"service:shop", "version:v1"}, t0.Add(time.Minute), 3)
		}, gates.Counts{}, []string{"no data is not zero errors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(apiKey, appKey)
				cfg, _ := serve(t, f)
				src := newSource(t, cfg)
				t0 := time.Now()
				c.feed(f, t0)
				time.Sleep(10 * time.Minute)
				o, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Window: gates.Window{Start: t0, End: t0.Add(6 * time.Minute)}})
				if c.wantErrs == nil {
					if err != nil || !cmp.Equal(o.Candidate, c.want) {
						t.Errorf("Observe = %+v, %v; want %+v", o.Candidate, err, c.want)
					}
					return
				}
				if err == nil {
					t.Fatalf("Observe = %+v, want an error", o.Candidate)
				}
				for _, s := range c.wantErrs {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
			})
		})
	}
}

// TestObserveShortWindow: a window holding no minute's end makes no call;
// a bad query is refused before any call.
func TestObserveShortWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(apiKey, appKey)
		cfg, _ := serve(t, f)
		src := newSource(t, cfg)
		t0 := time.Now()
		o, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Window: gates.Window{Start: t0.Add(10 * time.Second), End: t0.Add(50 * time.Second)}})
		if err != nil || !cmp.Equal(o.Candidate, gates.Counts{}) {
			t.Errorf("short window: %+v, %v", o, err)
		}
		if _, err := src.Observe(t.Context(), gates.CountQuery{Candidate: "v2", Stable: "v2", Window: gates.Window{Start: t0, End: t0.Add(time.Hour)}}); err == nil {
			t.Error("same candidate and stable: no error")
		}
		if n := len(f.Received()); n != 0 {
			t.Errorf("the fake got %d queries, want none", n)
		}
	})
}
