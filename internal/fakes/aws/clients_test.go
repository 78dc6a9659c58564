package aws_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

// clients are the real SDK clients, talking to a world.
type clients struct {
	ecs *ecs.Client
	elb *elbv2.Client
	cw  *cloudwatch.Client
}

// config is an SDK configuration with static credentials and no retries
// whose requests go to httpClient at endpoint.
func config(httpClient aws.HTTPClient) aws.Config {
	return aws.Config{
		Region:      fake.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "SECRETFAKE", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:  httpClient,
	}
}

func newClients(cfg aws.Config, endpoint string) clients {
	return clients{
		ecs: ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		elb: elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		cw:  cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(endpoint) }),
	}
}

// seed is the usual test service: "web" in cluster "prod" on the EXTERNAL
// controller, its primary task set on target group "blue", and "green"
// free; the listener forwards everything to blue, and a rule /api/* too.
func seed(t *testing.T, w *fake.World, mod ...func(*fake.Seed)) fake.Seeded {
	t.Helper()
	s := fake.Seed{Cluster: "prod", Service: "web", Family: "web", Container: "app", Image: "registry.example/web:v1",
		LoadBalancer: "web", TargetGroups: []string{"blue", "green"}, RulePath: "/api/*"}
	for _, m := range mod {
		m(&s)
	}
	out, err := w.Seed(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// world is a seeded world and the SDK clients reaching it in process.
func world(t *testing.T, mod ...func(*fake.Seed)) (*fake.World, fake.Seeded, clients) {
	t.Helper()
	w := fake.NewWorld(nil)
	s := seed(t, w, mod...)
	return w, s, newClients(config(fake.Doer{W: w}), "http://fake.invalid")
}
