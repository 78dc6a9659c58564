package ecs

import (
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

var cohort = &providers.Routing{Match: []providers.Match{{Kind: providers.MatchHeader, Name: "X-Variant", Value: "b"}}}

// startAB deploys v2 and records a rollout of it.
func startAB(t *testing.T, p *Provider) providers.Rollout {
	t.Helper()
	if _, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"}); err != nil {
		t.Fatal(err)
	}
	rec := providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: "v2"}
	apply(t, p, &rec, providers.Transition{Action: providers.ActionRecord})
	return rec
}

// extraRules are the listener's rules besides its default and the seeded
// one (listener-rule).
func (e *testEnv) extraRules(t *testing.T, p *Provider) []elbtypes.Rule {
	t.Helper()
	c, err := p.clientsFor(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.elb.DescribeRules(t.Context(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(e.s.Listener)})
	if err != nil {
		t.Fatal(err)
	}
	var rules []elbtypes.Rule
	for _, r := range out.Rules {
		if !aws.ToBool(r.IsDefault) && aws.ToString(r.RuleArn) != e.s.Rule {
			rules = append(rules, r)
		}
	}
	return rules
}

// route is where the listener sends a request for target with the
// X-Variant header (none when empty): the weights by target group name.
func (e *testEnv) route(target, variant string) map[string]int {
	req := httptest.NewRequest("GET", target, nil)
	if variant != "" {
		req.Header.Set("X-Variant", variant)
	}
	out := map[string]int{}
	for arn, w := range e.w.Route(e.s.Listener, req) {
		name := "blue"
		if arn == e.s.TargetGroups[1] {
			name = "green"
		}
		out[name] = w
	}
	return out
}

func status(t *testing.T, p *Provider) providers.Status {
	t.Helper()
	st, err := p.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestABHeaderMatch runs an A/B test by header on the listener's default
// action and through a listener rule: ramp's rule sits right in front of
// the weighted one with the header (and the rule's own path) as its
// conditions, the cohort reaches the candidate and everyone else the
// stable, Status reports the routing, and promote (or rollback) deletes
// the rule.
func TestABHeaderMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		rule     bool
		end      providers.Action
		prio     string
		conds    []string
		in, out  string // a request the rule covers, one it does not ("/": none)
		endRoute map[string]int
	}{
		{name: "default action, promote", end: providers.ActionPromote, prio: "50000", conds: []string{"http-header"},
			in: "/", out: "/", endRoute: map[string]int{"blue": 0, "green": 100}},
		{name: "listener rule, rollback", rule: true, end: providers.ActionRollback, prio: "9", conds: []string{"http-header", "path-pattern"},
			in: "/api/x", out: "/web", endRoute: map[string]int{"blue": 100, "green": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				if tc.rule {
					e.cfg.ListenerRule = e.s.Rule
				}
				p := e.provider(t)
				rec := startAB(t, p)
				apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 0, Routing: cohort})
				rules := e.extraRules(t, p)
				if len(rules) != 1 || aws.ToString(rules[0].Priority) != tc.prio {
					t.Fatalf("rules after the shift: %+v, want one at priority %s", rules, tc.prio)
				}
				var fields []string
				for _, c := range rules[0].Conditions {
					fields = append(fields, aws.ToString(c.Field))
				}
				if diff := cmp.Diff(tc.conds, fields); diff != "" || rules[0].Conditions[0].HttpHeaderConfig.Values[0] != "b" {
					t.Errorf("the rule's conditions (-want +got):\n%s%+v", diff, rules[0].Conditions)
				}
				if got := e.route(tc.in, "b"); !cmp.Equal(got, map[string]int{"green": 1}) {
					t.Errorf("the cohort reaches %v, want green", got)
				}
				if got := e.route(tc.in, "a"); got["green"] != 0 {
					t.Errorf("others reach %v, want blue", got)
				}
				if got := e.route(tc.out, "b"); tc.out != "/" && got["green"] != 0 {
					t.Errorf("the cohort outside the weighted rule reaches %v, want blue", got)
				}
				if st := status(t, p); !st.Routing.Equal(cohort) || st.Rollout.Intent != nil || len(st.Warnings) > 0 {
					t.Errorf("status: routing %s, intent %+v, warnings %q", st.Routing, st.Rollout.Intent, st.Warnings)
				}
				// The same shift again changes nothing on the platform.
				before := e.w.Calls()
				apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 0, Routing: cohort})
				if after := e.w.Calls(); after["elasticloadbalancing:CreateRule"] != before["elasticloadbalancing:CreateRule"] ||
					after["elasticloadbalancing:ModifyRule"] != before["elasticloadbalancing:ModifyRule"] {
					t.Errorf("a repeated shift wrote the rule again")
				}
				rec.Phase = providers.PhasePromoted
				if tc.end == providers.ActionRollback {
					rec.Phase = providers.PhaseRolledBack
				}
				apply(t, p, &rec, providers.Transition{Action: tc.end, Revision: "v2"})
				if rules := e.extraRules(t, p); len(rules) != 0 {
					t.Errorf("rules after %s: %+v", tc.end, rules)
				}
				if got := e.route(tc.in, "b"); !cmp.Equal(got, tc.endRoute) {
					t.Errorf("after %s the cohort reaches %v, want %v", tc.end, got, tc.endRoute)
				}
				st := status(t, p)
				if st.Routing != nil || len(st.Warnings) > 0 {
					t.Errorf("status after %s: routing %s, warnings %q", tc.end, st.Routing, st.Warnings)
				}
				if v, err := p.read(t.Context(), "read", false); err != nil || v.st.AB != nil {
					t.Errorf("state after %s: %+v (%v)", tc.end, v, err)
				}
			}, func(s *fake.Seed) { s.RulePath = "/api/*" })
		})
	}
}

