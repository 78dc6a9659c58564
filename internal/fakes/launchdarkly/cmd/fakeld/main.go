// Command fakeld serves the fake LaunchDarkly REST API of package
// internal/fakes/launchdarkly over plain HTTP on a loopback port, for
// black-box runs of ramp's flag provider:
//
//	go run ./internal/fakes/launchdarkly/cmd/fakeld -flag checkout > fake.env &
//	. ./fake.env   # export RAMP_FLAG_URL=http://127.0.0.1:PORT RAMP_FLAG_TOKEN=...
//	ramp deploy --provider flag --flag-backend launchdarkly --flag checkout --flag-project shop \
//	  --flag-environment production --service checkout --image shop:v2 --steps 10,50,100
//
// It seeds one boolean flag (-flag) in project -project with environments
// -envs, off everywhere. Its first line on stdout exports the URL and the
// token it takes; it runs until interrupted.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	fake "github.com/ramp-deploy/ramp/internal/fakes/launchdarkly"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fakeld:", err)
		os.Exit(2)
	}
}

// run serves until ctx ends; ready, if set, gets the address once it
// listens.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(string)) error {
	fs := flag.NewFlagSet("fakeld", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to serve on")
	project := fs.String("project", "shop", "project key")
	key := fs.String("flag", "checkout", "boolean flag to seed")
	envs := fs.String("envs", "test,production", "environment keys, comma separated")
	token := fs.String("token", "", "access token to take (default: a random one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %q: serve on a loopback address only", *listen)
	}
	tok := *token
	if tok == "" {
		tok = "api-" + strings.ToLower(rand.Text())
	}
	w := fake.New(tok)
	w.AddFlag(*project, *key, strings.Split(*envs, ",")...)
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "export RAMP_FLAG_URL=http://%s RAMP_FLAG_TOKEN=%s\n", l.Addr(), tok)
	fmt.Fprintf(stderr, "fakeld: flag %s in project %s, environments %s, on http://%s\n", *key, *project, *envs, l.Addr())
	if ready != nil {
		ready(l.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		return err
	}
}
