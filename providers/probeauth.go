package providers

import "net/http"

// ProbeAuthenticator is an optional capability of a Provider whose services
// may refuse requests that carry no credentials (a private Cloud Run
// service answers 403), or whose router must be told which instance a
// probe is for (the Fly provider pins requests for the app's URL to the
// candidate's machines with fly-force-instance-id). The CLI gives the
// HTTP probe gate the client it returns instead of a plain one.
type ProbeAuthenticator interface {
	// ProbeClient returns the client the probe gate sends its requests
	// with. The client adds credentials only to requests for the service's
	// own URLs (its address, its revisions' tag URLs); a request for any
	// other host, such as a probe-url elsewhere, goes out as a plain
	// client would send it. It calls nothing on the platform: whatever the
	// credentials need is found at the first request.
	ProbeClient() (*http.Client, error)
}
