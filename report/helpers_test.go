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
		// 60 samples over 4s: 0 until 1s, 10 until 3s, then 100, each
		// shift a step from one sample to the next.
		line: "[" + strings.Repeat("0, ", 16) + strings.Repeat("10, ", 30) + strings.Repeat("100, ", 14) + "100]",
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
			got := chart("Traffic to v2, promoted", tc.points, tc.end)
			for _, want := range []string{"x-axis \"elapsed (s)\" " + tc.axis + "\n", tc.line, `title "Traffic to v2, promoted"`,
				`"plotColorPalette": "#2f81f7"`} {
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
	if diff := cmp.Diff("", chart("t", nil, time.Minute)); diff != "" {
		t.Errorf("chart of nothing (-want +got):\n%s", diff)
	}
}

// TestChartOnlyWhenAWeightWasHeld: a rollout that went straight through is
// one line, never a diagonal it did not take; a long one counts minutes.
func TestChartOnlyWhenAWeightWasHeld(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		points []point
		end    time.Duration
		want   string
	}{
		{"first deploy", []point{{0, 0}, {2 * time.Second, 100}}, 2 * time.Second, "Traffic: 0% → 100% in 2s.\n"},
		{"no time at all", []point{{0, 0}, {0, 100}}, 19 * time.Millisecond, "Traffic: 0% → 100% in 19ms.\n"},
		{"shifts of milliseconds", []point{{0, 0}, {14 * time.Millisecond, 10}, {28 * time.Millisecond, 100}}, 30 * time.Millisecond,
			"Traffic: 0% → 10% → 100% in 30ms.\n"},
		{"held for an hour", []point{{0, 0}, {time.Second, 10}, {time.Hour, 100}}, time.Hour, `x-axis "elapsed (min)" 0 --> 60`},
	} {
		if got := chart("t", c.points, c.end); !strings.Contains(got, c.want) {
			t.Errorf("%s: chart = %q, want %q", c.name, got, c.want)
		}
	}
}
