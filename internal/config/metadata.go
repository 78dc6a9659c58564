package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/ramp-deploy/ramp/providers"
)

// knService is the subset of a Cloud Run Service YAML (Knative
// serving.knative.dev/v1, as `gcloud run services describe --format export`
// writes it and deploy-cloudrun's metadata input takes it) that ramp reads.
// Any other field is refused, naming it, rather than ignored.
type knService struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   knMeta `yaml:"metadata"`
	Spec       struct {
		Template struct {
			Metadata knMeta `yaml:"metadata"`
			Spec     knSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type knMeta struct {
	Name        string            `yaml:"name"`      // the service's (checked); the revision's (ignored: ramp names it)
	Namespace   string            `yaml:"namespace"` // the project (ignored)
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type knSpec struct {
	ContainerConcurrency *int          `yaml:"containerConcurrency"`
	TimeoutSeconds       *int          `yaml:"timeoutSeconds"`
	ServiceAccountName   string        `yaml:"serviceAccountName"`
	Containers           []knContainer `yaml:"containers"`
}

type knContainer struct {
	Name  string `yaml:"name"` // ignored
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"` // ignored
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Resources struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

// metaReader turns a knService into settings, recording every problem
// against the metadata input.
type metaReader struct {
	p        *parser
	file     string
	provider string
	s        *providers.ServiceSettings
}

func (m *metaReader) fail(format string, args ...any) {
	m.p.fail("metadata", m.file, format, args...)
}

// from records that the file gave the setting called option.
func (m *metaReader) from(option string) { m.s.Origin[option] = "metadata" }

// metadata reads the Service YAML the metadata option names into a: its
// settings (which the inputs then override), its image when image is not
// given, and its environment, which it returns.
func (p *parser) metadata(provider string, a *providers.Artifact) []string {
	name := p.str("metadata")
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		p.fail("metadata", name, "cannot be read: %w", err)
		return nil
	}
	var svc knService
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&svc); err != nil && !p.yamlErrors(name, err) {
		return nil
	}
	a.Settings.Metadata, a.Settings.Origin = name, map[string]string{}
	m := &metaReader{p: p, file: name, provider: provider, s: &a.Settings}
	switch {
	case svc.APIVersion != "" && svc.APIVersion != "serving.knative.dev/v1":
		m.fail("apiVersion is %q, not serving.knative.dev/v1", svc.APIVersion)
	case svc.Kind != "" && svc.Kind != "Service":
		m.fail("kind is %q, not Service", svc.Kind)
	case svc.Metadata.Name != "" && p.str("service") != "" && svc.Metadata.Name != p.str("service"):
		m.fail("metadata.name is %q, but service is %q", svc.Metadata.Name, p.str("service"))
	}
	spec := svc.Spec.Template.Spec
	env := m.containers(spec.Containers, a)
	m.revision(spec)
	m.labels(svc.Metadata.Labels, svc.Spec.Template.Metadata.Labels)
	m.annotations("metadata.annotations", svc.Metadata.Annotations, serviceAnnotations)
	m.annotations("spec.template.metadata.annotations", svc.Spec.Template.Metadata.Annotations, revisionAnnotations)
	return env
}

// yamlErrors records the decoder's problems, an unknown field as a field
// outside the supported subset. It reports whether the rest of the file
// was read (a field of the wrong type or unknown leaves the others read).
func (p *parser) yamlErrors(file string, err error) bool {
	te, ok := errors.AsType[*yaml.TypeError](err)
	if !ok {
		p.fail("metadata", file, "is not a Service YAML: %w", err)
		return false
	}
	for _, e := range te.Errors {
		msg := e.Err.Error()
		if f, ok := strings.CutPrefix(msg, "field "); ok && strings.Contains(f, " not found in type ") {
			msg = fmt.Sprintf("field %q is not in the subset ramp reads (see the README)", f[:strings.Index(f, " not found")])
		}
		p.fail("metadata", file, "line %d: %s", e.Line, msg)
	}
	return true
}

// containers reads the one container: image, port, limits and env.
func (m *metaReader) containers(cs []knContainer, a *providers.Artifact) []string {
	if len(cs) != 1 {
		if len(cs) > 1 {
			m.fail("spec.template.spec.containers holds %d containers; ramp deploys one", len(cs))
		}
		return nil
	}
	c := cs[0]
	if a.Image == "" {
		a.Image = c.Image
	}
	switch {
	case len(c.Ports) > 1:
		m.fail("the container has %d ports; Cloud Run takes one", len(c.Ports))
	case len(c.Ports) == 1 && (c.Ports[0].ContainerPort < 1 || c.Ports[0].ContainerPort > 65535):
		m.fail("containerPort %d is not a port", c.Ports[0].ContainerPort)
	case len(c.Ports) == 1:
		m.s.Port = c.Ports[0].ContainerPort
	}
	for k, v := range c.Resources.Limits {
		switch k {
		case "cpu":
			m.s.CPU = v
			m.from("cpu")
		case "memory":
			m.s.Memory = v
			m.from("memory")
		default:
			m.fail("resources.limits.%s is not supported (cpu and memory are)", k)
		}
	}
	var env []string
	for _, e := range c.Env {
		switch ref := e.ValueFrom; {
		case e.Value != nil && ref == nil:
			env = append(env, e.Name+"="+*e.Value)
		case e.Value == nil && ref != nil && ref.SecretKeyRef != nil:
			entry := fmt.Sprintf("%s=%s:%s", e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			if sec, ok := m.p.secret("metadata", m.provider, entry); ok {
				m.s.Secrets = mergeSecrets(m.s.Secrets, []providers.Secret{sec})
				m.from("secrets")
			}
		default:
			m.fail("env %q needs value, or valueFrom.secretKeyRef (name, key: the version)", e.Name)
		}
	}
	m.p.env("metadata", m.provider, env)
	return env
}

// revision reads the revision's concurrency, timeout and identity.
func (m *metaReader) revision(spec knSpec) {
	if n := spec.ContainerConcurrency; n != nil {
		m.s.Concurrency = n
		m.from("concurrency")
	}
	if t := spec.TimeoutSeconds; t != nil {
		if o, _ := Lookup("timeout"); *t < 1 || time.Duration(*t)*time.Second > o.Max {
			m.fail("timeoutSeconds %d is not between 1 and %d", *t, int(o.Max.Seconds()))
		} else {
			m.s.Timeout = time.Duration(*t) * time.Second
			m.from("timeout")
		}
	}
	if spec.ServiceAccountName != "" {
		m.s.ServiceAccount = spec.ServiceAccountName
		m.from("service-account")
	}
}

// labels reads the service's and the revision's labels into one set (both
// get all of them); a system label such as cloud.googleapis.com/location
// is left to the platform.
func (m *metaReader) labels(sets ...map[string]string) {
	for _, set := range sets {
		for k, v := range set {
			if strings.Contains(k, "/") {
				continue
			}
			if m.s.Labels == nil {
				m.s.Labels = map[string]string{}
			}
			m.s.Labels[k] = v
			m.from("labels")
		}
	}
}

// annotation applies one system annotation the file may hold.
type annotation func(m *metaReader, value string)

// ignoredAnnotation is an annotation the platform writes for information.
func ignoredAnnotation(*metaReader, string) {}

var serviceAnnotations = map[string]annotation{
	"run.googleapis.com/ingress":               func(m *metaReader, v string) { m.s.Ingress = v; m.from("ingress") },
	"run.googleapis.com/ingress-status":        ignoredAnnotation,
	"run.googleapis.com/client-name":           ignoredAnnotation,
	"run.googleapis.com/client-version":        ignoredAnnotation,
	"run.googleapis.com/operation-id":          ignoredAnnotation,
	"run.googleapis.com/urls":                  ignoredAnnotation,
	"serving.knative.dev/creator":              ignoredAnnotation,
	"serving.knative.dev/lastModifier":         ignoredAnnotation,
	"client.knative.dev/user-image":            ignoredAnnotation,
	"run.googleapis.com/launch-stage":          ignoredAnnotation,
	"run.googleapis.com/build-source-location": ignoredAnnotation,
}

var revisionAnnotations = map[string]annotation{
	"autoscaling.knative.dev/minScale":        func(m *metaReader, v string) { m.instances("min-instances", v, &m.s.MinInstances) },
	"autoscaling.knative.dev/maxScale":        func(m *metaReader, v string) { m.instances("max-instances", v, &m.s.MaxInstances) },
	"run.googleapis.com/vpc-access-connector": func(m *metaReader, v string) { m.s.VPCConnector = v; m.from("vpc-connector") },
	"run.googleapis.com/vpc-access-egress":    func(m *metaReader, v string) { m.s.VPCEgress = v; m.from("vpc-egress") },
	"run.googleapis.com/network-interfaces":   (*metaReader).networkInterfaces,
	"run.googleapis.com/cloudsql-instances": func(m *metaReader, v string) {
		m.s.CloudSQLInstances = splitList(v)
		m.from("cloudsql-instances")
	},
	"client.knative.dev/user-image":     ignoredAnnotation,
	"run.googleapis.com/client-name":    ignoredAnnotation,
	"run.googleapis.com/client-version": ignoredAnnotation,
}

// systemPrefixes are the annotation prefixes the platform owns, and ramp's.
var systemPrefixes = []string{"run.googleapis.com/", "serving.knative.dev/", "autoscaling.knative.dev/",
	"cloud.googleapis.com/", "client.knative.dev/", "ramp.dev/"}

// annotations applies the system annotations known at where and keeps the
// user's; any other system annotation is refused.
func (m *metaReader) annotations(where string, set map[string]string, known map[string]annotation) {
	for k, v := range set {
		if apply, ok := known[k]; ok {
			apply(m, v)
			continue
		}
		if slices.ContainsFunc(systemPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			m.fail("%s: %s is not supported", where, k)
			continue
		}
		if m.s.Annotations == nil {
			m.s.Annotations = map[string]string{}
		}
		m.s.Annotations[k] = v
	}
}

// instances reads a scale annotation into *field.
func (m *metaReader) instances(option, v string, field **int) {
	n, err := strconv.Atoi(v)
	if err != nil {
		m.fail("%s %q is not a whole number", option, v)
		return
	}
	*field = &n
	m.from(option)
}

// networkInterfaces reads Direct VPC egress: one interface, as JSON.
func (m *metaReader) networkInterfaces(v string) {
	var nics []struct {
		Network    string   `json:"network"`
		Subnetwork string   `json:"subnetwork"`
		Tags       []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(v), &nics); err != nil || len(nics) != 1 || len(nics[0].Tags) > 0 {
		m.fail("run.googleapis.com/network-interfaces must be one interface, [{\"network\": ..., \"subnetwork\": ...}], without tags")
		return
	}
	m.s.Network, m.s.Subnet = nics[0].Network, nics[0].Subnetwork
	m.from("network")
	m.from("subnet")
}
