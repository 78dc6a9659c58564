// Package providers defines the contract between the rollout engine and the
// platforms ramp deploys to, the rollout record every platform keeps, and the
// registry that turns a provider name into an adapter.
package providers

import (
	"context"
	"time"
)

// Provider is one platform adapter bound to one service. Every method takes
// ctx first, is safe to call again after a failure, and reports what the
// platform holds rather than what the adapter last wrote.
type Provider interface {
	// Preflight checks that the platform is reachable and the service can be
	// read with the given credentials. It changes nothing.
	Preflight(ctx context.Context) error

	// Status reads the service as the platform reports it now: the stable,
	// candidate and previous revisions, the live traffic split and the
	// rollout record kept on the service.
	Status(ctx context.Context) (Status, error)

	// Deploy starts a candidate revision of the artifact beside the stable one
	// with no traffic, waits until it is ready, and returns it. With no stable
	// revision (a first deploy) the candidate is still started with no traffic.
	Deploy(ctx context.Context, a Artifact) (Revision, error)

	// SetWeight routes weight percent (0..100) of the traffic to the candidate
	// and the rest to the stable revision, atomically.
	SetWeight(ctx context.Context, weight int) error

	// Promote makes the candidate the stable revision with all the traffic.
	// The revision it replaces becomes Previous and stays ready until
	// keepPrevious has passed, so a rollback inside that window is instant.
	Promote(ctx context.Context, keepPrevious time.Duration) error

	// Rollback sends all the traffic to the stable revision and retires the
	// candidate. With no candidate but a warm Previous revision (a rollback
	// after promotion), it sends all the traffic back to Previous, which
	// becomes stable again.
	Rollback(ctx context.Context) error

	// Record stores the rollout record on the service itself, so that a
	// later process (another CI job, a PR comment) can find and drive it.
	Record(ctx context.Context, r Rollout) error
}

// Artifact is what to deploy: an image for the cloud providers, a command
// line for the local provider.
type Artifact struct {
	// Image is the container image, or the command line for the local provider.
	Image string `json:"image"`
	// Revision names the new revision (derived from the commit SHA); empty
	// lets the provider choose.
	Revision string `json:"revision,omitempty"`
	// Env is extra environment for the new revision, as KEY=VALUE pairs.
	Env []string `json:"env,omitempty"`
}

// Revision is one deployed version of the service.
type Revision struct {
	// ID names the revision on the platform.
	ID string `json:"id"`
	// Image is the artifact the revision runs.
	Image string `json:"image,omitempty"`
	// URL reaches this revision alone (a tag URL, a port), for probes and for
	// blue-green testing; empty if the platform gives none.
	URL string `json:"url,omitempty"`
	// Ready is true while the revision can serve traffic.
	Ready bool `json:"ready"`
}

// Status is the service as the platform reports it.
type Status struct {
	// URL is the service's public address.
	URL string `json:"url,omitempty"`
	// Stable serves the traffic the candidate does not; nil on a first deploy.
	Stable *Revision `json:"stable,omitempty"`
	// Candidate is the revision being rolled out; nil when none is.
	Candidate *Revision `json:"candidate,omitempty"`
	// Previous is the revision the last promotion replaced, while it is
	// still kept warm for a fast rollback.
	Previous *Revision `json:"previous,omitempty"`
	// Weight is the percentage of traffic the candidate serves now.
	Weight int `json:"weight"`
	// Rollout is the record kept on the service; its Phase is empty if no
	// rollout ever ran.
	Rollout Rollout `json:"rollout"`
}
