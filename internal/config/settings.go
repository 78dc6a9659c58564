package config

import (
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// The service settings (see providers.ServiceSettings) are read here: their
// syntax and the rules that hold on every platform. The platform's own
// limits (Cloud Run's label rules, CPU and memory sizes) are its provider's
// to check, before any call too (see the artifact checks in internal/cli).

var (
	// serviceAccount is an email address, as Google Cloud names identities.
	serviceAccount = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// cpuQuantity is a CPU count ("2", "0.5") or millicpu ("500m").
	cpuQuantity = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?|[0-9]+m)$`)
	// memoryQuantity is a byte count with an optional unit ("512Mi", "2Gi").
	memoryQuantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$`)
)

// settings reads the service settings into a: the Service YAML named by
// metadata first, then env-file under env (both into a.Env), then each
// setting input, which wins over the file. env has been checked already.
func (p *parser) settings(provider string, a *providers.Artifact) {
	s := &a.Settings
	base := p.metadata(provider, a)
	file := p.envFile(provider)
	a.Env = mergeEnv(base, file, a.Env)
	s.EnvMode = p.str("env-mode")
	switch s.EnvMode {
	case "", providers.EnvMerge:
		s.EnvMode = providers.EnvMerge
	case providers.EnvReplace, "overwrite": // overwrite: deploy-cloudrun's word
		s.EnvMode = providers.EnvReplace
	default:
		p.fail("env-mode", s.EnvMode, "must be merge or replace (overwrite)")
	}
	if p.v.Get("secrets") != "" {
		s.Secrets = mergeSecrets(s.Secrets, p.secrets(provider))
		delete(s.Origin, "secrets")
	}
	p.checkSecretNames(a)
	p.labels(s)
	p.given("service-account", &s.ServiceAccount, s, serviceAccount, "must be a service account's email, e.g. api@my-project.iam.gserviceaccount.com")
	p.given("cpu", &s.CPU, s, cpuQuantity, "must be a number of CPUs such as 1, 2 or 0.5, or millicpu such as 500m")
	p.given("memory", &s.Memory, s, memoryQuantity, "must be a size such as 512Mi or 2Gi")
	p.count("min-instances", &s.MinInstances, s, 0)
	p.count("max-instances", &s.MaxInstances, s, 1)
	p.count("concurrency", &s.Concurrency, s, 1)
	if s.MinInstances != nil && s.MaxInstances != nil && *s.MinInstances > *s.MaxInstances {
		p.fail(s.InputOf("min-instances"), strconv.Itoa(*s.MinInstances), "is more than max-instances (%d)", *s.MaxInstances)
	}
	p.timeout(s)
	p.network(s)
	if raw := p.str("cloudsql-instances"); raw != "" {
		s.CloudSQLInstances = splitList(raw)
		delete(s.Origin, "cloudsql-instances")
	}
	if raw := p.str("ingress"); raw != "" {
		s.Ingress = p.oneOf("ingress", providers.IngressAll, providers.IngressInternal, providers.IngressInternalLB)
		delete(s.Origin, "ingress")
	}
}

// given sets *field to the option's value when one is given, checking it
// against pattern.
func (p *parser) given(name string, field *string, s *providers.ServiceSettings, pattern *regexp.Regexp, problem string) {
	raw := p.str(name)
	if raw == "" {
		if *field != "" && !pattern.MatchString(*field) {
			p.fail(s.InputOf(name), *field, "%s: %s", name, problem)
		}
		return
	}
	delete(s.Origin, name)
	*field = raw
	if !pattern.MatchString(raw) {
		p.fail(name, raw, "%s", problem)
	}
}

// count sets *field to the option's whole number, at least least, when one
// is given.
func (p *parser) count(name string, field **int, s *providers.ServiceSettings, least int) {
	if p.str(name) == "" {
		if *field != nil && **field < least {
			p.fail(s.InputOf(name), strconv.Itoa(**field), "%s must be at least %d", name, least)
		}
		return
	}
	delete(s.Origin, name)
	errs := len(p.errs)
	n := p.integer(name)
	*field = &n
	if len(p.errs) > errs {
		*field = nil
	} else if n < least {
		p.fail(name, p.str(name), "must be at least %d", least)
		*field = nil
	}
}

// timeout reads the request timeout: whole seconds, from 1s to its Max.
func (p *parser) timeout(s *providers.ServiceSettings) {
	if p.str("timeout") != "" {
		delete(s.Origin, "timeout")
		s.Timeout = p.duration("timeout")
		if raw := p.str("timeout"); s.Timeout != 0 && (s.Timeout < time.Second || s.Timeout%time.Second != 0) {
			p.fail("timeout", raw, "must be whole seconds, at least 1s")
			s.Timeout = 0
		}
	}
}

// network reads the egress settings: a connector, or Direct VPC egress
// (network, subnet, or both), and which traffic takes it.
func (p *parser) network(s *providers.ServiceSettings) {
	for _, f := range []struct {
		name  string
		field *string
	}{{"vpc-connector", &s.VPCConnector}, {"network", &s.Network}, {"subnet", &s.Subnet}, {"vpc-egress", &s.VPCEgress}} {
		if raw := p.str(f.name); raw != "" {
			*f.field = raw
			delete(s.Origin, f.name)
		}
	}
	if s.VPCConnector != "" && (s.Network != "" || s.Subnet != "") {
		p.fail(s.InputOf("vpc-connector"), s.VPCConnector, "give a VPC connector or Direct VPC egress (network, subnet), not both")
	}
	switch {
	case s.VPCEgress == "":
	case s.VPCEgress != providers.VPCEgressAll && s.VPCEgress != providers.VPCEgressPrivate:
		p.fail(s.InputOf("vpc-egress"), s.VPCEgress, "must be one of %q", []string{providers.VPCEgressAll, providers.VPCEgressPrivate})
	case s.VPCConnector == "" && s.Network == "" && s.Subnet == "":
		p.fail(s.InputOf("vpc-egress"), s.VPCEgress, "needs vpc-connector, or network or subnet (Direct VPC egress)")
	}
}

