package providers

// FlagTarget locates the feature flag the flag provider rolls out (see
// providers/flag), and the flag service that holds it.
type FlagTarget struct {
	// Name is the flag's key (Unleash: the feature's name).
	Name string
	// Backend is the flag service: unleash, launchdarkly or webhook.
	Backend string
	// Environment is the flag service's environment the rollout moves
	// the flag in (Unleash: development, production, ...; LaunchDarkly: an
	// environment key); the webhook is sent it as it is.
	Environment string
	// Project is the Unleash project (default: default) or the
	// LaunchDarkly project key.
	Project string
	// URL is the flag service's address: the Unleash server, the
	// LaunchDarkly API (default: https://app.launchdarkly.com), or the
	// webhook's endpoint.
	URL string
	// Token authenticates to the flag service (a secret).
	Token string
}
