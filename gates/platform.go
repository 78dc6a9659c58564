package gates

// PlatformGater is an optional capability of a provider whose platform
// judges its instances' health itself (the health checks of Fly's
// machines): the CLI adds the gates it returns to every rollout on it,
// beside the probes and metrics the rollout configures.
type PlatformGater interface {
	// PlatformGates returns the gates; building them calls nothing.
	PlatformGates() []Gate
}
