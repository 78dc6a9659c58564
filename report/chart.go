package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxSamples bounds the points of the traffic chart.
const maxSamples = 60

// chart renders the candidate's weight over time as a Mermaid xychart. Its x
// axis is elapsed seconds, and Mermaid spreads a line's values evenly over
// it, so the weight is sampled every step seconds: each sample is the weight
// then, or the peak since the previous sample if the weight went higher in
// between, so that a short-lived shift still shows.
func chart(points []point, end time.Duration) string {
	if len(points) == 0 {
		return ""
	}
	total := int64((max(end, points[len(points)-1].at) + time.Second - 1) / time.Second)
	total = max(total, 1)
	step := max(1, (total+maxSamples-1)/maxSamples)
	n := (total + step - 1) / step
	values := make([]string, 0, n+1)
	for i := range n + 1 {
		to := time.Duration(i*step) * time.Second
		values = append(values, strconv.Itoa(sample(points, to-time.Duration(step)*time.Second, to)))
	}
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta\n")
	b.WriteString("  title \"Candidate traffic\"\n")
	fmt.Fprintf(&b, "  x-axis \"elapsed (s)\" 0 --> %d\n", n*step)
	b.WriteString("  y-axis \"weight (%)\" 0 --> 100\n")
	fmt.Fprintf(&b, "  line [%s]\n", strings.Join(values, ", "))
	b.WriteString("```\n")
	return b.String()
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
