package cloudrun

import (
	"errors"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

func TestClientError(t *testing.T) {
	t.Parallel()
	const adc = " See https://cloud.google.com/docs/authentication/external/set-up-adc for more information"
	cases := []struct {
		name string
		err  error
		want []string // in the message
		not  []string // not in the message
	}{
		{"no credentials (cloud.google.com/go/auth)", errors.New("create Cloud Run services client: credentials: could not find default credentials." + adc),
			[]string{"no Google credentials were found", "google-github-actions/auth", "GOOGLE_APPLICATION_CREDENTIALS",
				"gcloud auth application-default login", "could not find default credentials"}, []string{"permission denied"}},
		{"no credentials (golang.org/x/oauth2/google)", errors.New("google: could not find default credentials." + adc),
			[]string{"no Google credentials were found"}, []string{"permission denied"}},
		{"a credentials file that does not parse", errors.New("credentials: unsupported unidentified file type"),
			[]string{"permission denied: credentials: unsupported unidentified file type"}, []string{"no Google credentials"}},
	}
	for _, c := range cases {
		got := clientError(c.err)
		if !errors.Is(got, providers.ErrPermission) || !errors.Is(got, c.err) {
			t.Errorf("%s: clientError() = %v, want it to wrap ErrPermission and the error", c.name, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got.Error(), w) {
				t.Errorf("%s: clientError() = %q, want it to say %q", c.name, got, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got.Error(), n) {
				t.Errorf("%s: clientError() = %q, want it not to say %q", c.name, got, n)
			}
		}
	}
}

// TestNoCredentialsThroughTheProvider checks what a command prints when the
// Admin API client cannot be made for lack of credentials: the service's
// location, then that no credentials were found.
func TestNoCredentialsThroughTheProvider(t *testing.T) {
	t.Parallel()
	p, err := NewWithOptions(providers.Config{Service: "web", Project: "p", Region: "europe-west1"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.fail("read", clientError(errors.New("credentials: could not find default credentials.")))
	want := `cloudrun: read service "web" (project "p", region "europe-west1"): no Google credentials were found: in GitHub Actions`
	if !strings.HasPrefix(err.Error(), want) || !errors.Is(err, providers.ErrPermission) {
		t.Errorf("error = %q (permission: %v), want it to start %q and be ErrPermission", err, errors.Is(err, providers.ErrPermission), want)
	}
}
