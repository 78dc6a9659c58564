package cloudrun

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/providers"
)

// TestDeployCarriesTheSettings deploys through the fake Admin API with
// every setting and reads back the revision it made and the service: the
// candidate carries them, the stable revision keeps serving, and the
// update mask names labels and ingress too.
func TestDeployCarriesTheSettings(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		e.edit(func(svc *runpb.Service) { ingress(svc.Template).Env = []*runpb.EnvVar{plainEnv("OLD", "1")} })
		stable := e.stable()
		p := e.provider(t)
		a := providers.Artifact{Image: nextImage, Revision: "v2", Env: []string{"NEW=1"}, Settings: providers.ServiceSettings{
			EnvMode: providers.EnvReplace,
			Secrets: []providers.Secret{{Env: "TOKEN", Name: "token", Version: "latest"}, {Path: "/secrets/key", Name: "key", Version: "2"}},
			Labels:  map[string]string{"team": "pay"}, ServiceAccount: "api@p.iam.gserviceaccount.com", CPU: "2", Memory: "1Gi",
			MinInstances: intp(1), MaxInstances: intp(10), Concurrency: intp(80), Timeout: 10 * time.Minute, VPCConnector: "conn",
			VPCEgress: providers.VPCEgressAll, CloudSQLInstances: []string{"p:europe-west1:db"}, Ingress: providers.IngressInternal,
		}.WithDefaultLabels("0123ABC")}
		if _, err := p.Deploy(t.Context(), a); err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		rev := e.revision(candidateRevision)
		labels := map[string]string{"team": "pay", "managed-by": "ramp", "commit-sha": "0123abc"}
		want := &runpb.Revision{
			Labels: labels, ServiceAccount: "api@p.iam.gserviceaccount.com", MaxInstanceRequestConcurrency: 80,
			Timeout: durationpb.New(10 * time.Minute), Scaling: &runpb.RevisionScaling{MinInstanceCount: 1, MaxInstanceCount: 10},
			VpcAccess: &runpb.VpcAccess{Connector: "projects/p/locations/europe-west1/connectors/conn", Egress: runpb.VpcAccess_ALL_TRAFFIC},
			Volumes: []*runpb.Volume{
				secretVolume(volumeName("secret", "/secrets"), "key", &runpb.VersionToPath{Path: "key", Version: "2"}),
				{Name: "cloudsql", VolumeType: &runpb.Volume_CloudSqlInstance{CloudSqlInstance: &runpb.CloudSqlInstance{Instances: []string{"p:europe-west1:db"}}}},
			},
			Containers: []*runpb.Container{{
				Image: nextImage, Ports: []*runpb.ContainerPort{{ContainerPort: 8080}},
				Env:          []*runpb.EnvVar{plainEnv("NEW", "1"), secretEnv("TOKEN", "token", "latest")},
				Resources:    &runpb.ResourceRequirements{Limits: map[string]string{"cpu": "2", "memory": "1Gi"}},
				VolumeMounts: []*runpb.VolumeMount{{Name: volumeName("secret", "/secrets"), MountPath: "/secrets"}, {Name: "cloudsql", MountPath: "/cloudsql"}},
			}},
		}
		opts := []cmp.Option{protocmp.Transform(), protocmp.IgnoreFields(&runpb.Revision{}, "name", "service", "conditions")}
		if diff := cmp.Diff(want, rev, opts...); diff != "" {
			t.Errorf("the candidate revision (-want +got):\n%s", diff)
		}
		svc := e.admin.Service(testName)
		if !cmp.Equal(svc.GetLabels(), labels) || svc.GetIngress() != runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY {
			t.Errorf("service labels %v ingress %v, want %v and internal", svc.GetLabels(), svc.GetIngress(), labels)
		}
		if got := e.served(); got[stable] != 100 {
			t.Errorf("traffic %v, want 100%% on the stable %s", got, stable)
		}
		masks := e.admin.UpdateMasks()
		if last := masks[len(masks)-1]; !slices.Contains(last, "labels") || !slices.Contains(last, "ingress") || !slices.Contains(last, "template") {
			t.Errorf("deploy's update mask %q lacks template, labels or ingress", last)
		}
	})
}

// TestDeployRefusesBadSettingsBeforeWriting: settings Cloud Run refuses
// are an ErrInvalid naming the inputs, and nothing is written.
func TestDeployRefusesBadSettingsBeforeWriting(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		before := e.admin.Service(testName)
		_, err := p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2",
			Settings: providers.ServiceSettings{CPU: "16", Labels: map[string]string{"Team": "x"}}})
		if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), `input "cpu"`) || !strings.Contains(err.Error(), `input "labels"`) {
			t.Errorf("Deploy = %v, want ErrInvalid naming cpu and labels", err)
		}
		if n := e.admin.CallsOf(fake.MethodUpdateService); n != 0 {
			t.Errorf("%d UpdateService calls, want none", n)
		}
		e.unchanged(t, before, "a refused deploy")
	})
}

// TestFakeRefusesWhatCloudRunRefuses: the fake's settings rules, so a
// template the real API would refuse cannot pass the tests.
func TestFakeRefusesSettingsCloudRunRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*runpb.Service)
	}{
		{"a label in capitals", func(s *runpb.Service) { s.Labels = map[string]string{"Team": "x"} }},
		{"a short connector name", func(s *runpb.Service) { s.Template.VpcAccess = &runpb.VpcAccess{Connector: "conn"} }},
		{"concurrency above 1000", func(s *runpb.Service) { s.Template.MaxInstanceRequestConcurrency = 1001 }},
		{"a timeout above an hour", func(s *runpb.Service) { s.Template.Timeout = durationpb.New(2 * time.Hour) }},
		{"min above max", func(s *runpb.Service) {
			s.Template.Scaling = &runpb.RevisionScaling{MinInstanceCount: 3, MaxInstanceCount: 2}
		}},
		{"a mount of no volume", func(s *runpb.Service) {
			ingress(s.Template).VolumeMounts = []*runpb.VolumeMount{{Name: "nothing", MountPath: "/x"}}
		}},
		{"a variable twice", func(s *runpb.Service) {
			ingress(s.Template).Env = []*runpb.EnvVar{plainEnv("A", "1"), plainEnv("A", "2")}
		}},
		{"PORT", func(s *runpb.Service) { ingress(s.Template).Env = []*runpb.EnvVar{plainEnv("PORT", "1")} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				_, err := p.apply(t.Context(), "edit", []string{"template", "labels"}, func(svc *runpb.Service) error {
					c.edit(svc)
					return nil
				})
				if !errors.Is(err, providers.ErrInvalid) {
					t.Errorf("update = %v, want the fake to refuse it (InvalidArgument)", err)
				}
			})
		})
	}
}
