package ecs

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
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
