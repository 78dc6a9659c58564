package local

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// rollingPhases is a rolling update of v2 over v1 on n replicas, batch by
// batch (max-surge surge, max-unavailable batch-surge), promoted, then one
// of v3 over v2 rolled back after two batches (or one, when two would
// replace every replica).
func rollingPhases(n, batch, surge int) []loadPhase {
	stage := func(rev string) func(context.Context, *Provider) error {
		return func(ctx context.Context, p *Provider) error {
			_, err := p.Stage(ctx, appArtifact(rev, rev, 0))
			return err
		}
	}
	replace := func(k int) func(context.Context, *Provider) error {
		return func(ctx context.Context, p *Provider) error {
			return replaceTo(ctx, p, k, strategies.InstanceWeight(k, n), surge)
		}
	}
	phases := []loadPhase{
		{name: "stable v1", allowed: []string{"v1"}},
		{name: "stage v2", op: stage("v2"), allowed: []string{"v1"}},
	}
	for k := batch; ; k = min(k+batch, n) {
		w := strategies.InstanceWeight(k, n)
		allowed := []string{"v1", "v2"}
		if k == n {
			allowed = []string{"v2"}
		}
		phases = append(phases, loadPhase{name: fmt.Sprintf("v2 on %d of %d", k, n), op: replace(k), allowed: allowed, weight: w})
		if k == n {
			break
		}
	}
	phases = append(phases,
		loadPhase{name: "promote v2", op: func(ctx context.Context, p *Provider) error { return promote(ctx, p, 0) }, allowed: []string{"v2"}},
		loadPhase{name: "stage v3", op: stage("v3"), allowed: []string{"v2"}})
	for k := batch; k <= min(2*batch, n-1); k += batch {
		phases = append(phases, loadPhase{name: fmt.Sprintf("v3 on %d of %d", k, n), op: replace(k),
			allowed: []string{"v2", "v3"}, weight: strategies.InstanceWeight(k, n)})
	}
	return append(phases, loadPhase{name: "roll back v3", op: func(ctx context.Context, p *Provider) error { return rollback(ctx, p) }, allowed: []string{"v2"}})
}

// TestRollingZeroDroppedRequests is issue 14's acceptance of strategy
// rolling: four local replicas under load from HTTP/1.1, HTTP/2 and
// websocket clients, replaced in batches of one (max-unavailable 1, no
// surge: a replica leaves before its successor starts) and of two
// (max-surge 1, max-unavailable 1), promoted, then a rollout rolled back
// mid-way; no request may fail, and each must be answered by a version its
// phase allows. A single replica with no surge is replaced with no request
// failing too.
func TestRollingZeroDroppedRequests(t *testing.T) {
	t.Parallel()
	const (
		workers     = 12
		perPhase    = 300             // at least 300 requests after each step
		phaseBudget = 2 * time.Minute // bounds a hang only
	)
	for _, c := range []struct {
		name                   string
		replicas, batch, surge int
	}{
		{"batches of 1, unavailable 1, no surge", 4, 1, 0},
		{"batches of 2, surge 1, unavailable 1", 4, 2, 1},
		// The one replica keeps serving until its successor is ready.
		{"one replica, unavailable 1, no surge", 1, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.Replicas = c.replicas
			a, p := startAgent(t, cfg)
			ctx := t.Context()
			mustDeploy(t, p, appArtifact("v1", "v1", 0))
			must(t, "promote v1", promote(ctx, p, 0))
			expectInstances(t, p, "v1 promoted", providers.Instances{Stable: c.replicas}, 0)

			phases := rollingPhases(c.replicas, c.batch, c.surge)
			l := startLoad(a.ProxyURL()+"/", phases, workers)
			defer l.halt()
			for i, ph := range phases {
				if ph.op != nil {
					opStart := time.Now()
					must(t, ph.name, ph.op(ctx, p))
					t.Logf("phase %-12q op took %v", ph.name, time.Since(opStart).Round(time.Millisecond))
					l.phase.Store(int32(i))
				}
				st, err := p.Status(ctx)
				must(t, "status", err)
				if st.Weight != ph.weight {
					t.Errorf("phase %q: Status().Weight = %d, want %d", ph.name, st.Weight, ph.weight)
				}
				waitFor(t, phaseBudget, fmt.Sprintf("%d requests in phase %q", perPhase, ph.name), func() bool {
					return l.done[i].Load() >= perPhase
				})
			}
			l.halt()
			checkRollingLoad(t, l, len(phases)*perPhase)
			expectInstances(t, p, "v3 rolled back", providers.Instances{Stable: c.replicas}, 0)
			st, err := p.Status(ctx)
			must(t, "status", err)
			if st.Stable == nil || st.Stable.ID != "v2" || !st.Stable.Ready || st.Candidate != nil {
				t.Errorf("final Status() = %+v, want v2 alone, ready", st)
			}
		})
	}
}

// checkRollingLoad reports every failed or misrouted request of l, and
// checks that at least want were sent, by every kind of client, and that
// each version a phase allows answered some.
func checkRollingLoad(t *testing.T, l *loadGen, want int) {
	t.Helper()
	var total int64
	for i := range l.done {
		total += l.done[i].Load()
	}
	t.Logf("%d requests; by version %v; by client (HTTP/1.1, HTTP/2, websocket) %d, %d, %d; %d failed",
		total, l.byVer, l.byKind[0].Load(), l.byKind[1].Load(), l.byKind[2].Load(), l.failures.Load())
	for _, pr := range l.problems {
		t.Error(pr)
	}
	if total < int64(want) {
		t.Errorf("sent %d requests, want at least %d", total, want)
	}
	for i := range l.byKind {
		if l.byKind[i].Load() == 0 {
			t.Errorf("no request from client kind %d", i)
		}
	}
	for _, v := range slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, ph := range l.phases {
			for _, v := range ph.allowed {
				yield(v)
			}
		}
	})) {
		if l.byVer[v] == 0 {
			t.Errorf("no answer from %s; by version %v", v, l.byVer)
		}
	}
}
