package cloudrun

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

func intp(n int) *int { return &n }

func plainEnv(name, value string) *runpb.EnvVar {
	return &runpb.EnvVar{Name: name, Values: &runpb.EnvVar_Value{Value: value}}
}

func secretEnv(name, secret, version string) *runpb.EnvVar {
	return &runpb.EnvVar{Name: name, Values: &runpb.EnvVar_ValueSource{ValueSource: &runpb.EnvVarSource{
		SecretKeyRef: &runpb.SecretKeySelector{Secret: secret, Version: version}}}}
}

func secretVolume(name, secret string, items ...*runpb.VersionToPath) *runpb.Volume {
	return &runpb.Volume{Name: name, VolumeType: &runpb.Volume_Secret{Secret: &runpb.SecretVolumeSource{Secret: secret, Items: items}}}
}

// settingsBase is a deployed service: one container with env, a secret
// mounted at /secrets, a connector sending all traffic, a label.
func settingsBase() *runpb.Service {
	return &runpb.Service{
		Name:   testName,
		Labels: map[string]string{"team": "pay"},
		Template: &runpb.RevisionTemplate{
			Revision: "api-v2",
			Labels:   map[string]string{"team": "pay"},
			Containers: []*runpb.Container{{
				Image:        nextImage,
				Ports:        []*runpb.ContainerPort{{Name: "http1", ContainerPort: 8080}},
				Env:          []*runpb.EnvVar{plainEnv("KEEP", "1"), plainEnv("OLD", "x")},
				VolumeMounts: []*runpb.VolumeMount{{Name: "old-secret", MountPath: "/secrets"}},
			}},
			Volumes:   []*runpb.Volume{secretVolume("old-secret", "old", &runpb.VersionToPath{Path: "f", Version: "1"})},
			VpcAccess: &runpb.VpcAccess{Connector: "projects/p/locations/europe-west1/connectors/old", Egress: runpb.VpcAccess_ALL_TRAFFIC},
		},
	}
}

// applyCase is an artifact and what it changes in settingsBase.
type applyCase struct {
	name string
	a    providers.Artifact
	want func(svc *runpb.Service)
}

