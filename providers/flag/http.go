package flag

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// api is a JSON client of one flag service: its base URL, how a request
// is authenticated, and the service's name for messages. It never puts
// the token in an error.
type api struct {
	name string
	base string
	hc   *http.Client
	auth func(*http.Request)
}

// APIError is a refusal from the flag service, wrapping the providers
// sentinel its status means.
type APIError struct {
	Service string
	Method  string
	Path    string
	Status  int
	Message string
	err     error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s %s: %d %s", e.Service, e.Method, e.Path, e.Status, e.Message)
}

// Unwrap is the sentinel the status means: 401 and 403 ErrPermission, 404
// ErrNotFound, 400 and 422 ErrInvalid, 409 ErrConflict; nil for others,
// which a retry may fix.
func (e *APIError) Unwrap() error { return e.err }

// sentinel maps an HTTP status to the providers error it means.
func sentinel(status int) error {
	switch status {
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

// do sends body (JSON unless it is nil) with contentType and decodes a
// JSON answer into out (unless nil). A status other than 2xx is an
// *APIError carrying the service's message.
func (c *api) do(ctx context.Context, method, path, contentType string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s %s: encode the request: %w", c.name, method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", c.name, method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ramp")
	c.auth(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", c.name, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s %s: read the answer: %w", c.name, method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Service: c.name, Method: method, Path: path, Status: resp.StatusCode, Message: message(raw), err: sentinel(resp.StatusCode)}
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s %s: decode the answer: %w", c.name, method, path, err)
	}
	return nil
}

// message is the service's explanation in an error answer: the message
// field both Unleash and LaunchDarkly send (with Unleash's details), or
// the start of the body.
func message(raw []byte) string {
	var m struct {
		Message string `json:"message"`
		Details []struct {
			Message string `json:"message"`
		} `json:"details"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Message != "" {
		msg := m.Message
		for _, d := range m.Details {
			if d.Message != "" && d.Message != m.Message {
				msg += "; " + d.Message
			}
		}
		return msg
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// asAPIError is errors.As for *APIError.
func asAPIError(err error, target **APIError) bool { return errors.As(err, target) }
