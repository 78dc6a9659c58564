// Package sampleapp is a tiny HTTP service with a configurable share of
// failing requests, used by `ramp demo` and by tests as the thing to roll out.
package sampleapp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/websocket"

	"github.com/ramp-deploy/ramp/internal/input"
)

// shutdownTimeout bounds how long Run waits for in-flight requests once its
// context is done.
const shutdownTimeout = 10 * time.Second

// Options configures one instance of the sample app.
type Options struct {
	// Version is reported in every response body and X-Ramp-Version header.
	Version string
	// FailRate is the fraction (0..1) of requests to / answered 500.
	FailRate float64
	// Addr is the listen address, such as "127.0.0.1:8080".
	Addr string
	// Latency is added to every request to /.
	Latency time.Duration
}

// OptionsFromEnv reads PORT (default 8080, served on 127.0.0.1),
// SAMPLE_VERSION (default "dev"), SAMPLE_FAIL_RATE (0..1, default 0) and
// SAMPLE_LATENCY (a Go duration, default 0) through getenv.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{Version: getenv("SAMPLE_VERSION"), Addr: "127.0.0.1:8080"}
	if o.Version == "" {
		o.Version = "dev"
	}
	if v := getenv("PORT"); v != "" {
		if p, err := strconv.ParseUint(v, 10, 16); err != nil || p == 0 {
			return Options{}, input.Invalid("PORT", v, "must be a port number from 1 to 65535")
		}
		o.Addr = net.JoinHostPort("127.0.0.1", v)
	}
	if v := getenv("SAMPLE_FAIL_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return Options{}, input.Invalid("SAMPLE_FAIL_RATE", v, "must be a number from 0 to 1")
		}
		o.FailRate = f
	}
	if v := getenv("SAMPLE_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Options{}, input.Invalid("SAMPLE_LATENCY", v, "must be a non-negative duration such as 20ms")
		}
		o.Latency = d
	}
	return o, nil
}

// Handler serves /healthz (always 200, so a faulty version still becomes
// ready), /ws (a websocket echoing each message after "<version>: ") and /
// ("hello from <version>", with the FailRate share of requests
// answered 500: request n fails when floor((n+1)*rate) > floor(n*rate), so
// exactly floor(N*rate) of the first N requests fail).
func Handler(opts Options) http.Handler {
	var seq atomic.Uint64
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Ramp-Version", opts.Version)
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/ws", echoSocket(opts.Version))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Ramp-Version", opts.Version)
		if opts.Latency > 0 {
			t := time.NewTimer(opts.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		n := float64(seq.Add(1) - 1)
		if math.Floor((n+1)*opts.FailRate) > math.Floor(n*opts.FailRate) {
			http.Error(w, "injected failure from "+opts.Version, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello from %s\n", opts.Version)
	})
	return mux
}

// echoSocket serves a websocket that answers each message with
// "<version>: <message>", for tests of websockets through the proxy.
func echoSocket(version string) http.Handler {
	return websocket.Handler(func(ws *websocket.Conn) {
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(ws, version+": "+msg); err != nil {
				return
			}
		}
	})
}

// Run serves Handler(opts) on opts.Addr until ctx is done, then shuts down
// gracefully, letting in-flight requests finish.
func Run(ctx context.Context, opts Options) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	return serve(ctx, ln, Handler(opts))
}

// serve runs h on ln until ctx is done, then shuts the server down.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve sample app: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down sample app: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve sample app: %w", err)
	}
	return nil
}
