//go:build unix

package flag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
)

// TestUnleash runs the real engine over the Unleash backend against a
// real Unleash server (the npm package unleash-server over PostgreSQL,
// both started here): a rollout promoted (the feature's flexible rollout
// at 100%), one rolled back at 50% to the 20% the feature had before it,
// and one paused then promoted from other processes. Each checks the
// percentage Unleash serves after every shift. What Unleash refuses (a
// wrong token, an unknown feature) and what ramp refuses (a feature with
// two flexible rollouts) are clear, permanent errors.
func TestUnleash(t *testing.T) {
	t.Parallel()
	srv := startUnleash(t)
	t.Run("promoted", func(t *testing.T) {
		t.Parallel()
		srv.feature(t, "checkout-promoted", -1)
		p := srv.provider("checkout-promoted")
		var got []string
		res := newEngine(p, stepGate{}, shifts(srv.percent(t, "checkout-promoted"), &got)).Deploy(t.Context(),
			canary(t, 500*time.Millisecond, 10, 50, 100), providers.Artifact{Image: "shop:v2", Revision: "c0ffee1"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s, %v)", res.Outcome, res.Reason, res.Err)
		}
		if diff := cmp.Diff([]string{"10:10", "50:50"}, got); diff != "" {
			t.Errorf("shifts weight:percent (-want +got):\n%s", diff)
		}
		srv.settled(t, p, "c0ffee1", 100)
	})
	t.Run("rolled back to the previous rollout", func(t *testing.T) {
		t.Parallel()
		srv.feature(t, "checkout-rollback", 20)
		p := srv.provider("checkout-rollback")
		var got []string
		res := newEngine(p, stepGate{failAt: 50}, shifts(srv.percent(t, "checkout-rollback"), &got)).Deploy(t.Context(),
			canary(t, 500*time.Millisecond, 10, 50, 100), providers.Artifact{Image: "shop:v2", Revision: "c0ffee2"}, providers.Rollout{ID: "r2"})
		if res.Outcome != engine.OutcomeRolledBack {
			t.Fatalf("outcome %s (%s, %v)", res.Outcome, res.Reason, res.Err)
		}
		if diff := cmp.Diff([]string{"10:20", "50:50"}, got); diff != "" {
			t.Errorf("shifts weight:percent (-want +got):\n%s", diff)
		}
		srv.settled(t, p, "checkout-rollback-at-20", 20)
	})
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		srv.feature(t, "checkout-twice", 10)
		srv.admin(t, http.MethodPost, "/api/admin/projects/default/features/checkout-twice/environments/development/strategies",
			map[string]any{"name": "flexibleRollout", "parameters": map[string]string{"rollout": "50", "stickiness": "default", "groupId": "x"}}, nil)
		bad := srv.provider("checkout-twice")
		bad.be.(*Unleash).api.auth = func(r *http.Request) { r.Header.Set("Authorization", "*:*.not-the-token") }
		for _, tc := range []struct {
			name string
			p    *Provider
			want error
			says string
		}{
			{"two flexible rollouts", srv.provider("checkout-twice"), providers.ErrInvalid, "2 flexibleRollout strategies"},
			{"unknown feature", srv.provider("checkout-nope"), providers.ErrNotFound, "checkout-nope"},
			{"wrong token", bad, providers.ErrPermission, "401"},
		} {
			if err := tc.p.Preflight(t.Context()); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "not-the-token") {
				t.Errorf("%s: Preflight = %v, want %v saying %q", tc.name, err, tc.want, tc.says)
			}
		}
	})
	t.Run("lock", func(t *testing.T) {
		t.Parallel()
		testUnleashLock(t, srv)
	})
	t.Run("paused and promoted from other processes", func(t *testing.T) {
		t.Parallel()
		srv.feature(t, "checkout-commands", -1)
		var once sync.Once
		sink := func(ev engine.Event) {
			if s, ok := ev.(*engine.Shifted); ok && s.Weight == 10 {
				once.Do(func() {
					if res := newEngine(srv.provider("checkout-commands"), stepGate{}, nil).Pause(t.Context(), "a person looks"); res.Err != nil {
						t.Errorf("pause: %v", res.Err)
					}
				})
			}
		}
		res := newEngine(srv.provider("checkout-commands"), stepGate{}, sink).Deploy(t.Context(),
			canary(t, 500*time.Millisecond, 10, 50, 100), providers.Artifact{Image: "shop:v2", Revision: "c0ffee3"}, providers.Rollout{ID: "r3"})
		if res.Outcome != engine.OutcomePaused {
			t.Fatalf("driver's outcome %s (%s, %v), want paused", res.Outcome, res.Reason, res.Err)
		}
		if got := srv.percent(t, "checkout-commands")(); got != 10 {
			t.Errorf("paused at %d%%, want 10%%", got)
		}
		if res := newEngine(srv.provider("checkout-commands"), stepGate{}, nil).Promote(t.Context(), "looks fine"); res.Outcome != engine.OutcomePromoted {
			t.Fatalf("promote: %s (%s, %v)", res.Outcome, res.Reason, res.Err)
		}
		srv.settled(t, srv.provider("checkout-commands"), "c0ffee3", 100)
	})
}

