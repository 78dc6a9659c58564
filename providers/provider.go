// Package providers defines the contract between the rollout engine and the
// platforms ramp deploys to, the rollout record every platform keeps, and the
// registry that turns a provider name into an adapter.
package providers

import (
	"context"
)

// Provider is one platform adapter bound to one service. Every method takes
// ctx first, is safe to call again after a failure, and reports what the
// platform holds rather than what the adapter last wrote.
//
// The traffic of a rollout only ever changes through Apply, together with
// the rollout record that describes it, so that any reader can tell what is
// true: the record and the split agree, or the record says which transition
// was interrupted (see Transition and ApplyStepwise).
type Provider interface {
	// Preflight checks that the platform is reachable and the service can be
	// read with the given credentials. It changes nothing.
	Preflight(ctx context.Context) error

	// Status reads the service as the platform reports it now: the stable,
	// candidate and previous revisions, the live traffic split and the
	// rollout record kept on the service. Drift is left to Diagnose.
	Status(ctx context.Context) (Status, error)

	// Deploy starts a candidate revision of the artifact beside the stable one
	// with no traffic, waits until it is ready, and returns it. With no stable
	// revision (a first deploy) the candidate is still started with no traffic.
	// A candidate with no traffic may be replaced; one with traffic is an
	// ErrConflict. The caller records the deploy before and after (the record
	// holds an Intent of ActionDeploy meanwhile).
	Deploy(ctx context.Context, a Artifact) (Revision, error)

	// Apply makes one transition: the traffic change t names and the store
	// of t.Record, compare-and-set against t.Record.Version (NextRecord). A
	// provider whose platform takes both in one write makes one write; any
	// other applies it with ApplyStepwise (a recorded intent, the act, the
	// outcome). A record changed since the writer read it is ErrStale and
	// nothing changes. Apply is idempotent: when the platform already shows
	// the change (Transition.Done), only the record is written. It returns
	// the record as stored, with its new Version.
	Apply(ctx context.Context, t Transition) (Rollout, error)
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
	// Settings are the new revision's and the service's other settings; a
	// provider refuses, by input name, any set that it cannot honour.
	Settings ServiceSettings `json:"settings,omitzero"`
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
	// Routing is how a RequestRouter routes by request now; nil routes by
	// Weight only.
	Routing *Routing `json:"routing,omitempty"`
	// Instances counts the instances each version runs now; nil from a
	// provider that has no instances to count (see Replacer).
	Instances *Instances `json:"instances,omitempty"`
	// Rollout is the record kept on the service; its Phase is empty if no
	// rollout ever ran.
	Rollout Rollout `json:"rollout"`
	// Warnings are facts about the platform a reader should know (the local
	// agent restarted after it died, ...).
	Warnings []string `json:"warnings,omitempty"`
	// Drift lists where the record and the platform disagree, as Diagnose
	// found it; readers fill it, providers leave it empty.
	Drift []Drift `json:"drift,omitempty"`
}

// Instances counts the instances of the stable and candidate versions.
type Instances struct {
	Stable    int `json:"stable"`
	Candidate int `json:"candidate"`
	// Paced is set by a platform that replaces the instances at its own
	// pace once the first replace started it (ECS's rolling update): a
	// replace is made once at least its Instances run the candidate, and
	// more of them than the record says is the platform's progress, not
	// drift.
	Paced bool `json:"paced,omitempty"`
}

// Ahead reports whether the platform, pacing the replacement itself, runs
// at least n instances of the candidate: a replace of n instances is made.
func (i *Instances) Ahead(n int) bool { return i != nil && i.Paced && i.Candidate >= n }

// Replacer is the optional capability of a provider whose service runs as
// a number of instances, which strategy rolling replaces in batches: the
// local provider's replicas (later ECS tasks, Fly machines). Without it,
// strategy rolling is an input error.
//
// A Replacer's Apply also takes ActionReplace, which sets how many
// instances run the candidate (and the rest the stable version), together
// with the record like any transition; its Status fills Instances; and its
// ActionRollback puts the stable version back on every instance, and its
// ActionPromote runs the candidate on every instance.
type Replacer interface {
	Provider
	// Instances reports how many instances the service runs at full
	// strength: the count a rolling rollout replaces.
	Instances(ctx context.Context) (int, error)
	// Stage registers a candidate revision of the artifact with no
	// instances and no traffic, for ActionReplace to start them batch by
	// batch, each waited for until healthy. Like Deploy, it replaces a
	// candidate with no traffic, and the caller records before and after.
	Stage(ctx context.Context, a Artifact) (Revision, error)
}