func applyCases() []applyCase {
	return []applyCase{
		{"no settings change nothing", providers.Artifact{Env: []string{"NEW=1"}}, func(*runpb.Service) {}},
		{"env-mode replace keeps only env and secrets", providers.Artifact{Env: []string{"NEW=1"}, Settings: providers.ServiceSettings{
			EnvMode: providers.EnvReplace, Secrets: []providers.Secret{{Env: "TOKEN", Name: "token", Version: "latest"}}}},
			func(svc *runpb.Service) {
				svc.Template.Containers[0].Env = []*runpb.EnvVar{plainEnv("NEW", "1"), secretEnv("TOKEN", "token", "latest")}
			}},
		{"a secret variable replaces the variable of its name", providers.Artifact{Settings: providers.ServiceSettings{
			EnvMode: providers.EnvMerge, Secrets: []providers.Secret{{Env: "OLD", Name: "s", Version: "2"}}}},
			func(svc *runpb.Service) { svc.Template.Containers[0].Env[1] = secretEnv("OLD", "s", "2") }},
		{"secret files: one volume per directory, replacing the mount there", providers.Artifact{Settings: providers.ServiceSettings{
			Secrets: []providers.Secret{{Path: "/secrets/tls.crt", Name: "tls", Version: "3"}, {Path: "/secrets/tls.key", Name: "tls", Version: "3"},
				{Path: "/etc-app/key", Name: "k", Version: "latest"}}}},
			func(svc *runpb.Service) {
				t := svc.Template
				t.Volumes = []*runpb.Volume{
					secretVolume(volumeName("secret", "/secrets"), "tls", &runpb.VersionToPath{Path: "tls.crt", Version: "3"}, &runpb.VersionToPath{Path: "tls.key", Version: "3"}),
					secretVolume(volumeName("secret", "/etc-app"), "k", &runpb.VersionToPath{Path: "key", Version: "latest"}),
				}
				t.Containers[0].VolumeMounts = []*runpb.VolumeMount{
					{Name: volumeName("secret", "/secrets"), MountPath: "/secrets"}, {Name: volumeName("secret", "/etc-app"), MountPath: "/etc-app"}}
			}},
		{"resources, scaling, concurrency, timeout, identity", providers.Artifact{Settings: providers.ServiceSettings{
			CPU: "2", Memory: "1Gi", MinInstances: intp(0), MaxInstances: intp(10), Concurrency: intp(80), Timeout: 5 * time.Minute,
			ServiceAccount: "api@p.iam.gserviceaccount.com", Port: 9000}},
			func(svc *runpb.Service) {
				t := svc.Template
				t.Containers[0].Resources = &runpb.ResourceRequirements{Limits: map[string]string{"cpu": "2", "memory": "1Gi"}}
				t.Containers[0].Ports = []*runpb.ContainerPort{{Name: "http1", ContainerPort: 9000}}
				t.Scaling = &runpb.RevisionScaling{MinInstanceCount: 0, MaxInstanceCount: 10}
				t.MaxInstanceRequestConcurrency, t.Timeout = 80, durationpb.New(5*time.Minute)
				t.ServiceAccount = "api@p.iam.gserviceaccount.com"
			}},
		{"a connector by name, the egress kept", providers.Artifact{Settings: providers.ServiceSettings{VPCConnector: "conn"}},
			func(svc *runpb.Service) {
				svc.Template.VpcAccess = &runpb.VpcAccess{Connector: "projects/p/locations/europe-west1/connectors/conn", Egress: runpb.VpcAccess_ALL_TRAFFIC}
			}},
		{"Direct VPC egress", providers.Artifact{Settings: providers.ServiceSettings{Network: "default", Subnet: "sub", VPCEgress: providers.VPCEgressPrivate}},
			func(svc *runpb.Service) {
				svc.Template.VpcAccess = &runpb.VpcAccess{Egress: runpb.VpcAccess_PRIVATE_RANGES_ONLY,
					NetworkInterfaces: []*runpb.VpcAccess_NetworkInterface{{Network: "default", Subnetwork: "sub"}}}
			}},
		{"Cloud SQL", providers.Artifact{Settings: providers.ServiceSettings{CloudSQLInstances: []string{"p:europe-west1:db"}}},
			func(svc *runpb.Service) {
				svc.Template.Volumes = append(svc.Template.Volumes, &runpb.Volume{Name: "cloudsql",
					VolumeType: &runpb.Volume_CloudSqlInstance{CloudSqlInstance: &runpb.CloudSqlInstance{Instances: []string{"p:europe-west1:db"}}}})
				c := svc.Template.Containers[0]
				c.VolumeMounts = append(c.VolumeMounts, &runpb.VolumeMount{Name: "cloudsql", MountPath: "/cloudsql"})
			}},
		{"labels over the defaults, annotations, ingress", providers.Artifact{Settings: providers.ServiceSettings{
			DefaultLabels: map[string]string{"managed-by": "ramp", "commit-sha": "abc123"},
			Labels:        map[string]string{"managed-by": "me", "tier": "web"}, Annotations: map[string]string{"example.com/owner": "pay"},
			Ingress: providers.IngressInternalLB}},
			func(svc *runpb.Service) {
				labels := map[string]string{"team": "pay", "managed-by": "me", "commit-sha": "abc123", "tier": "web"}
				svc.Labels, svc.Template.Labels = labels, labels
				svc.Annotations = map[string]string{"example.com/owner": "pay"}
				svc.Template.Annotations = map[string]string{"example.com/owner": "pay"}
				svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
			}},
	}
}

// TestApplySettings: each setting lands in its proto field, and nothing
// else changes.
func TestApplySettings(t *testing.T) {
	t.Parallel()
	cfg := providers.Config{Project: testProject, Region: testRegion, Service: testService}
	for _, c := range applyCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := settingsBase()
			c.want(want)
			got := settingsBase()
			if err := applySettings(got, c.a, cfg); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("service (-want +got):\n%s", diff)
			}
			again := proto.Clone(got).(*runpb.Service)
			if err := applySettings(again, c.a, cfg); err != nil || !proto.Equal(got, again) {
				t.Errorf("applied twice differs from once (%v)", err)
			}
		})
	}
}

