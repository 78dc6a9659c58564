package cli_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// TestServiceSettingsValidate: validate checks the service settings before
// any call: the syntax (config) and Cloud Run's rules (the provider) are
// listed together; the local provider refuses them by name.
func TestServiceSettingsValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	meta := filepath.Join(dir, "service.yaml")
	if err := os.WriteFile(meta, []byte("kind: Service\nspec:\n  template:\n    spec:\n      containerConcurrency: 80\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cloudrun := []string{"validate", "--provider=cloudrun", "--project=p", "--region=europe-west1", "--service=web",
		"--image=europe-docker.pkg.dev/p/web/web:1"}
	local := []string{"validate", "--provider=local", "--service=web", "--state-dir=" + filepath.Join(dir, "state"), "--image=./web"}
	cases := []struct {
		name string
		args []string
		want []string // the inputs named; nil: valid
	}{
		{"every cloudrun setting", append(slices.Clone(cloudrun), "--env-mode=replace", "--secrets=A=s:1,/s/f=s:latest",
			"--labels=team=pay", "--service-account=web@p.iam.gserviceaccount.com", "--cpu=1", "--memory=512Mi", "--min-instances=1",
			"--max-instances=3", "--concurrency=10", "--timeout=15m", "--network=default", "--vpc-egress=all-traffic",
			"--cloudsql-instances=p:europe-west1:db", "--ingress=internal", "--metadata="+meta), nil},
		{"syntax and Cloud Run's rules at once", append(slices.Clone(cloudrun), "--cpu=16", "--memory=lots", "--labels=Team=x",
			"--concurrency=5000", "--timeout=2h", "--secrets=PORT=s:1"),
			[]string{"cpu", "labels", "memory", "concurrency", "secrets", "timeout"}},
		{"the local provider", append(slices.Clone(local), "--cpu=1", "--ingress=all", "--env-mode=replace"), []string{"cpu", "ingress"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := ramp(t, nil, c.args...)
			if c.want == nil {
				if code != cli.ExitOK {
					t.Fatalf("exit %d:\n%s", code, stderr)
				}
				return
			}
			if code != cli.ExitInvalid {
				t.Errorf("exit %d, want %d", code, cli.ExitInvalid)
			}
			var got []string
			for _, l := range inputLines(stderr) {
				name, _, _ := strings.Cut(strings.TrimPrefix(l, `input "`), `"`)
				got = append(got, name)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(got, want) {
				t.Errorf("inputs named %q, want %q:\n%s", got, want, stderr)
			}
		})
	}
}
