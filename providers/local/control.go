package local

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// maxControlBody bounds a control API request or answer.
const maxControlBody = 4 << 20

// errorKinds maps the provider sentinels to the kinds and HTTP statuses the
// control API reports them with, so the client can wrap them again.
var errorKinds = []struct {
	kind   string
	err    error
	status int
}{
	{"not_found", providers.ErrNotFound, http.StatusNotFound},
	{"permission", providers.ErrPermission, http.StatusForbidden},
	{"invalid", providers.ErrInvalid, http.StatusBadRequest},
	{"conflict", providers.ErrConflict, http.StatusConflict},
	{"not_ready", providers.ErrNotReady, http.StatusUnprocessableEntity},
	{"no_candidate", providers.ErrNoCandidate, http.StatusPreconditionFailed},
	{"stale", providers.ErrStale, http.StatusConflict},
}

// errorBody is the answer to a failed control call.
type errorBody struct {
	Error string `json:"error"`
	Kind  string `json:"kind,omitempty"`
}

// pingReply identifies the agent.
type pingReply struct {
	Service string `json:"service"`
	PID     int    `json:"pid"`
	Proxy   string `json:"proxy"`
}

// observeRequest is the body of an observe call.
type observeRequest struct {
	Candidate string       `json:"candidate"`
	Stable    string       `json:"stable,omitempty"`
	Window    gates.Window `json:"window"`
}

// empty is the answer of calls that return nothing.
type empty struct{}

// controlHandler serves the control API, every call authenticated with the
// agent's token.
func (a *Agent) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ping", rpc(func(context.Context, empty) (pingReply, error) {
		return pingReply{Service: a.cfg.Service, PID: os.Getpid(), Proxy: a.proxyURL}, nil
	}))
	mux.Handle("GET /v1/status", rpc(func(ctx context.Context, _ empty) (providers.Status, error) {
		return a.status(ctx), nil
	}))
	mux.Handle("POST /v1/deploy", rpc(a.deploy))
	mux.Handle("POST /v1/apply", rpc(a.apply))
	mux.Handle("POST /v1/observe", rpc(func(_ context.Context, r observeRequest) (gates.Observation, error) {
		return a.metrics.observe(gates.CountQuery{Candidate: r.Candidate, Stable: r.Stable, Window: r.Window})
	}))
	mux.Handle("POST /v1/shutdown", rpc(func(context.Context, empty) (empty, error) {
		a.requestStop()
		return empty{}, nil
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+a.token)) != 1 {
			writeError(w, fmt.Errorf("call the local agent: missing or wrong token: %w", providers.ErrPermission))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// rpc adapts fn to a JSON call: the request body decodes into In (an empty
// body leaves it zero) and Out or the error is the answer.
func rpc[In, Out any](fn func(context.Context, In) (Out, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in In
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
		if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, fmt.Errorf("decode request: %w: %w", providers.ErrInvalid, err))
			return
		}
		out, err := fn(r.Context(), in)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// writeError answers err with its kind and status.
func writeError(w http.ResponseWriter, err error) {
	body, status := errorBody{Error: err.Error()}, http.StatusInternalServerError
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			body.Kind, status = k.kind, k.status
			break
		}
	}
	switch {
	case errors.Is(err, errUpgrading): // the shared agent upgrading: the client retries
		body.Kind, status = kindUpgrading, http.StatusServiceUnavailable
		w.Header().Set("Connection", "close") // the retry may reach the new one
	case errors.Is(err, errClosing):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// agentError is a failure the agent reported, wrapping the sentinel of its
// kind.
type agentError struct {
	msg string
	err error
}

// Error returns the agent's message.
func (e *agentError) Error() string { return e.msg }

// Unwrap returns the sentinel error of the reported kind, or nil.
func (e *agentError) Unwrap() error { return e.err }

// decodeError turns a failed control answer back into an error.
func decodeError(status int, b []byte) error {
	var body errorBody
	if err := json.Unmarshal(b, &body); err != nil || body.Error == "" {
		return fmt.Errorf("the local agent answered %d %s", status, http.StatusText(status))
	}
	e := &agentError{msg: body.Error}
	for _, k := range errorKinds {
		if k.kind == body.Kind {
			e.err = k.err
		}
	}
	return e
}
