package engine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/hooks"
	"github.com/ramp-deploy/ramp/internal/pipenet"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// receiver is an in-memory webhook endpoint at http://hooks.test/<type>:
// answer gives the status of the nth call (from 1) of each type; 0 hangs
// until the caller gives up. Missing types answer 200.
type receiver struct {
	answer map[string]func(n int) int
	mu     sync.Mutex
	calls  []hooks.Payload
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p hooks.Payload
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.calls = append(rc.calls, p)
	n := len(rc.of(p.Type))
	f := rc.answer[p.Type]
	rc.mu.Unlock()
	status := http.StatusOK
	if f != nil {
		status = f(n)
	}
	if status == 0 {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(status)
}

// of lists the calls of type kind; the caller holds mu.
func (rc *receiver) of(kind string) []hooks.Payload {
	var out []hooks.Payload
	for _, p := range rc.calls {
		if p.Type == kind {
			out = append(out, p)
		}
	}
	return out
}

// calls returns the calls of type kind.
func (rc *receiver) callsOf(kind string) []hooks.Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.of(kind)
}

// withHooks gives e one webhook of each kind, with no retries, answered
// by rc on an in-memory server; it must be called inside a synctest bubble.
func withHooks(t *testing.T, e *engine.Engine, rc *receiver, kinds ...string) *engine.Engine {
	t.Helper()
	srv := httptest.NewUnstartedServer(rc)
	_ = srv.Listener.Close() // the loopback listener is not used
	l := pipenet.Listen("hooks.test")
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	var specs []gates.WebhookSpec
	none := 0
	for _, k := range kinds {
		specs = append(specs, gates.WebhookSpec{Name: k, Type: k, URL: "http://hooks.test/" + k, Timeout: time.Second, Retries: &none})
	}
	set := hooks.New(specs, hooks.Rollout{Service: "web", ID: "r1", Commit: "abc"}, hooks.Options{Client: &http.Client{Transport: tr}})
	e.Hooks = set
	e.Gates = append(e.Gates, set.Gates()...)
	return e
}

// refuse answers 409 to the first n calls, then 200.
func refuse(n int) func(int) int {
	return func(k int) int {
		if k <= n {
			return http.StatusConflict
		}
		return http.StatusOK
	}
}

func always(status int) func(int) int { return func(int) int { return status } }

// TestConfirmWebhooksHold: a confirmation that says "not yet" holds the
// rollout where it is, asking again every interval, then it goes on.
func TestConfirmWebhooksHold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind       string
		calls      int // of the kind, with two refusals
		weight     int // while holding
		next       int
		beforeWhat string // the provider call that must wait for the confirmation
	}{
		{gates.HookConfirmRollout, 3, 0, 0, "Apply shift v2 to 10%"},
		{gates.HookConfirmTrafficIncrease, 4, 0, 10, "Apply shift v2 to 10%"},
		{gates.HookConfirmPromotion, 3, 50, 100, "Apply promote"},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				rc := &receiver{answer: map[string]func(int) int{c.kind: refuse(2)}}
				rec := &recorder{}
				e := withHooks(t, newEngine(p, rec), rc, c.kind)
				moved := false
				p.OnCall(strings.Fields(c.beforeWhat)[0], func() {
					if n := len(rc.callsOf(c.kind)); !moved && count(p, c.beforeWhat) > 0 {
						moved = true
						if n < 3 {
							t.Errorf("%s after %d calls of %s, want after the third", c.beforeWhat, n, c.kind)
						}
					}
				})
				start := time.Now()
				res := e.Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != engine.OutcomePromoted {
					t.Fatalf("outcome %s (%s), want promoted", res.Outcome, res.Reason)
				}
				if got, want := time.Since(start), 40*time.Second; got != want {
					t.Errorf("took %s, want %s (two holds, two refusals of one interval each)", got, want)
				}
				calls := rc.callsOf(c.kind)
				if len(calls) != c.calls {
					t.Fatalf("%d calls of %s, want %d", len(calls), c.kind, c.calls)
				}
				first := calls[0]
				if first.Weight != c.weight || first.NextWeight != c.next || first.Candidate != "v2" || first.Stable != "v1" ||
					first.Service != "web" || first.RolloutID != "r1" || first.Commit != "abc" {
					t.Errorf("first payload %+v", first)
				}
				if !strings.Contains(strings.Join(rec.types(), " "), "hook_called holding hook_called holding hook_called") {
					t.Errorf("events %v: want each call reported, holding between", rec.types())
				}
			})
		})
	}
}

