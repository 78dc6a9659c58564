package cli_test

import (
	"strings"
	"testing"
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