// provider is a provider (a process) for feature name in development.
func (s unleashServer) provider(name string) *Provider {
	be := NewUnleash(providers.FlagTarget{Name: name, Backend: "unleash", Environment: "development", URL: s.url, Token: unleashAdminToken},
		&http.Client{Timeout: 30 * time.Second})
	return NewWithBackend(name, be)
}

// admin calls the admin API, failing the test on an error.
func (s unleashServer) admin(t *testing.T, method, path string, body, out any) {
	t.Helper()
	a := api{name: "unleash", base: s.url, hc: http.DefaultClient, auth: func(r *http.Request) { r.Header.Set("Authorization", unleashAdminToken) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.do(ctx, method, path, "application/json", body, out); err != nil {
		t.Fatal(err)
	}
}

// feature creates feature name in project default; with pct >= 0, with a
// flexible rollout at pct in development, turned on there.
func (s unleashServer) feature(t *testing.T, name string, pct int) {
	t.Helper()
	s.admin(t, http.MethodPost, "/api/admin/projects/default/features", map[string]any{"name": name, "type": "release"}, nil)
	if pct < 0 {
		return
	}
	env := "/api/admin/projects/default/features/" + name + "/environments/development"
	s.admin(t, http.MethodPost, env+"/strategies", map[string]any{"name": "flexibleRollout",
		"parameters": map[string]string{"rollout": strconv.Itoa(pct), "stickiness": "default", "groupId": name}}, nil)
	s.admin(t, http.MethodPost, env+"/on", nil, nil)
}

// percent reads, through the admin API, the rollout percentage Unleash
// serves feature name in development.
func (s unleashServer) percent(t *testing.T, name string) func() int {
	return func() int {
		var e struct {
			Enabled    bool `json:"enabled"`
			Strategies []struct {
				Name       string            `json:"name"`
				Parameters map[string]string `json:"parameters"`
			} `json:"strategies"`
		}
		s.admin(t, http.MethodGet, "/api/admin/projects/default/features/"+name+"/environments/development", nil, &e)
		for _, st := range e.Strategies {
			if st.Name == "flexibleRollout" && e.Enabled {
				n, _ := strconv.Atoi(st.Parameters["rollout"])
				return n
			}
		}
		return 0
	}
}

// settled checks the end of a rollout: Unleash serves pct, and the
// provider reports stable with no candidate, no intent and no drift.
func (s unleashServer) settled(t *testing.T, p *Provider, stable string, pct int) {
	t.Helper()
	if got := s.percent(t, p.flag)(); got != pct {
		t.Errorf("Unleash serves %d%% at the end, want %d%%", got, pct)
	}
	st, err := p.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	if d := providers.Diagnose(st, time.Now()); len(d) != 0 || st.Candidate != nil || st.Rollout.Intent != nil || st.Stable == nil || st.Stable.ID != stable {
		t.Errorf("status after (want stable %s): %s; drift %s", stable, raw, fmt.Sprint(d))
	}
}