// TestUnconfirmedRolloutPausesNeverRollsBack: past the progress deadline a
// confirmation still refused pauses the rollout where it is; resuming asks
// again.
func TestUnconfirmedRolloutPausesNeverRollsBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind   string
		weight int
	}{
		{gates.HookConfirmRollout, 0},
		{gates.HookConfirmTrafficIncrease, 10},
		{gates.HookConfirmPromotion, 50},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				refusals := 100
				if c.kind == gates.HookConfirmTrafficIncrease {
					refusals = 0 // the shift to 10% is confirmed, the one to 50% is not
				}
				answer := func(n int) int {
					if c.kind == gates.HookConfirmTrafficIncrease && n > 1 && n <= 100 {
						return http.StatusForbidden
					}
					return refuse(refusals)(n)
				}
				rc := &receiver{answer: map[string]func(int) int{c.kind: answer}}
				plan := canaryPlan(t, "10,50,100")
				res := withHooks(t, newEngine(p, &recorder{}), rc, c.kind).Deploy(t.Context(), plan, art, providers.Rollout{ID: "r1"})
				st := p.Snapshot()
				if res.Outcome != engine.OutcomePaused || st.Weight != c.weight || st.Rollout.Phase != providers.PhasePaused ||
					!strings.Contains(res.Reason, "not confirmed within progress-deadline 1m0s") {
					t.Fatalf("outcome %s at %d%% phase %s (%s), want paused at %d%%", res.Outcome, st.Weight, st.Rollout.Phase, res.Reason, c.weight)
				}
				if n := count(p, "Apply rollback"); n != 0 {
					t.Errorf("%d rollbacks, want none", n)
				}
				asked := len(rc.callsOf(c.kind))
				time.Sleep(time.Hour)
				rc.mu.Lock()
				rc.answer[c.kind] = always(http.StatusOK)
				rc.mu.Unlock()
				res = withHooks(t, newEngine(p, &recorder{}), rc, c.kind).Resume(t.Context(), plan)
				if res.Outcome != engine.OutcomePromoted {
					t.Fatalf("resume: %s (%s), want promoted", res.Outcome, res.Reason)
				}
				if len(rc.callsOf(c.kind)) <= asked {
					t.Errorf("resume did not ask %s again", c.kind)
				}
			})
		})
	}
}

// TestCommandsWinWhileAConfirmationHolds: a pause, promotion or rollback
// from another process ends the wait for a confirmation.
func TestCommandsWinWhileAConfirmationHolds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		command func(*engine.Engine) engine.Result
		outcome engine.Outcome
		weight  int
	}{
		{"rollback", func(e *engine.Engine) engine.Result { return e.Rollback(context.Background(), "by bob") }, engine.OutcomeRolledBack, 0},
		{"pause", func(e *engine.Engine) engine.Result { return e.Pause(context.Background(), "by bob") }, engine.OutcomePaused, 10},
		{"promote", func(e *engine.Engine) engine.Result { return e.Promote(context.Background(), "by bob") }, engine.OutcomePromoted, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				other := newEngine(p, &recorder{})
				rc := &receiver{}
				rc.answer = map[string]func(int) int{gates.HookConfirmTrafficIncrease: func(n int) int {
					switch {
					case n == 1: // to 10%
						return http.StatusOK
					case n == 3: // held at 10% for one interval
						c.command(other)
					}
					return http.StatusLocked
				}}
				res := withHooks(t, newEngine(p, &recorder{}), rc, gates.HookConfirmTrafficIncrease).Deploy(
					t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome {
					t.Errorf("deploy process: %s (%s), want %s", res.Outcome, res.Reason, c.outcome)
				}
				if st := p.Snapshot(); st.Weight != c.weight && !(c.weight == 100 && st.Stable.ID == "v2") {
					t.Errorf("weight %d, want %d", st.Weight, c.weight)
				}
				if n := len(rc.callsOf(gates.HookConfirmTrafficIncrease)); n != 3 {
					t.Errorf("asked %d times, want 3 (not again once the command ended the rollout)", n)
				}
			})
		})
	}
}

