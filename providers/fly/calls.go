package fly

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// waitTimeout is the longest the API's wait endpoint waits per call.
const waitTimeout = 60

func appPath(app string) string { return "/apps/" + url.PathEscape(app) }

func machinePath(app, id string) string {
	return appPath(app) + "/machines/" + url.PathEscape(id)
}

// App reads the app.
func (c *Client) App(ctx context.Context, app string) (App, error) {
	var out App
	err := c.call(ctx, "read app "+app, http.MethodGet, appPath(app), "", nil, &out, false)
	return out, err
}

// List lists the app's machines that are not destroyed.
func (c *Client) List(ctx context.Context, app string) ([]Machine, error) {
	var out []Machine
	err := c.call(ctx, "list the machines of app "+app, http.MethodGet, appPath(app)+"/machines", "", nil, &out, false)
	return out, err
}

// Get reads one machine.
func (c *Client) Get(ctx context.Context, app, id string) (Machine, error) {
	var out Machine
	err := c.call(ctx, "read machine "+id, http.MethodGet, machinePath(app, id), "", nil, &out, false)
	return out, err
}

// Create launches a machine.
func (c *Client) Create(ctx context.Context, app string, in LaunchInput) (Machine, error) {
	var out Machine
	err := c.call(ctx, "create a machine in app "+app, http.MethodPost, appPath(app)+"/machines", "", in, &out, false)
	return out, err
}

// Update replaces a machine's config (and restarts it).
func (c *Client) Update(ctx context.Context, app, id, nonce string, in LaunchInput) (Machine, error) {
	var out Machine
	err := c.call(ctx, "update machine "+id, http.MethodPost, machinePath(app, id), nonce, in, &out, false)
	return out, err
}

// Start starts a stopped machine.
func (c *Client) Start(ctx context.Context, app, id, nonce string) error {
	return c.call(ctx, "start machine "+id, http.MethodPost, machinePath(app, id)+"/start", nonce, nil, nil, false)
}

// Stop stops a machine.
func (c *Client) Stop(ctx context.Context, app, id, nonce string) error {
	return c.call(ctx, "stop machine "+id, http.MethodPost, machinePath(app, id)+"/stop", nonce, map[string]string{"signal": "SIGTERM"}, nil, false)
}

// Destroy destroys a machine, killing it if it runs; one already gone is
// no error.
func (c *Client) Destroy(ctx context.Context, app, id, nonce string) error {
	err := c.call(ctx, "destroy machine "+id, http.MethodDelete, machinePath(app, id)+"?kill=true", nonce, nil, nil, false)
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}

// Wait waits until the machine (its instanceID, when given) is in state,
// asking again each time the API's wait times out, until ctx is done.
func (c *Client) Wait(ctx context.Context, app, id, instanceID, state string) error {
	q := url.Values{"state": {state}, "timeout": {strconv.Itoa(waitTimeout)}}
	if instanceID != "" {
		q.Set("instance_id", instanceID)
	}
	op := fmt.Sprintf("wait for machine %s to be %s", id, state)
	for {
		err := c.call(ctx, op, http.MethodGet, machinePath(app, id)+"/wait?"+q.Encode(), "", nil, nil, true)
		var ae *APIError
		switch {
		case err == nil:
			return nil
		case state == "destroyed" && errors.Is(err, providers.ErrNotFound):
			return nil
		case !errors.As(err, &ae) || ae.Status != http.StatusRequestTimeout:
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", op, context.Cause(ctx))
		}
	}
}

// Cordon stops the fly-proxy routing to the machine.
func (c *Client) Cordon(ctx context.Context, app, id, nonce string) error {
	return c.call(ctx, "cordon machine "+id, http.MethodPost, machinePath(app, id)+"/cordon", nonce, nil, nil, false)
}

// Uncordon routes to the machine again.
func (c *Client) Uncordon(ctx context.Context, app, id, nonce string) error {
	return c.call(ctx, "uncordon machine "+id, http.MethodPost, machinePath(app, id)+"/uncordon", nonce, nil, nil, false)
}

// SetMetadata sets one key of the machine's metadata.
func (c *Client) SetMetadata(ctx context.Context, app, id, nonce, key, value string) error {
	return c.call(ctx, fmt.Sprintf("set metadata %s of machine %s", key, id), http.MethodPost,
		machinePath(app, id)+"/metadata/"+url.PathEscape(key), nonce, map[string]string{"value": value}, nil, false)
}

// DeleteMetadata removes one key of the machine's metadata.
func (c *Client) DeleteMetadata(ctx context.Context, app, id, nonce, key string) error {
	err := c.call(ctx, fmt.Sprintf("delete metadata %s of machine %s", key, id), http.MethodDelete,
		machinePath(app, id)+"/metadata/"+url.PathEscape(key), nonce, nil, nil, false)
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}

// AcquireLease takes the machine's lease for ttl, or refreshes the one
// nonce names.
func (c *Client) AcquireLease(ctx context.Context, app, id, nonce string, ttl time.Duration) (Lease, error) {
	var out struct {
		Data struct {
			Nonce     string `json:"nonce"`
			ExpiresAt int64  `json:"expires_at"`
			Owner     string `json:"owner"`
		} `json:"data"`
	}
	secs := max(int(ttl/time.Second), 1)
	err := c.call(ctx, "take the lease of machine "+id, http.MethodPost, machinePath(app, id)+"/lease?ttl="+strconv.Itoa(secs), nonce, nil, &out, false)
	if err != nil {
		return Lease{}, err
	}
	return Lease{Nonce: out.Data.Nonce, Owner: out.Data.Owner, ExpiresAt: time.Unix(out.Data.ExpiresAt, 0)}, nil
}

// ReleaseLease gives the lease back; one already gone is no error.
func (c *Client) ReleaseLease(ctx context.Context, app, id, nonce string) error {
	err := c.call(ctx, "release the lease of machine "+id, http.MethodDelete, machinePath(app, id)+"/lease", nonce, nil, nil, false)
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}
