package providers

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Config is what a constructor gets: the service and the platform settings
// the user gave. Constructors only check and keep it; they call no API.
type Config struct {
	// Service names the service on the platform.
	Service string
	// Project and Region locate a Cloud Run service; Region is an ECS
	// service's AWS region too (empty: the AWS SDK's default chain).
	Project string
	Region  string
	// Cluster, Container, Listener, ListenerRule and TargetGroups locate an
	// ECS service, the container whose image a deploy replaces, and the
	// load balancer routing that splits its traffic (see providers/ecs).
	Cluster      string
	Container    string
	Listener     string
	ListenerRule string
	TargetGroups []string
	// Mode is how the ECS provider rolls out: "tasksets" (the default:
	// task sets on the EXTERNAL controller, weighed by ramp) or "native"
	// (ECS's own CANARY or LINEAR deployment, paused by a lifecycle hook
	// before each traffic shift). TaskDefinition is a task definition JSON
	// file to register instead of the stable one's copy (tasksets);
	// CandidateScale the candidate task set's percent of the service's
	// desired count (tasksets; 0: the stable's). HookTimeout is how long
	// ECS waits at a paused hook before rolling back by itself (native).
	Mode           string
	TaskDefinition string
	CandidateScale int
	HookTimeout    time.Duration
	// Weights are the candidate's weights the rollout's shift steps go
	// through, ending at 100, when the caller knows its plan; the ECS
	// provider's mode native maps them to ECS's own strategy.
	Weights []int
	// Strategy names the rollout's strategy when the caller knows its
	// plan (canary, linear, bluegreen, immediate, rolling): the Fly
	// provider refuses what its machines cannot do for that strategy
	// (blue-green without health checks, canary with volumes); the ECS
	// provider runs strategy rolling as ECS's own rolling update.
	Strategy string
	// App names a Fly app (empty: Service).
	App string
	// StateDir is where the local provider keeps its state.
	StateDir string
	// Listen is the address the local provider's proxy serves on.
	Listen string
	// MetricsListen is the address the local provider's agent serves its
	// Prometheus metrics on, at /metrics; empty turns them off.
	MetricsListen string
	// HealthPath is the path polled to tell that a local revision is ready.
	HealthPath string
	// Replicas is how many processes the local provider runs per version
	// (0 is 1), the instances strategy rolling replaces.
	Replicas int
	// SharedAgent makes the local provider run the service's agent inside
	// one process shared with every service whose state directory is in
	// the same parent directory, each on its own listen address.
	SharedAgent bool
	// ReadyTimeout bounds how long Deploy waits for a revision to be ready.
	ReadyTimeout time.Duration
	// Executable is the program the local provider runs as its agent; empty
	// means this program.
	Executable string
	// Flag locates the feature flag of the flag provider.
	Flag FlagTarget
}

// Constructor builds a provider from its configuration without touching the
// platform; a bad setting is an *input.Error naming the input.
type Constructor func(Config) (Provider, error)

// Registry maps provider names to constructors.
type Registry map[string]Constructor

// Names lists the registered names, sorted.
func (r Registry) Names() []string { return slices.Sorted(maps.Keys(r)) }

// New builds the provider called name. An unknown name is an error that
// lists the valid names; there is no default.
func (r Registry) New(name string, cfg Config) (Provider, error) {
	c, ok := r[name]
	if !ok {
		if name == "" {
			return nil, input.Invalid("provider", name, "is required; valid providers are %q", r.Names())
		}
		return nil, input.Invalid("provider", name, "unknown provider; valid providers are %q", r.Names())
	}
	p, err := c(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure provider %q: %w", name, err)
	}
	return p, nil
}