// TestPreRolloutAndToldWebhooks: pre-rollout gates the first shift (a
// failure rolls back), rollout webhooks are gates, rollback and
// post-rollout are told and their failures are only warnings.
func TestPreRolloutAndToldWebhooks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		answer  map[string]func(int) int
		outcome engine.Outcome
		reason  string
		shifts  int
		told    []string // the types told, in order
		warning string
	}{
		{"all answer 2xx", nil, engine.OutcomePromoted, "every step passed", 2,
			[]string{gates.HookPostRollout}, ""},
		{"pre-rollout fails", map[string]func(int) int{gates.HookPreRollout: always(500)}, engine.OutcomeRolledBack,
			"pre-rollout webhook pre-rollout: answered 500 after 1 attempt", 0, []string{gates.HookRollback, gates.HookPostRollout}, ""},
		{"rollout webhook fails", map[string]func(int) int{gates.HookRollout: always(503)}, engine.OutcomeRolledBack,
			"webhook rollout failed 2 times in a row", 1, []string{gates.HookRollback, gates.HookPostRollout}, ""},
		{"rollout webhook never answers", map[string]func(int) int{gates.HookRollout: always(0)}, engine.OutcomeRolledBack,
			"webhook rollout could not be measured 3 times in a row", 1, []string{gates.HookRollback, gates.HookPostRollout}, ""},
		{"told webhooks fail", map[string]func(int) int{gates.HookPostRollout: always(500)}, engine.OutcomePromoted,
			"every step passed", 2, []string{gates.HookPostRollout}, "post-rollout webhook post-rollout: answered 500"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				healthy(p, "v2")
				rc := &receiver{answer: c.answer}
				rec := &recorder{}
				e := withHooks(t, newEngine(p, rec), rc, gates.HookPreRollout, gates.HookRollout, gates.HookRollback, gates.HookPostRollout)
				e.Limits.Errors = 3
				res := e.Deploy(t.Context(), canaryPlan(t, "10,50,100"), art, providers.Rollout{ID: "r1"})
				if res.Outcome != c.outcome || !strings.Contains(res.Reason, c.reason) {
					t.Fatalf("outcome %s (%s), want %s (%s)", res.Outcome, res.Reason, c.outcome, c.reason)
				}
				if n := count(p, "Apply shift"); n != c.shifts {
					t.Errorf("%d shifts, want %d", n, c.shifts)
				}
				rc.mu.Lock()
				var told []string
				for _, call := range rc.calls {
					if call.Type == gates.HookRollback || call.Type == gates.HookPostRollout {
						told = append(told, call.Type)
					}
				}
				pre := rc.of(gates.HookPreRollout)
				rc.mu.Unlock()
				if strings.Join(told, ",") != strings.Join(c.told, ",") {
					t.Errorf("told %v, want %v", told, c.told)
				}
				if len(pre) != 1 || pre[0].Weight != 0 {
					t.Errorf("pre-rollout calls %+v, want one at 0%%", pre)
				}
				if w := rec.warnings(); c.warning != "" && !strings.Contains(w, c.warning) {
					t.Errorf("warnings %q, want %q", w, c.warning)
				}
			})
		})
	}
}
