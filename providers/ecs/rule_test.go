package ecs

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
)

// TestRuleEditedMidRollout drives a canary through a listener rule (not
// the default action) and has another tool set the rule's weights to
// 30/70 while it holds at 10%: the engine reports it and puts 10% back,
// the rule keeps its conditions, the listener's default action is never
// touched, and the canary is promoted.
func TestRuleEditedMidRollout(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		e.cfg.ListenerRule = e.s.Rule
		p := e.provider(t)
		var mu sync.Mutex
		var warnings []string
		eng := &engine.Engine{Provider: p, Service: "web", Gates: []gates.Gate{stepGate{}},
			Limits: gates.Limits{Failures: 1, Errors: 3}, ProgressDeadline: 10 * time.Minute, RollbackWindow: time.Hour,
			Retry: engine.Backoff{Attempts: 3, Base: time.Second, Max: 10 * time.Second},
			Events: func(ev engine.Event) {
				if w, ok := ev.(*engine.Warning); ok {
					mu.Lock()
					warnings = append(warnings, w.Message)
					mu.Unlock()
				}
			}}
		done := make(chan engine.Result)
		go func() {
			done <- eng.Deploy(t.Context(), canary(t, 5*time.Minute, 10, 100), providers.Artifact{Image: nextImage, Revision: "v2"},
				providers.Rollout{ID: "r1"})
		}()
		time.Sleep(2 * time.Minute)
		if got := e.w.Weights(e.s.Rule); got[e.s.TargetGroups[1]] != 10 {
			t.Fatalf("the rule's weights at 2m: %v, want 10 to green", got)
		}
		e.w.SetWeights(e.s.Rule, map[string]int{e.s.TargetGroups[0]: 30, e.s.TargetGroups[1]: 70})
		time.Sleep(2 * time.Minute)
		if got := e.w.Weights(e.s.Rule); got[e.s.TargetGroups[0]] != 90 || got[e.s.TargetGroups[1]] != 10 {
			t.Errorf("the rule's weights after the edit: %v, want 90/10 put back", got)
		}
		res := <-done
		if res.Outcome != engine.OutcomePromoted {
			t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
		}
		mu.Lock()
		if !strings.Contains(strings.Join(warnings, "\n"), "reports 70% to the candidate, not the 10% this rollout set") {
			t.Errorf("no warning of the edit: %q", warnings)
		}
		mu.Unlock()
		if got := e.w.Weights(e.s.Listener); len(got) != 1 || got[e.s.TargetGroups[0]] != 1 {
			t.Errorf("the default action changed: %v", got)
		}
		c, err := p.clientsFor(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.elb.DescribeRules(t.Context(), &elbv2.DescribeRulesInput{RuleArns: []string{e.s.Rule}})
		if err != nil {
			t.Fatal(err)
		}
		if conds := out.Rules[0].Conditions; len(conds) != 1 || aws.ToString(conds[0].Field) != "path-pattern" {
			t.Errorf("the rule's conditions after the rollout: %+v", conds)
		}
	}, func(s *fake.Seed) { s.RulePath = "/api/*" })
}
