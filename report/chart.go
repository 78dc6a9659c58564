package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxSamples bounds the points of a chart; the traffic chart samples the
// weight at that many even instants, enough for a shift to read as a step.
const maxSamples = 60

// Chart colours, readable on GitHub's light and dark backgrounds (Mermaid's
// default first colour is near-white on white): the candidate blue, the
// stable orange, a pair colour-blind readers tell apart. Every chart sets
// them in its block, with a height that leaves the step table in view.
const (
	blue   = "#2f81f7"
	orange = "#e16f24"
)

// xyChart is a Mermaid xychart-beta block: a title, the axes, and lines of
// values drawn in the colours of palette, in order.
type xyChart struct {
	title        string
	height       int
	palette      []string
	xAxis, yAxis string // each axis's label and range, as Mermaid writes them
	lines        [][]string
}

// String renders the block; the init directive parses in Mermaid 10 and 11.
func (c xyChart) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "```mermaid\n%%%%{init: {\"xyChart\": {\"height\": %d}, \"themeVariables\": {\"xyChart\": {\"plotColorPalette\": %q}}}}%%%%\n",
		c.height, strings.Join(c.palette, ","))
	fmt.Fprintf(&b, "xychart-beta\n  title %q\n  x-axis %s\n  y-axis %s\n", c.title, c.xAxis, c.yAxis)
	for _, l := range c.lines {
		fmt.Fprintf(&b, "  line [%s]\n", strings.Join(l, ", "))
	}
	b.WriteString("```\n")
	return b.String()
}

// minHeld is how long the candidate must hold a weight between 0 and 100%
// for a chart to be worth drawing; a rollout that went straight through is
// one line instead, never a diagonal the rollout did not take.
const minHeld = time.Second

// chart renders the candidate's weight over time as a Mermaid xychart
// titled title, or one line when no weight was held long enough to show.
// Its x axis is elapsed seconds (minutes past ten minutes), and Mermaid
// spreads a line's values evenly over it, so the weight is sampled at
// maxSamples even instants: a shift then rises within 1/maxSamples of
// the axis, a step, not a slope. Each sample is the weight then, or the
// peak since the previous sample if the weight went higher in between, so
// that a short-lived shift still shows.
func chart(title string, points []point, end time.Duration) string {
	if len(points) == 0 {
		return ""
	}
	if !held(points, end) {
		return fmt.Sprintf("Traffic: %s in %s.\n", path(points), formatSpan(max(end, points[len(points)-1].at)))
	}
	span := max(end, points[len(points)-1].at)
	unit, label := time.Second, "elapsed (s)"
	if span > 10*time.Minute {
		unit, label = time.Minute, "elapsed (min)"
	}
	axis := max(int64((span+unit-1)/unit), 1)
	step := time.Duration(axis) * unit / maxSamples
	values := make([]string, 0, maxSamples+1)
	for i := range maxSamples + 1 {
		to := time.Duration(i) * step
		values = append(values, strconv.Itoa(sample(points, to-step, to)))
	}
	c := xyChart{title: title, height: 300, palette: []string{blue}, yAxis: `"weight (%)" 0 --> 100`, lines: [][]string{values}}
	c.xAxis = fmt.Sprintf(`"%s" 0 --> %d`, label, axis)
	return c.String()
}

// sample is the weight at to, or the peak inside (from, to) when it is
// higher than the weights at both ends.
func sample(points []point, from, to time.Duration) int {
	w, edge := at(points, to), at(points, max(from, 0))
	peak := 0
	for _, p := range points {
		if p.at > from && p.at < to {
			peak = max(peak, p.weight)
		}
	}
	if peak > max(w, edge) {
		return peak
	}
	return w
}

// at is the weight in effect at t: that of the last change at or before it.
func at(points []point, t time.Duration) int {
	w := points[0].weight
	for _, p := range points {
		if p.at > t {
			break
		}
		w = p.weight
	}
	return w
}

// held reports whether the candidate kept a weight between 0 and 100% for
// at least minHeld.
func held(points []point, end time.Duration) bool {
	for i, p := range points {
		next := end
		if i+1 < len(points) {
			next = points[i+1].at
		}
		if p.weight > 0 && p.weight < 100 && next-p.at >= minHeld {
			return true
		}
	}
	return false
}

// path lists the weights the candidate went through, "0% → 100%".
func path(points []point) string {
	var parts []string
	for i, p := range points {
		if i == 0 || p.weight != points[i-1].weight {
			parts = append(parts, strconv.Itoa(p.weight)+"%")
		}
	}
	return strings.Join(parts, " → ")
}

// formatSpan prints a duration for a person: 19ms, 2.1s, 3m5s.
func formatSpan(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
