package cloudrun

import (
	"fmt"
	"hash/fnv"
	"path"
	"slices"
	"strings"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ramp-deploy/ramp/providers"
)

// cloudSQLMount is where Cloud Run mounts the Cloud SQL sockets.
const cloudSQLMount = "/cloudsql"

// settingsFields lists the service fields (update mask paths), beyond the
// template, the traffic and the annotations, that applySettings writes.
func settingsFields(s providers.ServiceSettings) []string {
	var out []string
	if len(s.Labels)+len(s.DefaultLabels) > 0 {
		out = append(out, "labels")
	}
	if s.Ingress != "" {
		out = append(out, "ingress")
	}
	return out
}

// applySettings writes a's service settings onto svc, whose template is
// already the candidate's (image, env merged, revision name): env-mode,
// secrets, resources, scaling, identity, networking, Cloud SQL, labels,
// annotations and ingress. A zero setting leaves the value svc has. cfg
// locates the service, for connector names given without their project.
// Settings Cloud Run refuses are an ErrInvalid naming the inputs.
func applySettings(svc *runpb.Service, a providers.Artifact, cfg providers.Config) error {
	if err := checkSettings(a); err != nil {
		return fmt.Errorf("%w: %w", providers.ErrInvalid, err)
	}
	s := a.Settings
	if svc.Template == nil {
		svc.Template = &runpb.RevisionTemplate{}
	}
	t := svc.Template
	c := ingress(t)
	if c == nil {
		c = &runpb.Container{}
		t.Containers = append(t.Containers, c)
	}
	if s.EnvMode == providers.EnvReplace {
		env, err := parseEnv(a.Env)
		if err != nil {
			return err
		}
		c.Env = env
	}
	setSecrets(t, c, s.Secrets)
	setContainer(c, s)
	setRevision(t, s, cfg)
	if len(s.CloudSQLInstances) > 0 {
		mount(t, c, &runpb.Volume{Name: "cloudsql", VolumeType: &runpb.Volume_CloudSqlInstance{
			CloudSqlInstance: &runpb.CloudSqlInstance{Instances: slices.Clone(s.CloudSQLInstances)},
		}}, cloudSQLMount)
	}
	setLabels(svc, s)
	if s.Ingress != "" {
		svc.Ingress = ingressTraffic[s.Ingress]
	}
	return nil
}

var ingressTraffic = map[string]runpb.IngressTraffic{
	providers.IngressAll:        runpb.IngressTraffic_INGRESS_TRAFFIC_ALL,
	providers.IngressInternal:   runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY,
	providers.IngressInternalLB: runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER,
}

var vpcEgress = map[string]runpb.VpcAccess_VpcEgress{
	providers.VPCEgressAll:     runpb.VpcAccess_ALL_TRAFFIC,
	providers.VPCEgressPrivate: runpb.VpcAccess_PRIVATE_RANGES_ONLY,
}

// setSecrets puts each secret in its variable, replacing one of the same
// name, or mounts it: the files of one directory are one secret volume,
// replacing whatever was mounted there.
func setSecrets(t *runpb.RevisionTemplate, c *runpb.Container, secrets []providers.Secret) {
	var dirs []string
	files := map[string][]providers.Secret{}
	for _, sec := range secrets {
		if sec.Env != "" {
			setEnv(c, &runpb.EnvVar{Name: sec.Env, Values: &runpb.EnvVar_ValueSource{ValueSource: &runpb.EnvVarSource{
				SecretKeyRef: &runpb.SecretKeySelector{Secret: sec.Name, Version: sec.Version},
			}}})
			continue
		}
		dir := path.Dir(sec.Path)
		if files[dir] == nil {
			dirs = append(dirs, dir)
		}
		files[dir] = append(files[dir], sec)
	}
	for _, dir := range dirs {
		src := &runpb.SecretVolumeSource{Secret: files[dir][0].Name}
		for _, sec := range files[dir] {
			src.Items = append(src.Items, &runpb.VersionToPath{Path: path.Base(sec.Path), Version: sec.Version})
		}
		mount(t, c, &runpb.Volume{Name: volumeName("secret", dir), VolumeType: &runpb.Volume_Secret{Secret: src}}, dir)
	}
}

// volumeName names the volume mounted at dir, the same on every deploy.
func volumeName(kind, dir string) string {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return fmt.Sprintf("%s-%08x", kind, h.Sum32())
}

