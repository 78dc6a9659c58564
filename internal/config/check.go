package config

import (
	"regexp"
	"slices"
	"strings"

	"github.com/ramp-deploy/ramp/strategies"
)

// strategyOptions lists the options that apply to some strategies only,
// with those strategies. Giving one to another strategy is an input error:
// it would be silently ignored.
var strategyOptions = []struct {
	option     string
	strategies []string
}{
	{"steps", []string{"canary"}},
	{"increment", []string{"linear"}},
	{"max-surge", []string{"rolling"}},
	{"max-unavailable", []string{"rolling"}},
	{"match", []string{"ab"}},
	{"ab-weight", []string{"ab"}},
	{"duration", []string{"ab"}},
	{"on-finish", []string{"ab"}},
	{"hold", []string{"canary", "linear", "bluegreen", "rolling"}},
}

// applies records an error for every option the user gave (a flag, a
// RAMP_* variable, an action input other than its default) that the
// strategy does not read. An unknown strategy is left to strategies.New.
func (p *parser) applies(strategy string) {
	if !slices.Contains(strategies.Names(), strategy) {
		return
	}
	for _, so := range strategyOptions {
		if p.v.Given(so.option) && !slices.Contains(so.strategies, strategy) {
			p.fail(so.option, p.v.Get(so.option), "does not apply to strategy %q, only to %s: remove it or choose another strategy",
				strategy, strings.Join(so.strategies, ", "))
		}
	}
}

// ReservedEnv lists, per provider, the environment variables the platform
// sets on every revision itself, which env may therefore not set: Cloud Run
// refuses them, and the local provider sets PORT to the revision's port.
var ReservedEnv = map[string][]string{
	"cloudrun": {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"},
	"local":    {"PORT"},
}

// envName is what a variable name in env must look like: portable across
// shells, platforms and Cloud Run.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// env checks the KEY=VALUE pairs of the input in (env, env-file). A
// problem names the variable, never its value, which may be a secret.
func (p *parser) env(in, provider string, pairs []string) {
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			p.fail(in, kv, "entries must be KEY=VALUE")
		case k == "":
			p.fail(in, "", "entries must be KEY=VALUE; one has no KEY")
		case !p.envVar(in, provider, k):
		case strings.ContainsAny(v, "\x00\r"):
			p.fail(in, k, "the value of %s holds a NUL or carriage return", k)
		}
	}
}

// envVar checks the name of a variable the input in sets, recording the
// problem; it reports whether the name is fine.
func (p *parser) envVar(in, provider, k string) bool {
	switch {
	case !envName.MatchString(k):
		p.fail(in, k, "variable names are letters, digits and _, not starting with a digit")
	case slices.Contains(ReservedEnv[provider], k):
		p.fail(in, k, "%s is set by the %s provider itself", k, provider)
	default:
		return true
	}
	return false
}
