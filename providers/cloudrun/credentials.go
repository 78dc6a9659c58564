package cloudrun

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// howToAuthenticate says how to provide Application Default Credentials.
const howToAuthenticate = "in GitHub Actions, run google-github-actions/auth before ramp (Workload Identity " +
	"Federation needs `id-token: write`); elsewhere, set GOOGLE_APPLICATION_CREDENTIALS to a credentials file " +
	"or run `gcloud auth application-default login`"

// noCredentialsError is the failure to create a client when no Application
// Default Credentials exist at all. It is a providers.ErrPermission (the
// exit code of a provider error) whose message says so and how to provide
// them, rather than "permission denied".
type noCredentialsError struct{ err error }

func (e noCredentialsError) Error() string {
	return fmt.Sprintf("no Google credentials were found: %s (%v)", howToAuthenticate, e.err)
}

func (e noCredentialsError) Unwrap() []error { return []error{providers.ErrPermission, e.err} }

// clientError is the error of creating a Google API client: a
// noCredentialsError when no credentials were found (the message of both
// cloud.google.com/go/auth and golang.org/x/oauth2/google), otherwise the
// error as a providers.ErrPermission.
func clientError(err error) error {
	if strings.Contains(err.Error(), "could not find default credentials") {
		return noCredentialsError{err}
	}
	return fmt.Errorf("%w: %w", providers.ErrPermission, err)
}