// TestABSticky runs a weighted A/B test with sticky sessions: the forward
// action turns target group stickiness on for seven days (ALB's longest)
// along with the weights, Status reports it, a shift by query adds ramp's
// rule, and rollback turns stickiness off and deletes the rule.
func TestABSticky(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		rec := startAB(t, p)
		sticky := &providers.Routing{Sticky: true}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 50, Routing: sticky})
		if on, secs := e.w.Stickiness(e.s.Listener); !on || secs != 604800 || e.weights() != [2]int{50, 50} {
			t.Fatalf("stickiness %v for %ds, weights %v; want on for 604800s at 50/50", on, secs, e.weights())
		}
		if st := status(t, p); !st.Routing.Equal(sticky) || st.Weight != 50 {
			t.Errorf("status: routing %s at %d%%", st.Routing, st.Weight)
		}
		both := &providers.Routing{Sticky: true, Match: []providers.Match{{Kind: providers.MatchQuery, Name: "variant", Value: "b"}}}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 50, Routing: both})
		if got := e.route("/?variant=b", ""); !cmp.Equal(got, map[string]int{"green": 1}) {
			t.Errorf("the query cohort reaches %v, want green", got)
		}
		if st := status(t, p); !st.Routing.Equal(both) {
			t.Errorf("status: routing %s, want %s", st.Routing, both)
		}
		rec.Phase = providers.PhaseRolledBack
		apply(t, p, &rec, providers.Transition{Action: providers.ActionRollback, Revision: "v2"})
		if on, _ := e.w.Stickiness(e.s.Listener); on || len(e.extraRules(t, p)) != 0 || e.weights() != [2]int{100, 0} {
			t.Errorf("after rollback: stickiness %v, rules %+v, weights %v", on, e.extraRules(t, p), e.weights())
		}
		if st := status(t, p); st.Routing != nil {
			t.Errorf("status after rollback: routing %s", st.Routing)
		}
	})
}

// TestABPlainShiftEndsTheTest pins what a shift without routing costs when no
// A/B test was recorded (no listener rule read or written), and that a
// plain shift after an A/B one ends the test: rule deleted, stickiness
// off, the record's A/B state cleared.
func TestABPlainShiftEndsTheTest(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		rec := startAB(t, p)
		before := e.w.Calls()
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 10})
		after := e.w.Calls()
		if after["elasticloadbalancing:DescribeRules"] != before["elasticloadbalancing:DescribeRules"] {
			t.Errorf("a plain shift read the listener's rules")
		}
		both := &providers.Routing{Sticky: true, Match: cohort.Match}
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 20, Routing: both})
		apply(t, p, &rec, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 30})
		if on, _ := e.w.Stickiness(e.s.Listener); on || len(e.extraRules(t, p)) != 0 || e.weights() != [2]int{70, 30} {
			t.Errorf("after a plain shift: stickiness %v, rules %+v, weights %v", on, e.extraRules(t, p), e.weights())
		}
		if v, err := p.read(t.Context(), "read", false); err != nil || v.st.AB != nil {
			t.Errorf("state after a plain shift: %+v (%v)", v.st.AB, err)
		}
	})
}

