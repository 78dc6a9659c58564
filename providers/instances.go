package providers

import "context"

// InstanceLister is an optional capability of a Provider whose platform
// labels its built-in metrics by instance rather than by version (Fly's
// managed Prometheus: instance = machine ID). The CLI gives the
// Prometheus source what it returns as {{.Instances}}, so a selector
// such as instance=~"{{.Instances}}" sums each version's instances.
type InstanceLister interface {
	// InstancesOf lists the IDs of the instances that run the revision
	// now (none when no instance does).
	InstancesOf(ctx context.Context, revision string) ([]string, error)
}
