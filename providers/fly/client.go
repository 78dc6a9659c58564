package fly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// DefaultBaseURL is the public Machines API.
const DefaultBaseURL = "https://api.machines.dev"

// nonceHeader carries a lease's nonce on a write.
const nonceHeader = "fly-machine-lease-nonce"

// Doer sends HTTP requests; *http.Client is one.
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Client calls the Machines API with a token, retrying what the API says
// is transient (408, 429 and 5xx) with backoff. The token is sent in the
// Authorization header only and never printed.
type Client struct {
	base     string
	auth     string
	hc       Doer
	attempts int
	backoff  time.Duration
}

// NewClient returns a client of the API at base (DefaultBaseURL when
// empty) with token: a token starting with "FlyV1 " (a macaroon, as fly
// tokens create prints) is sent as it is, any other as a Bearer token.
func NewClient(base, token string, hc Doer) (*Client, error) {
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q: want http(s)://host", providers.ErrInvalid, base)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, fmt.Errorf("%w: no Fly API token: set FLY_API_TOKEN (fly tokens create deploy)", providers.ErrPermission)
	}
	auth := "Bearer " + token
	if strings.HasPrefix(token, "FlyV1 ") {
		auth = token
	}
	if hc == nil {
		hc = &http.Client{Timeout: 90 * time.Second}
	}
	return &Client{base: strings.TrimSuffix(base, "/") + "/v1", auth: auth, hc: hc, attempts: 5, backoff: 500 * time.Millisecond}, nil
}

// APIError is an answer of the API that is not a success.
type APIError struct {
	// Op names the call, e.g. "cordon machine 1234".
	Op string
	// Status is the HTTP status; Code and Message come from the body.
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s: %d: %s", e.Op, e.Status, msg)
}

// Unwrap is the providers sentinel the status means, if any.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return providers.ErrPermission
	case http.StatusNotFound:
		return providers.ErrNotFound
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return providers.ErrInvalid
	case http.StatusConflict, http.StatusPreconditionFailed:
		return providers.ErrConflict
	}
	return nil
}

// transient reports whether the API asks the call to be made again.
func transient(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// call makes one API call, retrying transient answers, and decodes a
// success into out (when not nil). wait408 returns a 408 at once (the
// wait endpoint's timeout, which Wait loops on).
func (c *Client) call(ctx context.Context, op, method, path, nonce string, in, out any, wait408 bool) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s: encode the request: %w", op, err)
		}
	}
	delay := c.backoff
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := c.once(ctx, op, method, path, nonce, body, out)
		var ae *APIError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &ae) || !transient(status) || (wait408 && status == http.StatusRequestTimeout) || attempt >= c.attempts:
			return err
		}
		d := min(delay, 10*time.Second)
		if retryAfter > 0 {
			d = min(retryAfter, 30*time.Second)
		}
		if err := sleep(ctx, d); err != nil {
			return fmt.Errorf("%s: %w (after %w)", op, err, ae)
		}
		delay *= 2
	}
}

// once makes one request and returns its status and Retry-After.
func (c *Client) once(ctx context.Context, op, method, path, nonce string, body []byte, out any) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if nonce != "" {
		req.Header.Set(nonceHeader, nonce)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, 0, fmt.Errorf("%s: read the answer: %w", op, err)
	}
	if resp.StatusCode >= 300 {
		ae := &APIError{Op: op, Status: resp.StatusCode}
		var eb struct {
			Error  string `json:"error"`
			Status string `json:"status"`
		}
		if json.Unmarshal(raw, &eb) == nil {
			ae.Message, ae.Code = eb.Error, eb.Status
		}
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, time.Duration(secs) * time.Second, ae
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, 0, fmt.Errorf("%s: decode the answer: %w", op, err)
		}
	}
	return resp.StatusCode, 0, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
