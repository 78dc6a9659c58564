package cli

import (
	"fmt"
	"net/http"

	"github.com/ramp-deploy/ramp/providers"
)

// probeClient is the client the probe gate sends its requests with: the
// provider's when it authenticates probes (a private Cloud Run service
// refuses requests without an ID token), which adds credentials only to
// requests for the service's own URLs; a plain client otherwise.
func probeClient(prov providers.Provider) (*http.Client, error) {
	pa, ok := prov.(providers.ProbeAuthenticator)
	if !ok {
		return &http.Client{}, nil
	}
	c, err := pa.ProbeClient()
	if err != nil {
		return nil, fmt.Errorf("make the probe's client: %w", err)
	}
	return c, nil
}