// TestABStoppedBetweenIntentAndRule has the rule's creation fail right
// after the intent was stated, as a process stopped there: a reader sees
// the intent pending and no routing, and applying the intent again makes
// the rule at the priority the record states. Then a rollback stopped
// before it deletes the rule: the rule is still reported, and the rollback
// applied again deletes it.
func TestABStoppedBetweenIntentAndRule(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		rec := startAB(t, p)
		e.w.Deny("elasticloadbalancing", "CreateRule")
		shift := providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 10, Routing: cohort, Record: rec}
		if _, err := p.Apply(t.Context(), shift); err == nil {
			t.Fatal("the shift made its rule while CreateRule was denied")
		}
		e.w.Allow("elasticloadbalancing", "CreateRule")
		q := e.provider(t) // another process
		st := status(t, q)
		if st.Rollout.Intent == nil || !st.Rollout.Intent.Routing.Equal(cohort) || st.Routing != nil {
			t.Fatalf("status after the stop: intent %+v, routing %s", st.Rollout.Intent, st.Routing)
		}
		rec, err := q.Apply(t.Context(), st.Rollout.Intent.Transition(st.Rollout))
		if err != nil {
			t.Fatal(err)
		}
		if rules := e.extraRules(t, q); len(rules) != 1 || aws.ToString(rules[0].Priority) != "50000" {
			t.Fatalf("rules after the intent was applied again: %+v", rules)
		}
		if st := status(t, q); !st.Routing.Equal(cohort) || st.Rollout.Intent != nil {
			t.Fatalf("status: intent %+v, routing %s", st.Rollout.Intent, st.Routing)
		}
		e.w.Deny("elasticloadbalancing", "DeleteRule")
		rec.Phase = providers.PhaseRolledBack
		if _, err := q.Apply(t.Context(), providers.Transition{Action: providers.ActionRollback, Revision: "v2", Record: rec}); err == nil {
			t.Fatal("the rollback deleted the rule while DeleteRule was denied")
		}
		e.w.Allow("elasticloadbalancing", "DeleteRule")
		st = status(t, p)
		if st.Rollout.Intent == nil || st.Rollout.Intent.Action != providers.ActionRollback || !st.Routing.Equal(cohort) {
			t.Fatalf("status after the stopped rollback: intent %+v, routing %s", st.Rollout.Intent, st.Routing)
		}
		if _, err := p.Apply(t.Context(), st.Rollout.Intent.Transition(st.Rollout)); err != nil {
			t.Fatal(err)
		}
		if rules := e.extraRules(t, p); len(rules) != 0 {
			t.Errorf("rules after the rollback was applied again: %+v", rules)
		}
	})
}