// TestSettingsFields: labels and ingress widen the update mask, only when set.
func TestSettingsFields(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    providers.ServiceSettings
		want []string
	}{
		{providers.ServiceSettings{CPU: "1"}, nil},
		{providers.ServiceSettings{DefaultLabels: map[string]string{"managed-by": "ramp"}}, []string{"labels"}},
		{providers.ServiceSettings{Labels: map[string]string{"a": "b"}, Ingress: "all"}, []string{"labels", "ingress"}},
	} {
		if got := settingsFields(c.s); !slices.Equal(got, c.want) {
			t.Errorf("settingsFields(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
}

// TestCheckArtifact: Cloud Run's limits, each problem naming the input the
// setting came from.
func TestCheckSettings(t *testing.T) {
	t.Parallel()
	fromFile := map[string]string{"cpu": "metadata"}
	cases := []struct {
		name string
		s    providers.ServiceSettings
		want []string // the inputs named, in order
		text string
	}{
		{"valid", providers.ServiceSettings{EnvMode: "replace", CPU: "0.5", Memory: "512Mi", Concurrency: intp(1000), MinInstances: intp(0),
			MaxInstances: intp(100), Timeout: time.Hour, VPCConnector: "projects/p/locations/r1/connectors/c", Labels: map[string]string{"a_b-1": ""},
			CloudSQLInstances: []string{"example.com:my-project:europe-west1:db", "my-project:us-central1:db"}, Ingress: "internal"}, nil, ""},
		{"cpu above 8", providers.ServiceSettings{CPU: "16"}, []string{"cpu"}, "1, 2, 4, 6 or 8"},
		{"cpu between whole numbers", providers.ServiceSettings{CPU: "1500m"}, []string{"cpu"}, ""},
		{"cpu below 0.08", providers.ServiceSettings{CPU: "0.05"}, []string{"cpu"}, ""},
		{"memory below 128Mi", providers.ServiceSettings{Memory: "64Mi"}, []string{"memory"}, "128Mi to 32Gi"},
		{"memory above 32Gi", providers.ServiceSettings{Memory: "40Gi"}, []string{"memory"}, ""},
		{"memory too large for the cpu", providers.ServiceSettings{CPU: "2", Memory: "16Gi"}, []string{"memory"}, "more than 8Gi of memory needs at least 4 CPUs"},
		{"a label key in capitals", providers.ServiceSettings{Labels: map[string]string{"Team": "x"}}, []string{"labels"}, "label keys"},
		{"a label value with a dot", providers.ServiceSettings{Labels: map[string]string{"v": "1.2"}}, []string{"labels"}, "label values"},
		{"a label value too long", providers.ServiceSettings{Labels: map[string]string{"v": strings.Repeat("a", 64)}}, []string{"labels"}, ""},
		{"concurrency above 1000", providers.ServiceSettings{Concurrency: intp(1001)}, []string{"concurrency"}, "from 1 to 1000"},
		{"min above max", providers.ServiceSettings{MinInstances: intp(3), MaxInstances: intp(2)}, []string{"min-instances"}, ""},
		{"timeout above an hour", providers.ServiceSettings{Timeout: 2 * time.Hour}, []string{"timeout"}, ""},
		{"a connector with capitals", providers.ServiceSettings{VPCConnector: "Conn"}, []string{"vpc-connector"}, ""},
		{"a Cloud SQL name without region", providers.ServiceSettings{CloudSQLInstances: []string{"my-project:db"}}, []string{"cloudsql-instances"}, ""},
		{"ingress", providers.ServiceSettings{Ingress: "public"}, []string{"ingress"}, ""},
		{"from the metadata file", providers.ServiceSettings{CPU: "16", Origin: fromFile}, []string{"metadata"}, `cpu: Cloud Run takes`},
		{"all at once", providers.ServiceSettings{CPU: "16", Memory: "1Ti", Concurrency: intp(0), VPCEgress: "x", Labels: map[string]string{"A": ""}},
			[]string{"labels", "cpu", "memory", "concurrency", "vpc-egress"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := checkSettings(providers.Artifact{Image: nextImage, Settings: c.s})
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					ie, ok := errors.AsType[*input.Error](e)
					if !ok {
						t.Fatalf("%v is not an input error", e)
					}
					got = append(got, ie.Input)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("CheckArtifact = %v, names %q, want %q", err, got, c.want)
			}
			if c.text != "" && !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q lacks %q", err, c.text)
			}
		})
	}
}
