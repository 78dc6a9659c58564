// Command fakeaws serves the fake Amazon ECS, Elastic Load Balancing v2
// and CloudWatch of package internal/fakes/aws over plain HTTP on one
// loopback port, for black-box runs of ramp with AWS_ENDPOINT_URL:
//
//	go run ./internal/fakes/aws/cmd/fakeaws -lag 10s > fake.env &
//	. ./fake.env   # export AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_REGION=... RAMP_LISTENER=... RAMP_TARGET_GROUPS=...
//	ramp deploy --provider ecs --cluster prod --service web --container app \
//	  --image registry.example/web:v2 --metrics-delay 10s
//
// It seeds one service behind an Application Load Balancer: from the
// flags (-cluster prod -service web: task definition family web with
// container app running -image, target groups blue and green, a listener
// on port 80 forwarding to blue), or from -seed, a JSON file holding the
// fields of aws.Seed. Its first line on stdout exports the endpoint,
// fake credentials, the region and, as RAMP_LISTENER and
// RAMP_TARGET_GROUPS, the ARNs ramp's options take; the rest is told on
// stderr. A task set whose image contains "failing" answers 5xx, "slow"
// slowly, and "unhealthy" never passes its health checks. It runs until
// interrupted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fakeaws:", err)
		os.Exit(2)
	}
}

// config is what the flags say.
type config struct {
	listen            string
	seed              fake.Seed
	lag               time.Duration
	rps               float64
	stabilize, health int
	deny              []string
}

// parse reads the flags.
func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("fakeaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{seed: fake.Seed{Family: "web", Container: "app", Port: 8080, LoadBalancer: "web", TargetGroups: []string{"blue", "green"}}}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "loopback `host:port` of the three APIs (port 0: a free one)")
	fs.StringVar(&c.seed.Cluster, "cluster", "prod", "the seeded service's cluster")
	fs.StringVar(&c.seed.Service, "service", "web", "the seeded service")
	fs.StringVar(&c.seed.Image, "image", "registry.example/web:v1", "the image the seeded service runs")
	fs.StringVar(&c.seed.Controller, "controller", fake.ControllerExternal, "the seeded service's deployment controller: EXTERNAL or ECS")
	fs.StringVar(&c.seed.RulePath, "rule-path", "", "add a listener rule for this path pattern, forwarding to blue")
	fs.BoolVar(&c.seed.Network, "network", false, "seed a Network Load Balancer instead of an Application one")
	fs.IntVar(&c.seed.DesiredCount, "desired-count", 2, "the seeded service's task count")
	fs.BoolVar(&c.seed.CircuitBreaker, "circuit-breaker", false, "turn on the deployment circuit breaker, with its rollback (-controller ECS)")
	seedFile := fs.String("seed", "", "a JSON `file` with the fields of aws.Seed, instead of the seed flags")
	fs.DurationVar(&c.lag, "lag", fake.DefaultLag, "how long after its minute ends a CloudWatch datapoint shows (match ramp's --metrics-delay)")
	fs.Float64Var(&c.rps, "rps", fake.DefaultRPS, "synthetic requests a second each forwarding listener rule takes")
	fs.IntVar(&c.stabilize, "stabilize-polls", fake.DefaultStabilizePolls, "describes a task set takes to reach STEADY_STATE")
	fs.IntVar(&c.health, "healthy-polls", fake.DefaultHealthyPolls, "DescribeTargetHealth calls a new task set's targets take to be healthy")
	fs.Func("deny", "deny an operation: `SERVICE:OPERATION` (ecs, elasticloadbalancing or monitoring; OPERATION * for all); repeatable",
		func(s string) error {
			if _, _, ok := strings.Cut(s, ":"); !ok {
				return errors.New("want SERVICE:OPERATION")
			}
			c.deny = append(c.deny, s)
			return nil
		})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *seedFile != "" {
		b, err := os.ReadFile(*seedFile)
		if err != nil {
			return config{}, fmt.Errorf("-seed: %w", err)
		}
		c.seed = fake.Seed{}
		if err := json.Unmarshal(b, &c.seed); err != nil {
			return config{}, fmt.Errorf("-seed %s: %w", *seedFile, err)
		}
	}
	if c.lag < 0 || c.rps < 0 || c.stabilize < 0 || c.health < 0 {
		return config{}, errors.New("-lag, -rps, -stabilize-polls and -healthy-polls must not be negative")
	}
	return c, nil
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	w := fake.NewWorld(nil)
	w.SetLag(c.lag)
	w.SetRPS(c.rps)
	w.SetPolls(c.stabilize, c.health)
	for _, d := range c.deny {
		svc, op, _ := strings.Cut(d, ":")
		w.Deny(svc, op)
	}
	seeded, err := w.Seed(c.seed)
	if err != nil {
		return err
	}
	lis, err := fake.ListenLoopback(c.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	defer srv.Close()
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=http://%s AWS_REGION=%s AWS_ACCESS_KEY_ID=AKIDFAKE AWS_SECRET_ACCESS_KEY=SECRETFAKE RAMP_LISTENER=%s RAMP_TARGET_GROUPS=%s\n",
		lis.Addr(), fake.DefaultRegion, seeded.Listener, strings.Join(seeded.TargetGroups, ","))
	fmt.Fprintf(stderr, "fakeaws: ECS, ELBv2 and CloudWatch on http://%s (no credentials checked); service %s in cluster %s (%s controller) behind listener %s; "+
		"%g synthetic requests/s per forwarding rule; datapoints visible %s after their minute\n",
		lis.Addr(), c.seed.Service, c.seed.Cluster, c.seed.Controller, seeded.Listener, c.rps, c.lag)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}
