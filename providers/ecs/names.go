package ecs

import (
	"crypto/rand"
	"errors"
	"regexp"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// The names ECS and ELBv2 take.
var (
	// serviceName and clusterName: up to 255 letters, digits, hyphens and
	// underscores.
	serviceName = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_]{0,254}$`)
	// containerName: up to 255 letters, digits, hyphens and underscores.
	containerName = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_]{0,254}$`)
	// listenerARN, ruleARN and targetGroupARN are ELBv2 ARNs in any
	// partition; the load balancer kind (app, net) is kept.
	listenerARN    = regexp.MustCompile(`^arn:aws[-a-z]*:elasticloadbalancing:[-a-z0-9]+:\d{12}:listener/(app|net|gwy)/[-A-Za-z0-9]+/[0-9a-f]+/[0-9a-f]+$`)
	ruleARN        = regexp.MustCompile(`^arn:aws[-a-z]*:elasticloadbalancing:[-a-z0-9]+:\d{12}:listener-rule/(app|net|gwy)/[-A-Za-z0-9]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$`)
	targetGroupARN = regexp.MustCompile(`^arn:aws[-a-z]*:elasticloadbalancing:[-a-z0-9]+:\d{12}:targetgroup/[-A-Za-z0-9]+/[0-9a-f]+$`)
	// revisionName is what ramp takes as a revision (the task set's
	// external ID): letters, digits, hyphens, underscores and dots.
	revisionName = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$`)
)

// validate reports every missing or malformed location input at once.
func validate(cfg providers.Config) error {
	var errs []error
	check := func(name, value string, ok bool, problem string) {
		if value != "" && !ok {
			errs = append(errs, input.Invalid(name, value, "%s", problem))
		}
	}
	if cfg.Service == "" {
		errs = append(errs, input.Missing("service"))
	}
	if cfg.Listener == "" {
		errs = append(errs, input.Invalid("listener", "", "is required: the ARN of the Application Load Balancer listener that routes the service's traffic"))
	}
	check("service", cfg.Service, serviceName.MatchString(cfg.Service), "must be 1 to 255 letters, digits, hyphens and underscores")
	check("cluster", cfg.Cluster, serviceName.MatchString(cfg.Cluster), "must be a cluster name: 1 to 255 letters, digits, hyphens and underscores")
	check("container", cfg.Container, containerName.MatchString(cfg.Container), "must be a container name: 1 to 255 letters, digits, hyphens and underscores")
	check("listener", cfg.Listener, listenerARN.MatchString(cfg.Listener), "must be a listener ARN, arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID")
	if m := listenerARN.FindStringSubmatch(cfg.Listener); m != nil && m[1] != "app" {
		errs = append(errs, input.Invalid("listener", cfg.Listener, "is a listener of a %s load balancer: only an Application Load Balancer forwards to weighted target groups", kindName(m[1])))
	}
	check("listener-rule", cfg.ListenerRule, ruleARN.MatchString(cfg.ListenerRule), "must be a listener rule ARN, arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/ID/ID/ID")
	if cfg.ListenerRule != "" && listenerARN.MatchString(cfg.Listener) && !strings.HasPrefix(strings.Replace(cfg.ListenerRule, ":listener-rule/", ":listener/", 1), cfg.Listener+"/") {
		errs = append(errs, input.Invalid("listener-rule", cfg.ListenerRule, "is not a rule of listener %s", cfg.Listener))
	}
	return errors.Join(append(errs, checkTargetGroups(cfg.TargetGroups), checkMode(cfg))...)
}

// checkTargetGroups checks the target-groups input: none (taken from the
// forward action), or the two the versions alternate between.
func checkTargetGroups(tgs []string) error {
	value := strings.Join(tgs, ",")
	switch {
	case len(tgs) == 0:
		return nil
	case len(tgs) != 2:
		return input.Invalid("target-groups", value, "must name two target groups (the stable's and the candidate's), not %d", len(tgs))
	case tgs[0] == tgs[1]:
		return input.Invalid("target-groups", value, "names the same target group twice; the candidate needs its own")
	}
	var errs []error
	for _, tg := range tgs {
		if !targetGroupARN.MatchString(tg) {
			errs = append(errs, input.Invalid("target-groups", value, "%q is not a target group ARN, arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID", tg))
		}
	}
	return errors.Join(errs...)
}

func kindName(short string) string {
	switch short {
	case "net":
		return "Network"
	case "gwy":
		return "Gateway"
	}
	return "Application"
}

// CheckArtifact checks, without calling anything, what a asks the ECS
// provider for: a revision name ECS takes as a task set's external ID,
// and no service setting, since ECS takes the candidate's settings from
// the stable task definition. Every problem is an *input.Error naming the
// input, all of them at once.
func CheckArtifact(_ providers.Config, a providers.Artifact) error {
	var errs []error
	if a.Revision != "" && !revisionName.MatchString(a.Revision) {
		errs = append(errs, input.Invalid("revision", a.Revision, "must be 1 to 63 letters, digits, hyphens, underscores and dots (the task set's external ID)"))
	}
	for _, name := range a.Settings.Set() {
		errs = append(errs, input.Invalid(a.Settings.InputOf(name), "", "is not supported by the ecs provider: the candidate's task definition copies the stable one's, with the new image and env"))
	}
	if a.Settings.EnvMode == providers.EnvReplace {
		errs = append(errs, input.Invalid("env-mode", a.Settings.EnvMode, "is not supported by the ecs provider: env is added to the stable task definition's environment"))
	}
	for _, kv := range a.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, input.Invalid("env", kv, "must be KEY=VALUE"))
		}
	}
	return errors.Join(errs...)
}

// newRevision is the revision name of a deploy that gives none.
func newRevision(service string) string {
	return strings.ToLower(service[:min(len(service), 50)]) + "-" + strings.ToLower(rand.Text()[:8])
}
