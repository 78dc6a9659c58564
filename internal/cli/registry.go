package cli

import (
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/cloudrun"
	"github.com/ramp-deploy/ramp/providers/ecs"
	"github.com/ramp-deploy/ramp/providers/flag"
	"github.com/ramp-deploy/ramp/providers/fly"
	"github.com/ramp-deploy/ramp/providers/local"
)

// registry is every provider ramp knows, by name. There is no default: an
// unknown name is an error listing these.
var registry = providers.Registry{
	"cloudrun": cloudrun.New,
	"ecs":      ecs.New,
	"flag":     flag.New,
	"fly":      fly.New,
	"local":    local.New,
}

// artifactChecks checks an artifact for a provider before anything starts,
// whatever else is wrong with the configuration; a provider without one
// checks its artifact on Deploy only.
var artifactChecks = map[string]func(providers.Config, providers.Artifact) error{
	"cloudrun": cloudrun.CheckArtifact,
	"ecs":      ecs.CheckArtifact,
	"fly":      fly.CheckArtifact,
	"local":    func(_ providers.Config, a providers.Artifact) error { return local.CheckArtifact(a) },
}
