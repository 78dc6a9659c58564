package local

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

// replaceTo runs the candidate on k replicas serving w percent, with at
// most surge replicas beyond the full count meanwhile.
func replaceTo(ctx context.Context, p *Provider, k, w, surge int) error {
	return transition(ctx, p, providers.Transition{Action: providers.ActionReplace, Instances: k, Weight: w, Surge: surge}, candidateOf)
}

// rollingService starts an agent running v1 on n replicas, under load.
func rollingService(t *testing.T, n int) (*Provider, *steadyLoad) {
	t.Helper()
	cfg := testConfig(t)
	cfg.Replicas = n
	a, p := startAgent(t, cfg)
	mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", promote(t.Context(), p, 0))
	l := startSteadyLoad(a.ProxyURL()+"/", 8)
	t.Cleanup(func() { l.halt() })
	return p, l
}

// expectInstances checks the replicas each version runs and the weight.
func expectInstances(t *testing.T, p *Provider, what string, want providers.Instances, weight int) {
	t.Helper()
	st, err := p.Status(t.Context())
	must(t, "status", err)
	if st.Instances == nil || *st.Instances != want || st.Weight != weight {
		t.Errorf("%s: instances %+v at %d%%, want %+v at %d%%", what, st.Instances, st.Weight, want, weight)
	}
}

// expectNoFailures halts the load and checks that every request was
// answered 200 by one of the versions.
func expectNoFailures(t *testing.T, l *steadyLoad, versions ...string) {
	t.Helper()
	reqs := l.halt()
	by := map[string]int{}
	failed := 0
	for _, r := range reqs {
		by[r.ver]++
		if r.failed(versions) {
			failed++
			if failed <= 3 {
				t.Errorf("request failed: code %d version %q: %v", r.code, r.ver, r.err)
			}
		}
	}
	t.Logf("%d requests, by version %v, %d failed", len(reqs), by, failed)
	if failed > 0 || len(reqs) < 100 {
		t.Errorf("%d of %d requests failed, want none of at least 100", failed, len(reqs))
	}
}

func TestRollingReplacesReplicasUnderLoad(t *testing.T) {
	t.Parallel()
	p, l := rollingService(t, 3)
	ctx := t.Context()
	expectInstances(t, p, "v1 promoted", providers.Instances{Stable: 3}, 0)
	if _, err := p.Stage(ctx, appArtifact("v2", "v2", 0)); err != nil {
		t.Fatalf("Stage(v2) = %v", err)
	}
	expectInstances(t, p, "v2 staged", providers.Instances{Stable: 3}, 0)
	for _, b := range []struct{ k, w int }{{1, 33}, {2, 67}, {3, 100}} {
		must(t, "replace", replaceTo(ctx, p, b.k, b.w, 1))
		expectInstances(t, p, "batch", providers.Instances{Stable: 3 - b.k, Candidate: b.k}, b.w)
	}
	must(t, "promote v2", promote(ctx, p, 0))
	expectInstances(t, p, "v2 promoted", providers.Instances{Stable: 3}, 0)
	expectNoFailures(t, l, "v1", "v2")
	st, err := readState(p.cfg.StateDir)
	must(t, "read state", err)
	ports := map[int]bool{}
	for _, r := range st.Stable.Replicas {
		ports[r.Port] = true
	}
	if st.Stable.ID != "v2" || len(ports) != 3 || st.Candidate != nil {
		t.Errorf("state.json: stable %+v, candidate %+v; want v2 on 3 ports of its own", st.Stable, st.Candidate)
	}
}

func TestRollingFailingBatchRestoresStable(t *testing.T) {
	t.Parallel()
	p, l := rollingService(t, 3)
	ctx := t.Context()
	broken := appArtifact("v2", "v2", 0)
	broken.Env = slices.Concat([]string{"RAMP_LOCAL_TEST_APP=exit"}, broken.Env[1:])
	if _, err := p.Stage(ctx, broken); err != nil {
		t.Fatalf("Stage(v2) = %v", err)
	}
	// max-unavailable 1, no surge: a v1 replica stops before v2's starts.
	if err := replaceTo(ctx, p, 1, 33, 0); !errors.Is(err, providers.ErrNotReady) {
		t.Fatalf("replace with a v2 that exits = %v, want ErrNotReady", err)
	}
	expectInstances(t, p, "after the failed batch", providers.Instances{Stable: 2}, 0)
	must(t, "rollback", rollback(ctx, p))
	expectInstances(t, p, "after rollback", providers.Instances{Stable: 3}, 0)
	st, err := p.Status(ctx)
	must(t, "status", err)
	if st.Candidate != nil || st.Stable == nil || st.Stable.ID != "v1" || !st.Stable.Ready || st.Rollout.Intent != nil {
		t.Errorf("after rollback: %+v, want v1 alone, ready, and no intent left", st)
	}
	expectNoFailures(t, l, "v1")
}

func TestPoolTakesReplicasInTurn(t *testing.T) {
	t.Parallel()
	var rt router
	bs := []*backend{{rev: "a"}, {rev: "a"}, {rev: "a"}}
	r := &revision{id: "a"}
	for _, b := range bs {
		r.replicas = append(r.replicas, &replica{backend: b})
	}
	rt.set(table{stable: r.pool()})
	got := map[*backend]int{}
	for range 300 {
		b := rt.pick()
		got[b]++
		b.release()
	}
	for i, b := range bs {
		if got[b] != 100 {
			t.Errorf("replica %d took %d of 300 requests, want 100", i, got[b])
		}
	}
}

func TestRevStateReplicas(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		rs   revState
		want []replicaState
	}{
		{"a state from before replicas is one", revState{ID: "v1", Port: 4100, PID: 7}, []replicaState{{Port: 4100, PID: 7}}},
		{"replicas", revState{ID: "v1", Port: 4100, PID: 7, Replicas: []replicaState{{4100, 7}, {4101, 8}}},
			[]replicaState{{4100, 7}, {4101, 8}}},
		{"staged, none running", revState{ID: "v2"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := c.rs.running(); !slices.Equal(got, c.want) {
				t.Errorf("running() = %v, want %v", got, c.want)
			}
		})
	}
}
