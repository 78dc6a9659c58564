package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/sampleapp"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/local"
	"github.com/ramp-deploy/ramp/strategies"
)

// TestMain lets the test binary run the sample app as a revision.
func TestMain(m *testing.M) {
	if os.Getenv("RAMP_BENCH_APP") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		opts, err := sampleapp.OptionsFromEnv(os.Getenv)
		if err == nil {
			err = sampleapp.Run(ctx, opts)
		}
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// latencies records, per rollout, the time from the first failing verdict
// (a guardrail's or the judge's)
// to the moment the proxy routed 0% to the candidate.
type latencies struct {
	mu      sync.Mutex
	failed  time.Time
	samples []time.Duration
}

func (l *latencies) sink(ev engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e := ev.(type) {
	case *engine.GateChecked:
		if e.Verdict.Outcome == gates.Failed && l.failed.IsZero() {
			l.failed = e.Time()
		}
	case *engine.Judged:
		if e.Evidence != nil && e.Evidence.Verdict == gates.VerdictRollback && l.failed.IsZero() {
			l.failed = e.Time()
		}
	case *engine.RolledBack:
		if !l.failed.IsZero() {
			l.samples = append(l.samples, e.Time().Sub(l.failed))
			l.failed = time.Time{}
		}
	}
}

// BenchmarkRollbackLatency deploys a candidate that fails every request
// behind the local provider under load, and measures from the gate's
// failing verdict to all traffic back on the stable version (the RolledBack
// event is emitted once the provider routes 0% to the candidate).
func BenchmarkRollbackLatency(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	agent, err := local.StartAgent(ctx, providers.Config{Service: "bench", StateDir: b.TempDir(),
		Listen: "127.0.0.1:0", HealthPath: "/healthz", ReadyTimeout: 20 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer agent.Close(context.WithoutCancel(ctx))
	prov := agent.Client()
	image := fmt.Sprintf("'%s'", exe)
	env := func(v string, rate float64) []string {
		return []string{"RAMP_BENCH_APP=1", "SAMPLE_VERSION=" + v, fmt.Sprintf("SAMPLE_FAIL_RATE=%g", rate)}
	}
	lat := &latencies{}
	e := &engine.Engine{Provider: prov, Service: "bench", Limits: gates.Limits{Failures: 1, Errors: 3},
		Metrics: gates.Metrics{Source: prov, Judge: &gates.JudgeSpec{Alpha: 0.01, Tolerance: 1, Errors: true},
			Guardrails: []gates.Guardrail{{Metric: gates.MetricErrorRate, Max: 1, MinRequests: 5}}},
		ProgressDeadline: 10 * time.Second, Retry: engine.DefaultBackoff, Events: lat.sink}
	plan, err := strategies.New(strategies.Spec{Strategy: "canary", Steps: []strategies.Target{{Weight: 50}, {Weight: 100}},
		Interval: 100 * time.Millisecond, FailureThreshold: 1})
	if err != nil {
		b.Fatal(err)
	}
	if res := e.Deploy(ctx, plan, providers.Artifact{Image: image, Revision: "stable", Env: env("stable", 0)},
		providers.Rollout{ID: "first"}); res.Outcome != engine.OutcomePromoted {
		b.Fatalf("first deploy: %s (%s)", res.Outcome, res.Reason)
	}
	stop := drive(ctx, agent.ProxyURL())
	defer stop()
	n := 0
	for b.Loop() {
		n++
		res := e.Deploy(ctx, plan, providers.Artifact{Image: image, Revision: fmt.Sprintf("bad-%d", n), Env: env("bad", 1)},
			providers.Rollout{ID: fmt.Sprint(n)})
		if res.Outcome != engine.OutcomeRolledBack {
			b.Fatalf("rollout %d: %s (%s)", n, res.Outcome, res.Reason)
		}
	}
	slices.Sort(lat.samples)
	if len(lat.samples) > 0 {
		b.ReportMetric(float64(lat.samples[len(lat.samples)/2].Microseconds()), "p50-gate-to-0%-µs")
		b.ReportMetric(float64(lat.samples[len(lat.samples)-1].Microseconds()), "max-gate-to-0%-µs")
	}
}

// drive sends steady load through the proxy until stopped.
func drive(ctx context.Context, url string) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}
