package providers

import (
	"strings"
	"time"
)

// ServiceSettings are the settings of the new revision, and of the service,
// beyond its image and env: what deploy-cloudrun users set with its inputs
// or a Service YAML. A zero field leaves the platform's current value as it
// is. The names are generic where another platform could honour the same
// setting; a provider that cannot honour a set field refuses it, naming the
// input (see Set and InputOf), before anything starts.
type ServiceSettings struct {
	// EnvMode is EnvMerge (also when empty): Env is added to the service's
	// current environment; or EnvReplace: the new revision's environment is
	// exactly Env and the secrets held in variables.
	EnvMode string `json:"envMode,omitempty"`
	// Secrets are secrets from the platform's secret store, each held in a
	// variable or mounted as a file.
	Secrets []Secret `json:"secrets,omitempty"`
	// Labels are set on the service and the new revision; they win over
	// DefaultLabels, which ramp adds (managed-by, commit-sha) unless told not
	// to, and which a provider without labels ignores.
	Labels        map[string]string `json:"labels,omitempty"`
	DefaultLabels map[string]string `json:"defaultLabels,omitempty"`
	// Annotations are set on the service and the new revision (from a
	// Service YAML only).
	Annotations map[string]string `json:"annotations,omitempty"`
	// ServiceAccount is the identity the revision runs as (an email).
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// CPU and Memory are the container's limits, as Kubernetes quantities
	// ("1", "500m"; "512Mi", "2Gi").
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
	// MinInstances and MaxInstances bound the revision's instances; nil
	// leaves them as they are (0 is a setting).
	MinInstances *int `json:"minInstances,omitempty"`
	MaxInstances *int `json:"maxInstances,omitempty"`
	// Concurrency is the most requests one instance serves at once.
	Concurrency *int `json:"concurrency,omitempty"`
	// Timeout is the longest a request may take.
	Timeout time.Duration `json:"timeout,omitempty"`
	// VPCConnector routes egress through a Serverless VPC Access connector;
	// Network and Subnet use Direct VPC egress instead. VPCEgress says which
	// traffic goes there: VPCEgressAll or VPCEgressPrivate.
	VPCConnector string `json:"vpcConnector,omitempty"`
	Network      string `json:"network,omitempty"`
	Subnet       string `json:"subnet,omitempty"`
	VPCEgress    string `json:"vpcEgress,omitempty"`
	// CloudSQLInstances are the Cloud SQL connection names
	// (project:region:instance) the revision connects to.
	CloudSQLInstances []string `json:"cloudsqlInstances,omitempty"`
	// Ingress says where requests may come from: IngressAll, IngressInternal
	// or IngressInternalLB.
	Ingress string `json:"ingress,omitempty"`
	// Port is the port the container listens on (from a Service YAML only).
	Port int `json:"port,omitempty"`
	// Metadata is the Service YAML file the settings start from, if any;
	// Origin maps each option a setting of the file filled (and no input
	// overrode) to "metadata", so a problem names the input it came from.
	Metadata string            `json:"metadata,omitempty"`
	Origin   map[string]string `json:"-"`
}

// Secret is one secret given to the revision.
type Secret struct {
	// Env names the variable holding the secret; Path is the file it is
	// mounted as. Exactly one is set.
	Env  string `json:"env,omitempty"`
	Path string `json:"path,omitempty"`
	// Name is the secret: its name in the service's project, or
	// projects/<project>/secrets/<name>.
	Name string `json:"name"`
	// Version is a version number or "latest".
	Version string `json:"version"`
}

// Target is where the secret goes: its variable or its path.
func (s Secret) Target() string { return s.Env + s.Path }

// String writes the secret as the secrets input takes it.
func (s Secret) String() string { return s.Target() + "=" + s.Name + ":" + s.Version }

// The values of the enumerated settings, as the inputs take them.
const (
	EnvMerge   = "merge"
	EnvReplace = "replace"

	VPCEgressAll     = "all-traffic"
	VPCEgressPrivate = "private-ranges-only"

	IngressAll        = "all"
	IngressInternal   = "internal"
	IngressInternalLB = "internal-and-cloud-load-balancing"
)

// Set lists, by input name, the settings that are set, in the order of the
// configuration reference. EnvMode, DefaultLabels and Origin are not
// settings a provider could fail to honour and are left out; settings only
// a Service YAML gives are named "metadata".
func (s ServiceSettings) Set() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("secrets", len(s.Secrets) > 0)
	add("labels", len(s.Labels) > 0)
	add("service-account", s.ServiceAccount != "")
	add("cpu", s.CPU != "")
	add("memory", s.Memory != "")
	add("min-instances", s.MinInstances != nil)
	add("max-instances", s.MaxInstances != nil)
	add("concurrency", s.Concurrency != nil)
	add("timeout", s.Timeout != 0)
	add("vpc-connector", s.VPCConnector != "")
	add("network", s.Network != "")
	add("subnet", s.Subnet != "")
	add("vpc-egress", s.VPCEgress != "")
	add("cloudsql-instances", len(s.CloudSQLInstances) > 0)
	add("ingress", s.Ingress != "")
	add("metadata", s.Metadata != "" || len(s.Annotations) > 0 || s.Port != 0)
	return out
}

// InputOf names the input the setting called option came from: the option
// itself, or "metadata" when the Service YAML gave it.
func (s ServiceSettings) InputOf(option string) string {
	if in := s.Origin[option]; in != "" {
		return in
	}
	return option
}

// WithDefaultLabels returns s with ramp's default labels: managed-by=ramp
// and, when commit is known, commit-sha=<commit> (lowercased, cut to a
// label value's 63 characters).
func (s ServiceSettings) WithDefaultLabels(commit string) ServiceSettings {
	s.DefaultLabels = map[string]string{"managed-by": "ramp"}
	var b strings.Builder
	for _, r := range strings.ToLower(commit) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	if sha := b.String(); sha != "" {
		s.DefaultLabels["commit-sha"] = sha[:min(len(sha), 63)]
	}
	return s
}
