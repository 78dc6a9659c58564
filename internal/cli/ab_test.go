package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
)

const ecsListener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"

// TestABRefusedWhereRequestsCannotBeRouted: strategy ab is an input error
// on Cloud Run (naming the tag URL), Fly (naming the pinned machine) and
// ECS in mode native (naming mode tasksets), a cookie rule on ECS too,
// listed with every bad match rule, before any call; on the local
// provider only the bad rules and options are named.
func TestABRefusedWhereRequestsCannotBeRouted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"cloudrun", []string{"--provider=cloudrun", "--project=p", "--region=europe-west1", "--image=europe-docker.pkg.dev/p/web/web:1",
			"--match=header:X-Variant=b,path:/beta=1"},
			[]string{`input "strategy": provider cloudrun cannot route by request`, "tag gives the candidate its own URL", `(value "path:/beta=1")`}},
		{"fly", []string{"--provider=fly", "--image=registry.fly.io/web:1", "--ab-weight=30"},
			[]string{`input "strategy": provider fly cannot route by request`, "pin one machine"}},
		{"ecs native", []string{"--provider=ecs", "--mode=native", "--cluster=prod", "--region=us-east-1", "--image=r/web:2", "--listener=" + ecsListener,
			"--match=header:X-Variant=b"},
			[]string{`input "strategy": provider ecs cannot route by request`, "strategy ab needs mode tasksets"}},
		{"ecs cookie", []string{"--provider=ecs", "--cluster=prod", "--region=us-east-1", "--image=r/web:2", "--listener=" + ecsListener,
			"--match=cookie:variant=b,header:X-Variant=b"},
			[]string{`input "match": provider ecs routes by ["header" "query"] only (value "cookie:variant=b")`}},
		{"local", []string{"--provider=local", "--image=./web", "--state-dir=" + filepath.Join(t.TempDir(), "state"),
			"--match=cookie:variant,query:v=1", "--on-finish=promote", "--steps=5,100"},
			[]string{`(value "cookie:variant")`, `input "on-finish": must be one of`, `input "steps": does not apply to strategy "ab"`}},
	} {
		args := append([]string{"validate", "--service=web", "--strategy=ab"}, c.args...)
		code, stdout, stderr := ramp(t, nil, args...)
		if code != cli.ExitInvalid {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, code, cli.ExitInvalid, stdout, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, stderr)
			}
		}
	}
}