// labels reads the KEY=VALUE labels over the file's; later entries win.
func (p *parser) labels(s *providers.ServiceSettings) {
	raw := p.str("labels")
	if raw == "" {
		return
	}
	delete(s.Origin, "labels")
	s.Labels = maps.Clone(s.Labels)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	for _, kv := range splitList(raw) {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			p.fail("labels", kv, "entries must be KEY=VALUE")
			continue
		}
		s.Labels[k] = strings.TrimSpace(v)
	}
}

// secrets reads the secrets input: NAME=SECRET:VERSION puts the secret in
// a variable, /dir/file=SECRET:VERSION mounts it as a file.
func (p *parser) secrets(provider string) []providers.Secret {
	var out []providers.Secret
	for _, kv := range splitList(p.str("secrets")) {
		if sec, ok := p.secret("secrets", provider, kv); ok {
			out = mergeSecrets(out, []providers.Secret{sec})
		}
	}
	return out
}

var (
	secretName    = regexp.MustCompile(`^(projects/[a-z0-9-]+/secrets/)?[A-Za-z0-9_-]{1,255}$`)
	secretVersion = regexp.MustCompile(`^(latest|[1-9][0-9]*)$`)
)

// secret reads one TARGET=SECRET:VERSION entry; in names the input.
func (p *parser) secret(in, provider, kv string) (providers.Secret, bool) {
	target, ref, ok := strings.Cut(kv, "=")
	target, ref = strings.TrimSpace(target), strings.TrimSpace(ref)
	i := strings.LastIndex(ref, ":")
	if !ok || target == "" || i < 0 {
		p.fail(in, kv, "entries must be NAME=SECRET:VERSION or /path/file=SECRET:VERSION")
		return providers.Secret{}, false
	}
	sec := providers.Secret{Name: ref[:i], Version: ref[i+1:]}
	switch {
	case !secretName.MatchString(sec.Name):
		p.fail(in, kv, "the secret must be a name (letters, digits, - and _) or projects/<project>/secrets/<name>")
		return sec, false
	case !secretVersion.MatchString(sec.Version):
		p.fail(in, kv, "the version must be a number or latest")
		return sec, false
	case strings.HasPrefix(target, "/"):
		sec.Path = target
		return sec, p.secretPath(in, kv, target)
	}
	sec.Env = target
	return sec, p.envVar(in, provider, target)
}

// secretPath checks where a secret is mounted: a file in a directory of
// its own, away from the system's directories.
func (p *parser) secretPath(in, kv, file string) bool {
	dir := path.Dir(file)
	switch {
	case path.Clean(file) != file || strings.HasSuffix(file, "/"):
		p.fail(in, kv, "the path must be a clean absolute file path such as /secrets/api-key")
	case dir == "/":
		p.fail(in, kv, "the file must be in a directory other than /: the secret's directory holds nothing else")
	case slices.ContainsFunc([]string{"/dev", "/proc", "/sys", "/etc", "/bin", "/lib", "/usr"}, func(sys string) bool {
		return dir == sys || strings.HasPrefix(dir, sys+"/")
	}):
		p.fail(in, kv, "the secret's directory %s is a system directory", dir)
	default:
		return true
	}
	return false
}

// checkSecretNames refuses a secret variable that env also sets, and two
// secrets mounted in one directory (a directory holds one secret's files).
func (p *parser) checkSecretNames(a *providers.Artifact) {
	s := a.Settings
	plain := map[string]bool{}
	for _, kv := range a.Env {
		k, _, _ := strings.Cut(kv, "=")
		plain[k] = true
	}
	dirs := map[string]string{}
	for _, sec := range s.Secrets {
		switch dir := path.Dir(sec.Path); {
		case sec.Env != "" && plain[sec.Env]:
			p.fail(s.InputOf("secrets"), sec.Env, "%s is set by env (or env-file) too: give it once", sec.Env)
		case sec.Path != "" && dirs[dir] != "" && dirs[dir] != sec.Name:
			p.fail(s.InputOf("secrets"), sec.String(), "directory %s already holds secret %q: one directory holds one secret's files", dir, dirs[dir])
		case sec.Path != "":
			dirs[dir] = sec.Name
		}
	}
}

// mergeSecrets returns base with more over it, by target.
func mergeSecrets(base, more []providers.Secret) []providers.Secret {
	out := slices.Clone(base)
	for _, m := range more {
		if i := slices.IndexFunc(out, func(s providers.Secret) bool { return s.Target() == m.Target() }); i >= 0 {
			out[i] = m
		} else {
			out = append(out, m)
		}
	}
	return out
}

// mergeEnv merges KEY=VALUE lists, later lists winning by name, in the
// order the names first appear.
func mergeEnv(lists ...[]string) []string {
	var out []string
	at := map[string]int{}
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := at[k]; ok {
				out[i] = kv
				continue
			}
			at[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
