package cli_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	ld "github.com/ramp-deploy/ramp/internal/fakes/launchdarkly"
)

// TestFlagInputs: the flag provider's and a flag step's inputs are
// checked before anything starts, every bad one named at once (exit 2),
// the token never printed; a flag step is refused with provider flag;
// plan shows a flag step where it runs.
func TestFlagInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		{"flag provider, missing inputs", []string{"validate", "--provider=flag", "--service=checkout", "--image=v2", "--flag=checkout", "--flag-backend=launchdarkly", "--flag-url=ftp://x"},
			2, []string{`input "flag-environment": is required`, `input "flag-project": is required`, `input "flag-token": is required`, `input "flag-url": must be an http or https URL`}, nil},
		{"flag provider, unknown backend", []string{"validate", "--provider=flag", "--service=checkout", "--image=v2", "--flag=checkout", "--flag-backend=split", "--flag-token=tok-secret-1"},
			2, []string{`input "flag-backend": unknown flag backend; valid backends are ["launchdarkly" "unleash" "webhook"]`}, []string{"tok-secret-1"}},
		{"flag step, bad flag inputs", []string{"validate", "--provider=local", "--service=web", "--image=./web", "--steps=10,flag,100", "--flag=bad name", "--flag-backend=unleash"},
			2, []string{`input "flag": must be a flag key`, `input "flag-environment": is required`, `input "flag-url": is required`, `input "flag-token": is required`}, nil},
		{"flag step with provider flag", []string{"validate", "--provider=flag", "--service=checkout", "--image=v2", "--steps=10,flag,100", "--flag=checkout", "--flag-backend=webhook", "--flag-url=http://127.0.0.1:1"},
			2, []string{`input "steps": has a flag step`}, nil},
		{"plan shows the flag step", []string{"plan", "--provider=local", "--service=web", "--image=./web", "--listen=127.0.0.1:0", "--steps=10,flag:30,100",
			"--flag=checkout", "--flag-backend=webhook", "--flag-url=http://127.0.0.1:1"},
			0, []string{"turn the flag on for 30% of users (candidate at 10%)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "--state-dir="+t.TempDir()+"/state")
			code, stdout, stderr := ramp(t, nil, args...)
			out := stdout + stderr
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output shows %q:\n%s", n, out)
				}
			}
		})
	}
}

// TestFlagProviderDeploy runs `ramp deploy --provider flag` end to end
// against the LaunchDarkly fake on a loopback port: the flag reaches 100%,
// and the token (from RAMP_FLAG_TOKEN) is never printed; `ramp rollback`
// after the promotion, within the rollback window, puts it back to 0%.
func TestFlagProviderDeploy(t *testing.T) {
	t.Parallel()
	w := ld.New("api-secret-tok")
	w.AddFlag("shop", "checkout", "production")
	srv := httptest.NewServer(w)
	defer srv.Close()
	vars := map[string]string{"RAMP_FLAG_TOKEN": "api-secret-tok"}
	common := []string{"--provider=flag", "--service=checkout", "--flag=checkout", "--flag-backend=launchdarkly", "--flag-project=shop",
		"--flag-environment=production", "--flag-url=" + srv.URL}
	code, stdout, stderr := ramp(t, vars, append([]string{"deploy", "--image=shop:v2", "--revision=v2", "--steps=50,100", "--interval=200ms",
		"--rollback-window=1h"}, common...)...)
	if code != 0 || w.Percent("shop", "checkout", "production") != 100000 {
		t.Fatalf("deploy: exit %d, serving %d/100000:\n%s%s", code, w.Percent("shop", "checkout", "production"), stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "api-secret-tok") {
		t.Errorf("the token was printed:\n%s%s", stdout, stderr)
	}
	code, stdout, stderr = ramp(t, vars, append([]string{"rollback", "--reason=conversion fell"}, common...)...)
	if code != 0 || w.Percent("shop", "checkout", "production") != 0 {
		t.Errorf("rollback: exit %d, serving %d/100000:\n%s%s", code, w.Percent("shop", "checkout", "production"), stdout, stderr)
	}
}
