package fly

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// machinesAPI is the part of the Fly Machines API the adapter calls;
// *Client implements it over HTTP. Every write to a leased machine names
// the lease's nonce ("" when the caller holds none).
type machinesAPI interface {
	// App reads the app: it proves the token and the app name.
	App(ctx context.Context, app string) (App, error)
	// List lists the app's machines that are not destroyed.
	List(ctx context.Context, app string) ([]Machine, error)
	// Get reads one machine.
	Get(ctx context.Context, app, id string) (Machine, error)
	// Create launches a machine.
	Create(ctx context.Context, app string, in LaunchInput) (Machine, error)
	// Update replaces the machine's config (a new image), restarting it;
	// the answer carries its new instance ID.
	Update(ctx context.Context, app, id, nonce string, in LaunchInput) (Machine, error)
	// Stop stops the machine (SIGTERM).
	Stop(ctx context.Context, app, id, nonce string) error
	// Destroy destroys a machine, killing it if it runs; one already gone
	// is no error.
	Destroy(ctx context.Context, app, id, nonce string) error
	// Wait waits until the machine is in state, for as long as ctx
	// allows, asking again each time the API's wait times out (408); a
	// machine gone while waiting for destroyed is no error.
	Wait(ctx context.Context, app, id, instanceID, state string) error
	// Cordon stops the fly-proxy routing to the machine; Uncordon routes
	// to it again (and registers a machine created without services).
	Cordon(ctx context.Context, app, id, nonce string) error
	Uncordon(ctx context.Context, app, id, nonce string) error
	// SetMetadata sets one key of the machine's metadata; DeleteMetadata
	// removes it.
	SetMetadata(ctx context.Context, app, id, nonce, key, value string) error
	DeleteMetadata(ctx context.Context, app, id, nonce, key string) error
	// AcquireLease takes the machine's lease for ttl, or refreshes it when
	// nonce names the one held; another holder's lease is ErrConflict.
	AcquireLease(ctx context.Context, app, id, nonce string, ttl time.Duration) (Lease, error)
	// ReleaseLease gives the lease back.
	ReleaseLease(ctx context.Context, app, id, nonce string) error
}

var _ machinesAPI = (*Client)(nil)

// App is an app as the API shows it.
type App struct {
	Name         string `json:"name"`
	Status       string `json:"status"`
	MachineCount int    `json:"machine_count"`
	VolumeCount  int    `json:"volume_count"`
	Organization struct {
		Slug string `json:"slug"`
	} `json:"organization"`
}

// Machine is a machine as the API shows it (the fields ramp reads).
type Machine struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	State      string  `json:"state"`
	Region     string  `json:"region"`
	InstanceID string  `json:"instance_id"`
	Config     Config  `json:"config"`
	Checks     []Check `json:"checks"`
	// Cordoned is whether the fly-proxy skips the machine; a machine
	// created with skip_service_registration counts as cordoned until it
	// is uncordoned.
	Cordoned  bool      `json:"cordoned"`
	CreatedAt time.Time `json:"created_at"`
}

// Check is a health check's last result.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // passing, warning or critical
	Output string `json:"output"`
}

// LaunchInput is the body of a create.
type LaunchInput struct {
	Config                  Config `json:"config"`
	Region                  string `json:"region,omitempty"`
	Name                    string `json:"name,omitempty"`
	SkipServiceRegistration bool   `json:"skip_service_registration,omitempty"`
}

// Lease is a machine's lease.
type Lease struct {
	Nonce     string
	Owner     string
	ExpiresAt time.Time
}

// Config is a MachineConfig kept whole as JSON decodes it, so a machine
// created from another's config carries every field, known to ramp or not.
type Config map[string]any

// Clone is a deep copy of c.
func (c Config) Clone() Config {
	raw, err := json.Marshal(c)
	if err != nil {
		return maps.Clone(c)
	}
	var out Config
	if json.Unmarshal(raw, &out) != nil {
		return maps.Clone(c)
	}
	return out
}

// Image is the config's image.
func (c Config) Image() string {
	s, _ := c["image"].(string)
	return s
}

// Metadata is the config's metadata as strings.
func (c Config) Metadata() map[string]string {
	md, _ := c["metadata"].(map[string]any)
	out := make(map[string]string, len(md))
	for k, v := range md {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// SetMetadata sets one metadata key.
func (c Config) SetMetadata(key, value string) {
	md, ok := c["metadata"].(map[string]any)
	if !ok {
		md = map[string]any{}
		c["metadata"] = md
	}
	md[key] = value
}

// HasServices reports whether the fly-proxy routes to machines of c.
func (c Config) HasServices() bool {
	s, _ := c["services"].([]any)
	return len(s) > 0
}

// Mounts lists the volumes c mounts.
func (c Config) Mounts() []any {
	m, _ := c["mounts"].([]any)
	return m
}

// CheckNames names the config's health checks: the top-level ones by
// their key, a service's as "servicecheck-I-J" (as Fly names them).
func (c Config) CheckNames() []string {
	var out []string
	if top, ok := c["checks"].(map[string]any); ok {
		for name := range top {
			out = append(out, name)
		}
	}
	s, _ := c["services"].([]any)
	for i, svc := range s {
		m, _ := svc.(map[string]any)
		for _, kind := range []string{"checks", "http_checks", "tcp_checks"} {
			cs, _ := m[kind].([]any)
			for j := range cs {
				out = append(out, fmt.Sprintf("servicecheck-%02d-%s-%d", i, kind, j))
			}
		}
	}
	return out
}
