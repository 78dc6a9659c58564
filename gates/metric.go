package gates

import "time"

// The metrics guardrails understand.
const (
	MetricErrorRate  = "error-rate"  // percent of requests answered 5xx or not at all
	MetricLatencyP50 = "latency-p50" // milliseconds
	MetricLatencyP95 = "latency-p95" // milliseconds
	MetricLatencyP99 = "latency-p99" // milliseconds
)

func unitOf(metric string) string {
	if metric == MetricErrorRate {
		return "%"
	}
	return "ms"
}

// Millis converts a latency threshold to the milliseconds guardrails use.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
