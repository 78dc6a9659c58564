package cloudrun

import (
	"strings"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
	"github.com/ramp-deploy/ramp/internal/input"
)

func TestRevisionName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, service, want, wantName string
		wantErr                       bool
	}{
		{name: "sha", service: "api", want: "3f2a9c1", wantName: "api-3f2a9c1"},
		{name: "already prefixed", service: "api", want: "api-3f2a9c1", wantName: "api-3f2a9c1"},
		{name: "upper case and symbols", service: "api", want: "Release_1.2/RC", wantName: "api-release-1-2-rc"},
		{name: "leading symbols", service: "api", want: "--x", wantName: "api-x"},
		{name: "63 characters", service: "checkout", want: strings.Repeat("a", 54), wantName: "checkout-" + strings.Repeat("a", 54)},
		{name: "too long", service: "checkout", want: strings.Repeat("a", 55), wantErr: true},
		{name: "too long once prefixed", service: "api", want: strings.Repeat("a", 58) + "-bcd", wantErr: true},
		{name: "nothing usable", service: "api", want: "___", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := revisionName(tc.service, tc.want)
			if (err != nil) != tc.wantErr {
				t.Fatalf("revisionName error %v, want %v", err, tc.wantErr)
			}
			if got != tc.wantName {
				t.Errorf("revisionName(%q, %q) = %q, want %q", tc.service, tc.want, got, tc.wantName)
			}
			if ie, ok := err.(*input.Error); err != nil && (!ok || ie.Input != "revision" ||
				!strings.Contains(ie.Error(), "at most 63") && !strings.Contains(ie.Error(), "no letters")) {
				t.Errorf("error %v: want an input error naming revision and the limit", err)
			}
			if err == nil && (len(got) > maxRevisionName || !fake.IsDNSLabel(got)) {
				t.Errorf("revisionName = %q, not a revision name Cloud Run accepts", got)
			}
		})
	}
}

func TestRevisionNameGenerated(t *testing.T) {
	t.Parallel()
	a, errA := revisionName("api", "")
	b, errB := revisionName("api", "")
	if errA != nil || errB != nil || a == b || !strings.HasPrefix(a, "api-") || !fake.IsDNSLabel(a) {
		t.Errorf("generated names %q (%v), %q (%v): want two distinct api-… names", a, errA, b, errB)
	}
}

func rt(rev string, pct int32, tag string) *runpb.TrafficTarget {
	return &runpb.TrafficTarget{Type: typeRevision, Revision: rev, Percent: pct, Tag: tag}
}

func TestSplitTargets(t *testing.T) {
	t.Parallel()
	userTags := []*runpb.TrafficTarget{
		{Type: typeLatest, Percent: 100},
		rt("api-1", 0, "green"),
		rt("api-2", 0, "candidate"),
		{Type: typeLatest, Tag: "latest"},
	}
	cases := []struct {
		name string
		s    split
		cur  []*runpb.TrafficTarget
		want []*runpb.TrafficTarget
	}{
		{"deploy", split{stable: "api-1", candidate: "api-3"}, userTags,
			[]*runpb.TrafficTarget{rt("api-1", 100, "stable"), rt("api-3", 0, "candidate"), rt("api-1", 0, "green"), {Type: typeLatest, Tag: "latest"}}},
		{"canary step", split{stable: "api-1", candidate: "api-3", previous: "api-0", weight: 25}, nil,
			[]*runpb.TrafficTarget{rt("api-1", 75, "stable"), rt("api-3", 25, "candidate"), rt("api-0", 0, "previous")}},
		{"promote", split{stable: "api-3", previous: "api-1"}, []*runpb.TrafficTarget{rt("api-1", 0, "stable"), rt("api-3", 100, "candidate")},
			[]*runpb.TrafficTarget{rt("api-3", 100, "stable"), rt("api-1", 0, "previous")}},
		{"previous is the stable one", split{stable: "api-1", previous: "api-1"}, nil,
			[]*runpb.TrafficTarget{rt("api-1", 100, "stable")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.s.targets(tc.cur), protocmp.Transform()); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRolesOf(t *testing.T) {
	t.Parallel()
	const prefix = "projects/p/locations/r/services/api/revisions/"
	cases := []struct {
		name string
		svc  *runpb.Service
		want roles
	}{
		{"fresh service", &runpb.Service{
			LatestReadyRevision: prefix + "api-1",
			Traffic:             []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100}},
		}, roles{stable: "api-1"}},
		{"tagged", &runpb.Service{
			LatestReadyRevision: prefix + "api-3",
			Traffic:             []*runpb.TrafficTarget{rt("api-2", 90, "stable"), rt("api-3", 10, "candidate"), rt("api-1", 0, "previous")},
		}, roles{stable: "api-2", candidate: "api-3", previous: "api-1"}},
		{"statuses win over the spec", &runpb.Service{
			Traffic:         []*runpb.TrafficTarget{rt("api-2", 100, "")},
			TrafficStatuses: []*runpb.TrafficTargetStatus{{Type: typeRevision, Revision: "api-1", Percent: 100}},
		}, roles{stable: "api-1"}},
		{"split by hand", &runpb.Service{
			Traffic: []*runpb.TrafficTarget{rt("api-1", 40, ""), rt("api-2", 60, ""), rt("api-9", 0, "green")},
		}, roles{stable: "api-2", others: 1}},
		{"candidate only", &runpb.Service{
			LatestReadyRevision: prefix + "api-3",
			Traffic:             []*runpb.TrafficTarget{rt("api-3", 100, "candidate")},
		}, roles{candidate: "api-3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, rolesOf(tc.svc), cmp.AllowUnexported(roles{})); diff != "" {
				t.Errorf("rolesOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCandidateTemplate(t *testing.T) {
	t.Parallel()
	env := func(k, v string) *runpb.EnvVar { return &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: v}} }
	sidecar := &runpb.Container{Name: "proxy", Image: "envoy"}
	cases := []struct {
		name string
		tmpl *runpb.RevisionTemplate
		env  []string
		want *runpb.RevisionTemplate
	}{
		{"no template", nil, []string{"A=1"}, &runpb.RevisionTemplate{Revision: "api-v2",
			Containers: []*runpb.Container{{Image: "img:v2", Env: []*runpb.EnvVar{env("A", "1")}}}}},
		{"env replaced by name", &runpb.RevisionTemplate{Revision: "api-v1", MaxInstanceRequestConcurrency: 80,
			Containers: []*runpb.Container{{Image: "img:v1", Env: []*runpb.EnvVar{env("A", "0"), env("B", "keep")}}}},
			[]string{"A=1", "C=x=y"},
			&runpb.RevisionTemplate{Revision: "api-v2", MaxInstanceRequestConcurrency: 80,
				Containers: []*runpb.Container{{Image: "img:v2", Env: []*runpb.EnvVar{env("A", "1"), env("B", "keep"), env("C", "x=y")}}}}},
		{"the container with a port", &runpb.RevisionTemplate{Containers: []*runpb.Container{
			sidecar, {Image: "img:v1", Ports: []*runpb.ContainerPort{{ContainerPort: 8080}}}}}, nil,
			&runpb.RevisionTemplate{Revision: "api-v2", Containers: []*runpb.Container{
				sidecar, {Image: "img:v2", Ports: []*runpb.ContainerPort{{ContainerPort: 8080}}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars, err := parseEnv(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			got := candidateTemplate(tc.tmpl, "api-v2", "img:v2", vars)
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("candidateTemplate (-want +got):\n%s", diff)
			}
		})
	}
}