// TestABRefusals refuses, before any call, what ALB or the mode cannot do:
// a cookie, two kinds of match in one test, a wildcard, and any routing in
// mode native (RoutesBy reports no kinds; Apply refuses).
func TestABRefusals(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		ctx := t.Context()
		for _, tc := range []struct {
			match   []string
			sticky  bool
			problem string
		}{
			{[]string{"cookie:variant=b"}, false, `routes by ["header" "query"] only`},
		} {
			m, err := providers.ParseMatch(tc.match)
			if err != nil {
				t.Fatal(err)
			}
			err = providers.CheckRouting(ctx, p, "ecs", &providers.Routing{Match: m, Sticky: tc.sticky})
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("%q: %v, want %q", tc.match, err, tc.problem)
			}
		}
		rec := startAB(t, p)
		before := total(e.w.Calls())
		for _, tc := range []struct {
			match   []string
			problem string
		}{
			{[]string{"header:X-Variant=b", "query:variant=b"}, "an ALB rule matches one header, or query parameters"},
			{[]string{"header:X-Variant=b", "header:X-Beta=1"}, "one header name"},
			{[]string{"header:X-Variant=b*"}, "wildcards"},
		} {
			m, err := providers.ParseMatch(tc.match)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Apply(ctx, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 10,
				Routing: &providers.Routing{Match: m}, Record: rec})
			if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("%q: %v, want %q", tc.match, err, tc.problem)
			}
		}
		if after := total(e.w.Calls()); after != before {
			t.Errorf("the refusals made %d calls", after-before)
		}
		n := e.nativeProvider(t, 10, 100)
		if kinds, sticky := n.RoutesBy(ctx); len(kinds) != 0 || sticky {
			t.Errorf("mode native routes by %q, sticky %v", kinds, sticky)
		}
		if err := providers.CheckRouting(ctx, n, "ecs", cohort); err == nil || !strings.Contains(err.Error(), "strategy ab needs mode tasksets") {
			t.Errorf("CheckRouting of mode native: %v", err)
		}
		_, err := n.Apply(ctx, providers.Transition{Action: providers.ActionShift, Revision: "v2", Weight: 10, Routing: cohort})
		if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "mode native cannot route by request") {
			t.Errorf("mode native applied a routing: %v", err)
		}
	})
}

// TestABEngine runs strategy ab through the engine over the real SDK
// clients and the fake, compared on CloudWatch: a header cohort and a
// sticky half of the other clients reach the candidate for the test's 10
// minutes, the stable fails 5% of its requests, and on-finish
// promote-winner promotes the candidate, which deletes ramp's rule and
// turns stickiness off. The calls of the shift and the promotion are
// pinned.
func TestABEngine(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		e.w.SetBehaviour(func(image string) fake.Behaviour {
			b := fake.DefaultBehaviour(image)
			if image == stableImage {
				b.ErrorRatio = 0.05
			}
			return b
		})
		p := e.provider(t)
		plan, err := strategies.New(strategies.Spec{Strategy: strategies.AB, Match: []string{"header:X-Variant=b"}, ABWeight: 50,
			Duration: 10 * time.Minute, OnFinish: strategies.OnFinishPromoteWinner, Interval: time.Minute, FailureThreshold: 2})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var routed bool
		counter := &callCounter{w: e.w}
		eng := &engine.Engine{Provider: p, Service: "web",
			Metrics: gates.Metrics{Source: p, Delay: gates.DefaultDelay(p), AB: &gates.ABSpec{Alpha: 0.01, Errors: true}},
			Limits:  gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute, RollbackWindow: time.Hour,
			Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second},
			Events: func(ev engine.Event) {
				counter.sink(ev)
				if _, ok := ev.(*engine.Concluded); ok {
					mu.Lock()
					on, secs := e.w.Stickiness(e.s.Listener)
					routed = on && secs == 604800 && cmp.Equal(e.route("/", "b"), map[string]int{"green": 1})
					mu.Unlock()
				}
			}}
		res := eng.Deploy(t.Context(), plan, providers.Artifact{Image: nextImage, Revision: "v2"}, providers.Rollout{ID: "r1"})
		if res.Outcome != engine.OutcomePromoted || res.AB == nil || res.AB.Winner != gates.VariantCandidate {
			t.Fatalf("outcome %s (%s), verdict %+v; want the candidate promoted as the winner", res.Outcome, res.Reason, res.AB)
		}
		// An A/B shift is a plain one (4) plus reading the listener's rules
		// and creating ramp's; its promotion a plain one (10) plus the
		// rule's delete.
		if n := len(counter.counts); n != 4 || counter.counts[0] != "shift 50: 6" || counter.counts[n-1] != "promote 100: 11" {
			t.Errorf("AWS calls per step: %q\n%s", counter.counts, strings.Join(counter.detail, "\n"))
		}
		mu.Lock()
		if !routed {
			t.Error("at the conclusion the cohort did not reach the candidate with stickiness on")
		}
		mu.Unlock()
		if on, _ := e.w.Stickiness(e.s.Listener); on || len(e.extraRules(t, p)) != 0 || e.weights() != [2]int{0, 100} {
			t.Errorf("after promotion: stickiness %v, rules %+v, weights %v", on, e.extraRules(t, p), e.weights())
		}
	})
}
