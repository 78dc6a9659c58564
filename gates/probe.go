package gates

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProbeGate sends Count GET requests to the candidate and passes when at
// least SuccessRatio percent of them answer ExpectStatus within MaxLatency.
type ProbeGate struct {
	// Client sends the probes.
	Client *http.Client
	// URL is probed as given; empty means the candidate's own URL plus Path.
	URL string
	// Path is appended to the candidate's URL when URL is empty.
	Path string
	// Count is how many probes one check sends.
	Count int
	// ExpectStatus is the status a probe must answer.
	ExpectStatus int
	// MaxLatency is the slowest passing answer.
	MaxLatency time.Duration
	// SuccessRatio is the lowest passing share of good probes, in percent.
	SuccessRatio float64
}

// Name returns "probe".
func (g ProbeGate) Name() string { return "probe" }

// Check probes the target; a probe that cannot connect counts as failed.
func (g ProbeGate) Check(ctx context.Context, t Target) Result {
	r := Result{Gate: g.Name(), Unit: "%", Threshold: ">= " + FormatValue(g.SuccessRatio), Window: t.Window}
	target, err := g.target(t)
	if err != nil {
		r.Outcome, r.Message = Error, err.Error()
		return r
	}
	r.Query = fmt.Sprintf("GET %s expect %d within %s", target, g.ExpectStatus, g.MaxLatency)
	good, last := 0, ""
	for range g.Count {
		ok, why := g.probe(ctx, target)
		if ok {
			good++
		} else {
			last = why
		}
		if ctx.Err() != nil {
			r.Outcome, r.Message = Error, fmt.Sprintf("probe interrupted: %v", context.Cause(ctx))
			return r
		}
	}
	r.Samples = int64(g.Count)
	r.Value = 100 * float64(good) / float64(max(g.Count, 1))
	r.Outcome = Successful
	if r.Value < g.SuccessRatio {
		r.Outcome = Failed
		r.Message = fmt.Sprintf("%d of %d probes failed; last: %s", g.Count-good, g.Count, last)
	}
	return r
}

func (g ProbeGate) target(t Target) (string, error) {
	if g.URL != "" {
		return g.URL, nil
	}
	base := t.Candidate.URL
	if base == "" {
		return "", fmt.Errorf("revision %q has no URL of its own; set probe-url", t.Candidate.ID)
	}
	u, err := url.JoinPath(base, strings.TrimPrefix(g.Path, "/"))
	if err != nil {
		return "", fmt.Errorf("join probe path %q to %q: %w", g.Path, base, err)
	}
	if strings.HasSuffix(g.Path, "/") && !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u, nil
}

// probe sends one request and says whether it passed, and why not.
func (g ProbeGate) probe(ctx context.Context, target string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, max(2*g.MaxLatency, 5*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "ramp-probe")
	start := time.Now()
	resp, err := g.Client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	took := time.Since(start)
	switch {
	case resp.StatusCode != g.ExpectStatus:
		return false, fmt.Sprintf("status %d, want %d", resp.StatusCode, g.ExpectStatus)
	case g.MaxLatency > 0 && took > g.MaxLatency:
		return false, fmt.Sprintf("answered in %s, over %s", took.Round(time.Millisecond), g.MaxLatency)
	}
	return true, ""
}
