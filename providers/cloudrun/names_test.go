package cloudrun

import (
	"errors"
	"strings"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// inputErrors lists the inputs err names, in order.
func inputErrors(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if ie, ok := errors.AsType[*input.Error](e); ok {
			out = append(out, ie.Input)
		} else if e != nil {
			t.Errorf("error %v is not an *input.Error", e)
		}
	}
	return out
}

// TestServiceNameLimit: Cloud Run refuses a traffic tag and a service name
// longer than 46 characters together, so with the tag "candidate" a
// service name may have 37; a longer one is refused by New, with every
// other bad input, before anything is called.
func TestServiceNameLimit(t *testing.T) {
	t.Parallel()
	at37, at38 := "s"+strings.Repeat("x", 36), "s"+strings.Repeat("x", 37)
	if _, err := New(providers.Config{Project: "p", Region: "r", Service: at37}); err != nil {
		t.Errorf("a service name of 37 characters: %v", err)
	}
	_, err := New(providers.Config{Project: "p/q", Region: "r", Service: at38})
	if diff := cmp.Diff([]string{"project", "service"}, inputErrors(t, err)); diff != "" {
		t.Errorf("inputs named (-want +got):\n%s", diff)
	}
	for _, s := range []string{at38, "38 characters", "at most 37", "46 characters", `"candidate"`} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
}

// TestCheckArtifact refuses, before anything is written, a revision whose
// name would be longer than Cloud Run takes, naming service, revision and
// the limit; generated names and names within it pass.
func TestCheckArtifact(t *testing.T) {
	t.Parallel()
	cfg := providers.Config{Project: "p", Region: "r", Service: "checkout"}
	for _, rev := range []string{"", "3f2a9c1-ab12", strings.Repeat("a", 54), "checkout-" + strings.Repeat("a", 54)} {
		if err := CheckArtifact(cfg, providers.Artifact{Image: "i", Revision: rev}); err != nil {
			t.Errorf("CheckArtifact(revision %q) = %v", rev, err)
		}
	}
	err := CheckArtifact(cfg, providers.Artifact{Image: "i", Revision: strings.Repeat("a", 55)})
	if diff := cmp.Diff([]string{"revision"}, inputErrors(t, err)); diff != "" {
		t.Errorf("inputs named (-want +got):\n%s", diff)
	}
	for _, s := range []string{`service "checkout"`, "at most 63", "at most 54 for the revision"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
}

// TestFakeRefusesWhatCloudRunRefuses sends the fake, through the real
// client, the names the real Admin API refuses: a tag too long beside the
// service name, a revision name of 64 characters, one without the
// service's prefix, one with upper case, a service name of 50 characters.
func TestFakeRefusesWhatCloudRunRefuses(t *testing.T) {
	t.Parallel()
	long := "s" + strings.Repeat("x", 37) // 38: "candidate" is one too many
	bubbleEmpty(t, func(t *testing.T, env *testEnv) {
		ctx := t.Context()
		admin, err := newAdmin(ctx, env.opts)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		create := func(id, rev, tag string) error {
			svc := &runpb.Service{Template: &runpb.RevisionTemplate{Revision: rev, Containers: []*runpb.Container{{Image: nextImage}}}}
			svc.Traffic = []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100, Tag: tag}}
			_, err := admin.CreateService(ctx, "projects/p/locations/europe-west1", id, svc)
			return err
		}
		cases := []struct {
			name, id, rev, tag string
			want               string // in the error; "" for none
		}{
			{"tag fits", long, "", "stable", ""},
			{"tag too long", long + "-b", "", "candidate", "Combined traffic tag and service name cannot exceed 46 characters"},
			{"revision of 63", "api", "api-" + strings.Repeat("a", 59), "", ""},
			{"revision of 64", "api2", "api2-" + strings.Repeat("a", 59), "", "at most 63 characters"},
			{"revision without the prefix", "api3", "web-1", "", "prefixed by the name of the enclosing Service"},
			{"revision in upper case", "api4", "api4-V1", "", "lowercase"},
			{"service name of 50", "s" + strings.Repeat("x", 49), "", "", "at most 49 characters"},
		}
		for _, tc := range cases {
			err := create(tc.id, tc.rev, tc.tag)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case tc.want != "" && (status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("%s: %v, want InvalidArgument saying %q", tc.name, err, tc.want)
			}
		}
	})
}
