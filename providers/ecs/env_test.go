package ecs

import (
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	stableImage = "registry.example/web:v1"
	nextImage   = "registry.example/web:v2"
)

// testEnv is a fake AWS holding service "web" in cluster "prod" on the
// EXTERNAL controller, its primary task set behind target group "blue",
// "green" free, and a listener forwarding to blue; the real SDK clients
// reach it in process. Built inside a synctest bubble (see bubble), every
// poll and interval runs on the bubble's clock.
type testEnv struct {
	w    *fake.World
	s    fake.Seeded
	cfg  providers.Config
	seed fake.Seed
}

func newTestEnv(t *testing.T, mod ...func(*fake.Seed)) *testEnv {
	t.Helper()
	e := &testEnv{w: fake.NewWorld(nil), seed: fake.Seed{Cluster: "prod", Service: "web", Family: "web", Container: "app",
		Image: stableImage, LoadBalancer: "web", TargetGroups: []string{"blue", "green"}}}
	for _, m := range mod {
		m(&e.seed)
	}
	s, err := e.w.Seed(e.seed)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	e.cfg = providers.Config{Service: "web", Cluster: "prod", Region: fake.DefaultRegion, Container: "app", Listener: s.Listener, TargetGroups: s.TargetGroups}
	return e
}

// awsConfig is the SDK configuration of a process talking to the fake.
func (e *testEnv) awsConfig() aws.Config {
	return aws.Config{Region: fake.DefaultRegion, BaseEndpoint: aws.String("http://fake.invalid"),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "SECRETFAKE", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} }, HTTPClient: fake.Doer{W: e.w}}
}

// provider is a Provider (a process) talking to the fake.
func (e *testEnv) provider(t *testing.T) *Provider {
	t.Helper()
	p, err := NewWithConfig(e.cfg, e.awsConfig())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bubble runs f in a synctest bubble with a new testEnv.
func bubble(t *testing.T, f func(t *testing.T, e *testEnv), mod ...func(*fake.Seed)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { f(t, newTestEnv(t, mod...)) })
}

// weights is the split the listener's default action makes, blue and green.
func (e *testEnv) weights() [2]int {
	w := e.w.Weights(e.s.Listener)
	return [2]int{w[e.s.TargetGroups[0]], w[e.s.TargetGroups[1]]}
}
