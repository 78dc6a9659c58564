// Command fakefly serves the fake Fly.io Machines API of package
// internal/fakes/fly over plain HTTP on a loopback port, for black-box
// runs of ramp with FLY_API_BASE_URL:
//
//	go run ./internal/fakes/fly/cmd/fakefly -machines 4 > fake.env &
//	. ./fake.env   # export FLY_API_BASE_URL=http://127.0.0.1:PORT FLY_API_TOKEN=...
//	ramp deploy --provider fly --app web --service web --image registry.fly.io/web:v2
//
// It seeds one app (-app) whose -machines machines run -image in -region,
// each with one HTTP service and its health check, started and passing.
// It serves the app as the fly-proxy would on a second port (-proxy):
// round-robin over the routable machines, or the machine a
// fly-force-instance-id header names. Its first line on stdout exports
// the API's base URL, the token it takes and the app's URL (FLY_APP_URL);
// the rest is told on stderr. A machine whose image contains "unhealthy"
// never passes its checks; one whose image contains "failing" answers 500. It
// runs until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fakefly:", err)
		os.Exit(2)
	}
}

// config is what the flags say.
type config struct {
	listen, proxy, app, org, image, region, group, token string
	machines                                             int
	start, checks                                        time.Duration
}

// parse reads the flags.
func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("fakefly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "loopback `host:port` to serve on (port 0: a free one)")
	fs.StringVar(&c.proxy, "proxy", "127.0.0.1:0", "loopback `host:port` the app's fake fly-proxy serves on (FLY_APP_URL)")
	fs.StringVar(&c.app, "app", "web", "the seeded app")
	fs.StringVar(&c.org, "org", "personal", "the seeded app's organization")
	fs.StringVar(&c.image, "image", "registry.fly.io/web:v1", "the image the seeded machines run")
	fs.StringVar(&c.region, "region", "ams", "the seeded machines' region")
	fs.StringVar(&c.group, "group", "app", "the seeded machines' process group")
	fs.StringVar(&c.token, "token", "fake-token", "the only API token taken (as Bearer or FlyV1)")
	fs.IntVar(&c.machines, "machines", 4, "how many machines to seed")
	fs.DurationVar(&c.start, "start-delay", fake.DefaultStartDelay, "how long a machine takes to start")
	fs.DurationVar(&c.checks, "check-delay", fake.DefaultCheckDelay, "how long after it started a machine's checks pass")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.machines < 0 || c.start < 0 || c.checks < 0:
		return config{}, errors.New("-machines, -start-delay and -check-delay must not be negative")
	case c.token == "":
		return config{}, errors.New("-token must not be empty")
	}
	return c, nil
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	w := fake.NewWorld()
	w.SetDelays(c.start, c.checks)
	w.RequireToken(c.token)
	w.CreateApp(c.app, c.org)
	for range c.machines {
		if _, err := w.Launch(c.app, c.region, fake.Config(c.image, c.group)); err != nil {
			return err
		}
	}
	lis, err := listenLoopback(c.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	plis, err := listenLoopback(c.proxy)
	if err != nil {
		lis.Close()
		return fmt.Errorf("-proxy: %w", err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	psrv := &http.Server{Handler: w.AppHandler(c.app), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(lis) }()
	go func() { errc <- psrv.Serve(plis) }()
	defer srv.Close()
	defer psrv.Close()
	fmt.Fprintf(stdout, "export FLY_API_BASE_URL=http://%s FLY_API_TOKEN=%s FLY_APP_URL=http://%s\n", lis.Addr(), c.token, plis.Addr())
	fmt.Fprintf(stderr, "fakefly: app %s served as the fly-proxy would on http://%s (fly-force-instance-id honoured)\n", c.app, plis.Addr())
	fmt.Fprintf(stderr, "fakefly: Machines API on http://%s; app %s with %d machines of %s in %s (process group %s); "+
		"machines start in %s, pass their checks %s later\n", lis.Addr(), c.app, c.machines, c.image, c.region, c.group, c.start, c.checks)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("address %s is not on loopback (127.0.0.0/8, ::1 or localhost)", addr)
	}
	return net.Listen("tcp", addr)
}
