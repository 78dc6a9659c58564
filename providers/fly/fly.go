package fly

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	// defaultReadyTimeout bounds Deploy's wait when the config gives none.
	defaultReadyTimeout = 10 * time.Minute
	// defaultPollInterval spaces the reads of a starting machine's checks.
	defaultPollInterval = 2 * time.Second
	// leaseTTL is how long ramp holds a machine's lease for one write
	// (which takes seconds): far longer than a stall a live process
	// survives, since a process stalled past it between its last check and
	// its write could overwrite a later record; and so how long a killed
	// process's lease holds the others up.
	leaseTTL = 3 * time.Minute
)

// appName is what Fly takes as an app name.
var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Provider is the Fly adapter for one app. Build one with New or
// NewWithClient.
type Provider struct {
	cfg  providers.Config
	app  string
	poll time.Duration
	now  func() time.Time

	mu  sync.Mutex
	api machinesAPI // nil: built from the environment on first use
	// probeTransport carries the probe client's requests (nil: the
	// default transport); tests reach a fake fly-proxy through it.
	probeTransport http.RoundTripper
}

var _ providers.Provider = (*Provider)(nil)

// New builds a provider for the app cfg.App (cfg.Service when empty) whose
// client takes FLY_API_TOKEN and FLY_API_BASE_URL from the environment on
// first use. It calls nothing.
func New(cfg providers.Config) (providers.Provider, error) {
	p, err := newProvider(cfg, nil)
	if err != nil {
		return nil, err // not a nil *Provider in a non-nil interface
	}
	return p, nil
}

// NewWithClient is New with the client given.
func NewWithClient(cfg providers.Config, c *Client) (*Provider, error) {
	return newProvider(cfg, c)
}

func newProvider(cfg providers.Config, api machinesAPI) (*Provider, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	app := cfg.App
	if app == "" {
		app = cfg.Service
	}
	return &Provider{cfg: cfg, app: app, poll: defaultPollInterval, now: time.Now, api: api}, nil
}

// validate reports every missing or malformed input at once.
func validate(cfg providers.Config) error {
	var errs []error
	if cfg.Service == "" {
		errs = append(errs, input.Missing("service"))
	}
	if cfg.App != "" && !appName.MatchString(cfg.App) {
		errs = append(errs, input.Invalid("app", cfg.App, "must be a Fly app name: 2 to 63 lowercase letters, digits and hyphens"))
	}
	if cfg.App == "" && cfg.Service != "" && !appName.MatchString(cfg.Service) {
		errs = append(errs, input.Invalid("service", cfg.Service, "is taken as the Fly app name (no app given), which must be 2 to 63 lowercase letters, digits and hyphens; set app"))
	}
	return errors.Join(errs...)
}

// client is the API client, built from the environment on first use.
func (p *Provider) client() (machinesAPI, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.api != nil {
		return p.api, nil
	}
	c, err := NewClient(os.Getenv("FLY_API_BASE_URL"), os.Getenv("FLY_API_TOKEN"), nil)
	if err != nil {
		return nil, err
	}
	p.api = c
	return c, nil
}

// fail wraps err with the action and the app.
func (p *Provider) fail(action string, err error) error {
	return fmt.Errorf("fly: %s app %q: %w", action, p.app, err)
}

// Preflight reads the app and its machines, which proves the token and the
// app name, and refuses an app the strategy cannot drive. It changes nothing.
func (p *Provider) Preflight(ctx context.Context) error {
	api, err := p.client()
	if err != nil {
		return p.fail("read", err)
	}
	if _, err := api.App(ctx, p.app); err != nil {
		return p.fail("read", err)
	}
	v, err := p.read(ctx, "read the machines of")
	if err != nil {
		return err
	}
	r := p.rolesOf(v)
	if err := p.canRun(r); err != nil {
		return p.fail("check", err)
	}
	return nil
}
