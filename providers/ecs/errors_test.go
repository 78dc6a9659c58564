package ecs

import (
	"errors"
	"strings"
	"testing"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// TestRefusals checks that a service mode tasksets cannot drive is
// refused before anything changes, naming the reason.
func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		seed func(*fake.Seed)
		cfg  func(*providers.Config)
		want string
	}{
		{"not on the EXTERNAL controller", func(s *fake.Seed) { s.Controller = fake.ControllerECS }, nil,
			"uses the ECS deployment controller; mode tasksets needs a service created with deploymentController EXTERNAL"},
		{"no second target group", func(s *fake.Seed) { s.TargetGroups = s.TargetGroups[:1] }, func(c *providers.Config) { c.TargetGroups = nil },
			"missing second target group"},
		{"target groups not the stable's", nil, func(c *providers.Config) {
			c.TargetGroups = []string{c.TargetGroups[1], strings.Replace(c.TargetGroups[1], "green", "other", 1)}
		}, "not one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*fake.Seed)
			if tc.seed != nil {
				mods = append(mods, tc.seed)
			}
			bubble(t, func(t *testing.T, e *testEnv) {
				if tc.cfg != nil {
					tc.cfg(&e.cfg)
				}
				p := e.provider(t)
				before := len(e.w.TaskSets("prod", "web"))
				for name, call := range map[string]func() error{
					"Preflight": func() error { return p.Preflight(t.Context()) },
					"Deploy":    func() error { _, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage}); return err },
				} {
					err := call()
					if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("%s: %v, want ErrInvalid saying %q", name, err, tc.want)
					}
				}
				if n := len(e.w.TaskSets("prod", "web")); n != before {
					t.Errorf("%d task sets after a refusal, %d before", n, before)
				}
			}, mods...)
		})
	}
}

// TestErrorsNameTheLocation checks that an error from AWS says which
// cluster, service and region, and wraps the sentinel its code means.
func TestErrorsNameTheLocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     func(*providers.Config)
		deny    string
		want    error
		cluster string
	}{
		{"permission denied", nil, "ecs", providers.ErrPermission, "prod"},
		{"load balancer denied", nil, "elasticloadbalancing", providers.ErrPermission, "prod"},
		{"no such cluster", func(c *providers.Config) { c.Cluster = "staging" }, "", providers.ErrNotFound, "staging"},
		{"no such service", func(c *providers.Config) { c.Service = "api" }, "", providers.ErrNotFound, "prod"},
		{"no such listener", func(c *providers.Config) { c.Listener = c.Listener[:len(c.Listener)-1] + "f" }, "", providers.ErrNotFound, "prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				if tc.cfg != nil {
					tc.cfg(&e.cfg)
				}
				if tc.deny != "" {
					e.w.Deny(tc.deny, "*")
				}
				_, err := e.provider(t).Status(t.Context())
				if !errors.Is(err, tc.want) {
					t.Fatalf("Status: %v, want %v", err, tc.want)
				}
				for _, want := range []string{`service "` + e.cfg.Service + `"`, `cluster "` + tc.cluster + `"`, `region "us-east-1"`} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %s", err, want)
					}
				}
			})
		})
	}
}

// TestNewNamesEveryBadInput checks that New reports every bad location
// input at once, each by name, before any call.
func TestNewNamesEveryBadInput(t *testing.T) {
	t.Parallel()
	const listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
	for _, tc := range []struct {
		name string
		cfg  providers.Config
		want []string
	}{
		{"nothing", providers.Config{}, []string{`input "service"`, `input "listener"`}},
		{"network load balancer", providers.Config{Service: "web",
			Listener: strings.Replace(listener, "/app/", "/net/", 1)}, []string{`input "listener"`, "Network load balancer"}},
		{"everything malformed", providers.Config{Service: "web site", Cluster: "a/b", Container: "app!", Listener: listener,
			ListenerRule: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/aaaa/bbbb",
			TargetGroups: []string{"blue"}},
			[]string{`input "service"`, `input "cluster"`, `input "container"`, `input "listener-rule"`, `input "target-groups"`}},
		{"the same target group twice", providers.Config{Service: "web", Listener: listener, TargetGroups: []string{
			"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/73e2d6bc24d8a067",
			"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/73e2d6bc24d8a067"}}, []string{"the same target group twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if !input.Is(err) {
				t.Fatalf("New: %v, want input errors", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %s", err, want)
				}
			}
		})
	}
}

// TestCheckMetricsAccess checks ramp plan's proof that CloudWatch can be
// read, and its error when it cannot.
func TestCheckMetricsAccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		deny bool
		want error
	}{{"allowed", false, nil}, {"denied", true, providers.ErrPermission}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				if tc.deny {
					e.w.Deny("monitoring", "GetMetricData")
				}
				err := e.provider(t).CheckMetricsAccess(t.Context())
				if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
					t.Errorf("CheckMetricsAccess: %v, want %v", err, tc.want)
				}
				if got := e.w.Calls()["monitoring:GetMetricData"]; got != 1 {
					t.Errorf("%d GetMetricData calls, want 1", got)
				}
			})
		})
	}
}
