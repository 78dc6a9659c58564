package cloudrun

import (
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ramp-deploy/ramp/providers"
)

// seedTemplate is the template the seed revision was made from, named.
func seedTemplate() *runpb.RevisionTemplate {
	return &runpb.RevisionTemplate{Revision: seedRevision, Containers: []*runpb.Container{{
		Image: stableImage, Ports: []*runpb.ContainerPort{{ContainerPort: 8080}},
	}}}
}

// TestRollbackRestoresTheTemplate rolls back a candidate that changed the
// image and the env, in each way a rollback happens: the service's
// template is the stable revision's again (named after it, so no revision
// is created), and the next deploy starts from it.
func TestRollbackRestoresTheTemplate(t *testing.T) {
	t.Parallel()
	bad := providers.Artifact{Image: nextImage, Revision: "v2", Env: []string{"FEATURE=on"}}
	cases := []struct {
		name string
		// back rolls back from the candidate deployed with bad.
		back func(*testing.T, *testEnv, *Provider)
	}{
		{"rollback", func(t *testing.T, _ *testEnv, p *Provider) {
			rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: candidateRevision}))
			mustApply(t, p, rollback(candidateRevision, mustApply(t, p, shift(candidateRevision, 10, rec))))
		}},
		{"revert after promotion", func(t *testing.T, _ *testEnv, p *Provider) {
			rec := mustApply(t, p, record(providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: candidateRevision}))
			mustApply(t, p, revert(candidateRevision, mustApply(t, p, promote(candidateRevision, time.Hour, rec))))
		}},
		{"rollback from another process", func(t *testing.T, e *testEnv, _ *Provider) {
			other := e.provider(t)
			st, err := other.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, other, rollback(candidateRevision, st.Rollout))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				p := e.provider(t)
				if _, err := p.Deploy(t.Context(), bad); err != nil {
					t.Fatal(err)
				}
				tc.back(t, e, p)
				svc := e.admin.Service(testName)
				if diff := cmp.Diff(seedTemplate(), svc.GetTemplate(), protocmp.Transform()); diff != "" {
					t.Errorf("template after the rollback (-want +got):\n%s", diff)
				}
				if got := annotation(svc, annotationTemplate); got != "" {
					t.Errorf("%s = %q after the rollback, want it gone", annotationTemplate, got)
				}
				if got := shortName(svc.GetLatestCreatedRevision()); got != candidateRevision {
					t.Errorf("latest created revision %s, want %s: the rollback created a revision", got, candidateRevision)
				}
				next := deploy(t, p, "v3")
				if env := e.revision(next.ID).GetContainers()[0].GetEnv(); len(env) != 0 {
					t.Errorf("the next candidate's env %v, want none: it starts from the candidate rolled back", env)
				}
			})
		})
	}
}

// TestDeployNotReadyRestoresTheTemplate: a candidate that never got ready
// leaves the stable revision's template behind too.
func TestDeployNotReadyRestoresTheTemplate(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		if _, err := p.Deploy(t.Context(), providers.Artifact{Image: "europe-docker.pkg.dev/p/app/api:broken", Revision: "v2"}); err == nil {
			t.Fatal("Deploy of a broken image succeeded")
		}
		if diff := cmp.Diff(seedTemplate(), e.admin.Service(testName).GetTemplate(), protocmp.Transform()); diff != "" {
			t.Errorf("template (-want +got):\n%s", diff)
		}
	})
}

// TestRollbackWhenTheSavedTemplateIsRefused: when Cloud Run refuses the
// saved template (it finds the stable revision configured otherwise), the
// rollback still sends the traffic back, leaving the template as it is.
func TestRollbackWhenTheSavedTemplateIsRefused(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T, e *testEnv) {
		p := e.provider(t)
		rec := canaryAt(t, p, 10)
		other := seedTemplate()
		other.Containers[0].Image = "europe-docker.pkg.dev/p/app/api:other"
		b, err := protojson.Marshal(other)
		if err != nil {
			t.Fatal(err)
		}
		e.edit(func(svc *runpb.Service) { setAnnotation(svc, annotationTemplate, string(b)) })
		mustApply(t, p, rollback(candidateRevision, rec))
		if diff := cmp.Diff([]route{{seedRevision, 100, "stable"}}, e.routes()); diff != "" {
			t.Errorf("traffic (-want +got):\n%s", diff)
		}
		if got := e.admin.Service(testName).GetTemplate().GetRevision(); got != candidateRevision {
			t.Errorf("template names %q, want the candidate's, left as it was", got)
		}
	})
}
