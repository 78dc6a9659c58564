package cli

import (
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/cloudrun"
	"github.com/ramp-deploy/ramp/providers/local"
)

// registry is every provider ramp knows, by name. There is no default: an
// unknown name is an error listing these.
var registry = providers.Registry{
	"cloudrun": cloudrun.New,
	"local":    local.New,
}
