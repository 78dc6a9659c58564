package datadog_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/datadog"
)

// TestValue: a custom check's query is one point over the last bucket of
// the window's length; no series or no point is no data, never a zero.
func TestValue(t *testing.T) {
	t.Parallel()
	const errs = "sum:trace.http.request.errors{service:shop,version:v2}.as_count()"
	cases := []struct {
		name       string
		query      string
		start, end time.Duration // the window, after t0
		want       float64
		wantOK     bool
		wantErr    string
		wantWindow string
	}{
		{"one minute", errs, 3*time.Minute + 20*time.Second, 4*time.Minute + 20*time.Second, 2, true, "", "60"},
		{"five minutes", errs, 0, 5 * time.Minute, 10, true, "", "300"},
		{"seven minutes read as six", errs, 3 * time.Minute, 10 * time.Minute, 12, true, "", "360"},
		{"an average", "avg:trace.http.request.hits{service:shop,version:v2}", 0, 5 * time.Minute, 10, true, "", "300"},
		{"no series", "sum:trace.http.request.errors{service:shop,version:v9}.as_count()", 0, 5 * time.Minute, 0, false, "", "300"},
		{"no point in the bucket", errs, 10 * time.Minute, 12 * time.Minute, 0, false, "", "120"},
		{"two series", "sum:trace.http.request.hits{service:shop} by {version}.as_count()", 0, 5 * time.Minute, 0, false,
			`query "sum:trace.http.request.hits{service:shop} by {version}.as_count()": returned 2 series`, "300"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(apiKey, appKey)
				cfg, _ := serve(t, f)
				src := newSource(t, cfg)
				t0 := time.Now()
				traffic(f, t0, "v2", 0, 10, 10, 2)
				traffic(f, t0, "v1", 0, 10, 30, 0)
				time.Sleep(15 * time.Minute)
				w := gates.Window{Start: t0.Add(c.start), End: t0.Add(c.end)}
				if got := src.WindowVar(w); got != c.wantWindow {
					t.Errorf("WindowVar = %q, want %q", got, c.wantWindow)
				}
				v, ok, err := src.Value(t.Context(), c.query, w)
				switch {
				case c.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), c.wantErr) {
						t.Errorf("Value error = %v, want %q", err, c.wantErr)
					}
				case err != nil || v != c.want || ok != c.wantOK:
					t.Errorf("Value = %v, %v, %v; want %v, %v", v, ok, err, c.want, c.wantOK)
				}
			})
		})
	}
}

// TestCheckMetricsAccess: with good keys, both queries run for any
// version over the last minutes; an empty answer is fine.
func TestCheckMetricsAccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(apiKey, appKey)
		cfg, _ := serve(t, f)
		src := newSource(t, cfg)
		time.Sleep(10 * time.Minute)
		if err := src.CheckMetricsAccess(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := f.Received()
		if len(got) != 2 || got[0].Query != "sum:trace.http.request.hits{service:shop,version:*}.as_count()" ||
			got[1].Query != "sum:trace.http.request.errors{service:shop,version:*}.as_count()" || got[0].To.Sub(got[0].From) != 5*time.Minute {
			t.Errorf("queries asked: %+v", got)
		}
	})
}
