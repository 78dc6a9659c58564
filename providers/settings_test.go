package providers_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/providers"
)

func TestWithDefaultLabels(t *testing.T) {
	t.Parallel()
	for commit, want := range map[string]map[string]string{
		"": {"managed-by": "ramp"},
		"0123456789abcdef0123456789abcdef01234567": {"managed-by": "ramp", "commit-sha": "0123456789abcdef0123456789abcdef01234567"},
		"ABC/def 1.2":           {"managed-by": "ramp", "commit-sha": "abcdef12"},
		strings.Repeat("a", 70): {"managed-by": "ramp", "commit-sha": strings.Repeat("a", 63)},
	} {
		s := providers.ServiceSettings{Labels: map[string]string{"managed-by": "me"}}.WithDefaultLabels(commit)
		if diff := cmp.Diff(want, s.DefaultLabels); diff != "" {
			t.Errorf("commit %q: default labels (-want +got):\n%s", commit, diff)
		}
		if s.Labels["managed-by"] != "me" {
			t.Errorf("commit %q: the user's labels changed: %v", commit, s.Labels)
		}
	}
}

func TestSetAndInputOf(t *testing.T) {
	t.Parallel()
	n := 0
	s := providers.ServiceSettings{EnvMode: providers.EnvReplace, DefaultLabels: map[string]string{"a": "b"}, MinInstances: &n,
		CPU: "1", Origin: map[string]string{"cpu": "metadata"}}
	if diff := cmp.Diff([]string{"cpu", "min-instances"}, s.Set()); diff != "" {
		t.Errorf("Set (-want +got):\n%s", diff)
	}
	if s.InputOf("cpu") != "metadata" || s.InputOf("min-instances") != "min-instances" {
		t.Errorf("InputOf: cpu from %q, min-instances from %q", s.InputOf("cpu"), s.InputOf("min-instances"))
	}
}