// setEnv sets e on c, in place of a variable of the same name.
func setEnv(c *runpb.Container, e *runpb.EnvVar) {
	if i := slices.IndexFunc(c.Env, func(x *runpb.EnvVar) bool { return x.GetName() == e.GetName() }); i >= 0 {
		c.Env[i] = e
		return
	}
	c.Env = append(c.Env, e)
}

// mount mounts vol at dir on c, in place of whatever c mounted there and
// of any volume of the same name; a volume no container mounts any more
// is removed.
func mount(t *runpb.RevisionTemplate, c *runpb.Container, vol *runpb.Volume, dir string) {
	drop := map[string]bool{vol.GetName(): true}
	c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m *runpb.VolumeMount) bool {
		if m.GetMountPath() == dir || m.GetName() == vol.GetName() {
			drop[m.GetName()] = true
			return true
		}
		return false
	})
	for _, other := range t.GetContainers() {
		for _, m := range other.GetVolumeMounts() {
			if m.GetName() != vol.GetName() {
				delete(drop, m.GetName()) // still mounted elsewhere
			}
		}
	}
	t.Volumes = slices.DeleteFunc(t.Volumes, func(v *runpb.Volume) bool { return drop[v.GetName()] })
	t.Volumes = append(t.Volumes, vol)
	c.VolumeMounts = append(c.VolumeMounts, &runpb.VolumeMount{Name: vol.GetName(), MountPath: dir})
}

// setContainer sets the container's limits and port.
func setContainer(c *runpb.Container, s providers.ServiceSettings) {
	for k, v := range map[string]string{"cpu": s.CPU, "memory": s.Memory} {
		if v == "" {
			continue
		}
		if c.Resources == nil {
			c.Resources = &runpb.ResourceRequirements{}
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = map[string]string{}
		}
		c.Resources.Limits[k] = v
	}
	if s.Port != 0 {
		p := &runpb.ContainerPort{ContainerPort: int32(s.Port)}
		if len(c.Ports) > 0 {
			p.Name = c.Ports[0].GetName()
		}
		c.Ports = []*runpb.ContainerPort{p}
	}
}

// setRevision sets the revision's scaling, concurrency, timeout, identity
// and egress.
func setRevision(t *runpb.RevisionTemplate, s providers.ServiceSettings, cfg providers.Config) {
	if s.MinInstances != nil || s.MaxInstances != nil {
		if t.Scaling == nil {
			t.Scaling = &runpb.RevisionScaling{}
		}
		if s.MinInstances != nil {
			t.Scaling.MinInstanceCount = int32(*s.MinInstances)
		}
		if s.MaxInstances != nil {
			t.Scaling.MaxInstanceCount = int32(*s.MaxInstances)
		}
	}
	if s.Concurrency != nil {
		t.MaxInstanceRequestConcurrency = int32(*s.Concurrency)
	}
	if s.Timeout != 0 {
		t.Timeout = durationpb.New(s.Timeout)
	}
	if s.ServiceAccount != "" {
		t.ServiceAccount = s.ServiceAccount
	}
	egress := t.GetVpcAccess().GetEgress()
	if s.VPCEgress != "" {
		egress = vpcEgress[s.VPCEgress]
	}
	switch {
	case s.VPCConnector != "":
		name := s.VPCConnector
		if !strings.Contains(name, "/") {
			name = fmt.Sprintf("projects/%s/locations/%s/connectors/%s", cfg.Project, cfg.Region, name)
		}
		t.VpcAccess = &runpb.VpcAccess{Connector: name, Egress: egress}
	case s.Network != "" || s.Subnet != "":
		nic := &runpb.VpcAccess_NetworkInterface{Network: s.Network, Subnetwork: s.Subnet}
		t.VpcAccess = &runpb.VpcAccess{NetworkInterfaces: []*runpb.VpcAccess_NetworkInterface{nic}, Egress: egress}
	}
}

// setLabels sets ramp's default labels, then the user's, and the user's
// annotations, on the service and on the new revision.
func setLabels(svc *runpb.Service, s providers.ServiceSettings) {
	t := svc.Template
	for _, set := range []map[string]string{s.DefaultLabels, s.Labels} {
		for k, v := range set {
			svc.Labels = put(svc.Labels, k, v)
			t.Labels = put(t.Labels, k, v)
		}
	}
	for k, v := range s.Annotations {
		svc.Annotations = put(svc.Annotations, k, v)
		t.Annotations = put(t.Annotations, k, v)
	}
}

func put(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
