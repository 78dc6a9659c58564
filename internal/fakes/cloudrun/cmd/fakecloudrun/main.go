// Command fakecloudrun serves the fake Cloud Run Admin API v2 and Cloud
// Monitoring of package internal/fakes/cloudrun over plaintext gRPC on a
// loopback port, for black-box runs of ramp against them:
//
//	go run ./internal/fakes/cloudrun/cmd/fakecloudrun -lag 10s > fake.env &
//	. ./fake.env   # export RAMP_CLOUDRUN_ENDPOINT=127.0.0.1:PORT RAMP_MONITORING_ENDPOINT=...
//	ramp deploy --provider cloudrun --project p --region europe-west1 --service web \
//	  --image europe-docker.pkg.dev/p/web/web:v1 --metrics-delay 10s
//
// Its first line on stdout is that export line; what it serves is told on
// stderr. It sends -rps synthetic requests a second to every service,
// split as its traffic is, and serves each service's URLs over HTTP on
// -http (chosen by the Host header); both are counted in Cloud Monitoring
// as Cloud Run would report them and shown -lag after their minute ends.
// A revision whose image contains "failing" answers 500, "slow" answers
// slowly, "broken" never gets ready and "pending" never finishes starting.
// It runs until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"

	fake "github.com/ramp-deploy/ramp/internal/fakes/cloudrun"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fakecloudrun:", err)
		os.Exit(2)
	}
}

// config is what the flags say.
type config struct {
	listen, http string
	rps          float64
	opts         []fake.Option
	lag          time.Duration
}

// parse reads the flags.
func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("fakecloudrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "loopback `host:port` of both gRPC APIs (port 0: a free one)")
	fs.StringVar(&c.http, "http", "127.0.0.1:0", "loopback `host:port` serving the services' URLs over HTTP by Host header (empty: none)")
	fs.DurationVar(&c.lag, "lag", fake.DefaultLag, "ingestion delay: how long after its minute ends a point is visible (match ramp's --metrics-delay)")
	fs.Float64Var(&c.rps, "rps", 20, "synthetic requests a second to every service, split as its traffic is (0: none)")
	deny := fs.String("deny", "", "gRPC `code` every Admin API call fails with, e.g. PERMISSION_DENIED")
	fs.Func("fail", "make the next calls of a method fail, one code a call: `METHOD=CODE[,CODE...]`, e.g. UpdateService=UNAVAILABLE; repeatable",
		func(s string) error {
			method, list, ok := strings.Cut(s, "=")
			if !ok {
				return errors.New("want METHOD=CODE[,CODE...]")
			}
			full, err := methodName(method)
			if err != nil {
				return err
			}
			var cs []codes.Code
			for name := range strings.SplitSeq(list, ",") {
				code, err := parseCode(name)
				if err != nil {
					return err
				}
				cs = append(cs, code)
			}
			c.opts = append(c.opts, fake.WithFailures(full, cs...))
			return nil
		})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *deny != "" {
		code, err := parseCode(*deny)
		if err != nil {
			return config{}, fmt.Errorf("-deny: %w", err)
		}
		c.opts = append(c.opts, fake.WithDeny(code))
	}
	if c.lag < 0 || c.rps < 0 {
		return config{}, errors.New("-lag and -rps must not be negative")
	}
	c.opts = append(c.opts, fake.WithLag(c.lag))
	return c, nil
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	srv := fake.New(c.opts...)
	lis, err := fake.ListenLoopback(c.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(lis) }()
	defer srv.Stop()
	web := &http.Server{Handler: srv.Frontend(), ReadHeaderTimeout: 10 * time.Second}
	webAddr := "none"
	if c.http != "" {
		hl, err := fake.ListenLoopback(c.http)
		if err != nil {
			return fmt.Errorf("-http: %w", err)
		}
		webAddr = hl.Addr().String()
		go func() { errc <- web.Serve(hl) }()
		defer web.Close()
	}
	go srv.Load(ctx, c.rps)
	addr := lis.Addr().String()
	fmt.Fprintf(stdout, "export RAMP_CLOUDRUN_ENDPOINT=%s RAMP_MONITORING_ENDPOINT=%s\n", addr, addr)
	fmt.Fprintf(stderr, "fakecloudrun: the Cloud Run Admin API v2 and Cloud Monitoring on %s (plaintext gRPC, no credentials); "+
		"service URLs over HTTP on %s (by Host header); %g synthetic requests/s per service; points visible %s after their minute\n",
		addr, webAddr, c.rps, c.lag)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// methodName is the full gRPC name of an Admin API or Monitoring method
// given by its short name (UpdateService) or in full.
func methodName(s string) (string, error) {
	for _, m := range []string{fake.MethodGetService, fake.MethodCreateService, fake.MethodUpdateService,
		fake.MethodGetRevision, fake.MethodGetOperation, fake.MethodListTimeSeries} {
		if s == m || "/"+s == m[strings.LastIndex(m, "/"):] {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown method %q: want GetService, CreateService, UpdateService, GetRevision, GetOperation or ListTimeSeries", s)
}

// parseCode reads a gRPC code by its name (UNAVAILABLE).
func parseCode(s string) (codes.Code, error) {
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(strings.TrimSpace(s))))); err != nil {
		return 0, fmt.Errorf("gRPC code %q: %w", s, err)
	}
	return c, nil
}
