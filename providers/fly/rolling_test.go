package fly

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// TestRolling runs strategy rolling over the real client and the fake:
// machines updated in place in batches of max-unavailable, each batch
// started with its checks passing before the gates judge it; a gate
// failure, or a batch that never passes its checks, puts the stable
// image back on every updated machine. After every batch the weight the
// provider reports, the instances it counts and the fake's routable
// machines agree. Machines with volumes are updated in place too.
func TestRolling(t *testing.T) {
	t.Parallel()
	volume := func(c map[string]any) { c["mounts"] = []any{map[string]any{"volume": "vol_1", "path": "/data"}} }
	for _, tc := range []struct {
		name, image string
		failAt      int
		mod         []func(map[string]any)
		outcome     engine.Outcome
		batches     []string
		after       string
	}{
		{"promoted", nextImage, 0, nil, engine.OutcomePromoted, []string{"2: 50 2/4", "4: 100 4/4"}, nextImage},
		{"promoted, volumes", nextImage, 0, []func(map[string]any){volume}, engine.OutcomePromoted, []string{"2: 50 2/4", "4: 100 4/4"}, nextImage},
		{"gate fails after the first batch", nextImage, 50, nil, engine.OutcomeRolledBack, []string{"2: 50 2/4"}, stableImage},
		{"first batch never healthy", "registry.fly.io/web:unhealthy", 0, nil, engine.OutcomeRolledBack, nil, stableImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, 4, func(t *testing.T, e *testEnv) {
				p := strategyProvider(t, e, "rolling")
				n, err := p.Instances(t.Context())
				if err != nil || n != 4 {
					t.Fatalf("Instances = %d, %v", n, err)
				}
				var mu sync.Mutex
				var batches []string
				sink := func(ev engine.Event) {
					s, ok := ev.(*engine.Shifted)
					if !ok {
						return
					}
					st, err := p.Status(t.Context())
					r := e.w.Routable("web")
					mu.Lock()
					defer mu.Unlock()
					if err != nil || st.Instances == nil || st.Instances.Candidate != s.Instances || st.Weight != s.Weight || r[tc.image] != s.Instances {
						t.Errorf("after batch %d: status %+v (%v), the fake routes %v", s.Instances, st, err, r)
					}
					batches = append(batches, fmt.Sprintf("%d: %d %d/%d", s.Instances, st.Weight, r[tc.image], r[tc.image]+r[stableImage]))
				}
				plan := planOf(t, strategies.Spec{Strategy: "rolling", Instances: n, MaxUnavailable: "2"})
				res := newEngine(p, stepGate{failAt: tc.failAt}, 0, sink).Deploy(t.Context(), plan,
					providers.Artifact{Image: tc.image, Revision: "v2"}, providers.Rollout{ID: "r1"})
				if res.Outcome != tc.outcome {
					t.Fatalf("outcome %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.outcome)
				}
				if diff := cmp.Diff(tc.batches, batches); diff != "" {
					t.Errorf("batches (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(map[string]int{tc.after: 4}, e.w.Routable("web")); diff != "" {
					t.Errorf("routable at the end (-want +got):\n%s", diff)
				}
				ms := e.w.Machines("web")
				if len(ms) != 4 || e.w.Calls()["machines.create"] != 0 {
					t.Errorf("%d machines, %d created: rolling updates in place", len(ms), e.w.Calls()["machines.create"])
				}
				for _, m := range ms {
					for _, k := range []string{keyStaged, keyPreviousConfig, keyRole} {
						if _, ok := m.Metadata[k]; ok {
							t.Errorf("machine %s keeps %s", m.ID, k)
						}
					}
				}
				st, err := p.Status(t.Context())
				if err != nil || st.Candidate != nil || st.Rollout.Intent != nil || len(providers.Diagnose(st, st.Rollout.UpdatedAt)) != 0 {
					t.Errorf("status after: %+v (%v)", st, err)
				}
				if tc.image != nextImage && !strings.Contains(res.Reason+fmt.Sprint(res.Err), "check") {
					t.Errorf("reason %q (%v) does not name the checks", res.Reason, res.Err)
				}
			}, tc.mod...)
		})
	}
}
