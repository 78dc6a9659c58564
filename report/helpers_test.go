package report

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClockAndHuman(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d            time.Duration
		clock, human string
	}{
		{-time.Second, "00:00", "0s"},
		{0, "00:00", "0s"},
		{250 * time.Millisecond, "00:00", "250ms"},
		{45 * time.Second, "00:45", "45s"},
		{time.Minute, "01:00", "1m"},
		{130 * time.Second, "02:10", "2m10s"},
		{time.Hour + 5*time.Minute + 3*time.Second, "1:05:03", "1h5m3s"},
		{2 * time.Hour, "2:00:00", "2h"},
	}
	for _, tc := range cases {
		t.Run(tc.d.String(), func(t *testing.T) {
			t.Parallel()
			if got := clock(tc.d); got != tc.clock {
				t.Errorf("clock(%s) = %q, want %q", tc.d, got, tc.clock)
			}
			if got := human(tc.d); got != tc.human {
				t.Errorf("human(%s) = %q, want %q", tc.d, got, tc.human)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, got, want string
	}{
		{"inline drops HTML and newlines", inline("a <b> & c\nd"), "a &lt;b&gt; &amp; c d"},
		{"cell escapes pipes", cell("x | y"), `x \| y`},
		{"code replaces backticks", code("v`2"), "`v'2`"},
		{"clip keeps short text", clip("abc", 3), "abc"},
		{"clip cuts on a rune boundary", clip("aé", 2), "a…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestChart(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		points []point
		end    time.Duration
		axis   string
		line   string
	}{{
		name:   "a step per second",
		points: []point{{0, 0}, {time.Second, 10}, {3 * time.Second, 100}},
		end:    4 * time.Second,
		axis:   "0 --> 4",
		line:   "[0, 10, 10, 100, 100]",
	}, {
		name:   "no time at all",
		points: []point{{0, 0}, {0, 100}},
		end:    0,
		axis:   "0 --> 1",
		line:   "[100, 100]",
	}, {
		name:   "a short spike between samples still shows",
		points: []point{{0, 0}, {5 * time.Second, 10}, {6 * time.Second, 0}},
		end:    10 * time.Minute,
		axis:   "0 --> 600",
		line:   "[0, 10, 0, 0",
	}, {
		name:   "a rollback at the very end shows",
		points: []point{{0, 0}, {time.Second, 50}, {153 * time.Second, 0}},
		end:    153 * time.Second,
		axis:   "0 --> 153",
		line:   ", 50, 0]",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := chart(tc.points, tc.end)
			for _, want := range []string{"x-axis \"elapsed (s)\" " + tc.axis + "\n", tc.line} {
				if !strings.Contains(got, want) {
					t.Errorf("chart lacks %q:\n%s", want, got)
				}
			}
			values := strings.Count(got[strings.Index(got, "line ["):], ",") + 1
			if values > maxSamples+1 {
				t.Errorf("chart has %d values, more than %d", values, maxSamples+1)
			}
		})
	}
}

func TestChartEmpty(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff("", chart(nil, time.Minute)); diff != "" {
		t.Errorf("chart of nothing (-want +got):\n%s", diff)
	}
}
