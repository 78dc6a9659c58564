// Package ecs rolls Amazon ECS services out progressively with task sets
// behind an Application Load Balancer (mode tasksets): the service uses the
// EXTERNAL deployment controller, a deploy registers a task definition
// from the stable one with the new image and starts the candidate task set
// behind the second target group with no traffic, and the weights of the
// listener's forward action (its default action, or the rule
// listener-rule names) split the traffic between the two target groups.
// A promotion makes the candidate the primary task set and keeps the
// replaced one at 0% for the rollback window; a rollback puts the weights
// back and deletes the candidate set. Strategy ab adds a listener rule of
// ramp's in front of the weighted one, sending a header or query cohort to
// the candidate, and target group stickiness for sticky sessions
// (providers.RequestRouter; ab.go, ab_apply.go).
//
// Mode native leaves the service on ECS's own deployment controller:
// the steps become ECS's CANARY or LINEAR strategy with a PAUSE lifecycle
// hook before each production traffic shift, which ramp answers after
// its gates (native.go, native_apply.go); with strategy rolling it is
// ECS's rolling update, max-surge and max-unavailable as the service's
// deployment percentages, watched to the end, a rollback ECS made by
// itself (circuit breaker, alarm) reported as one (rolling.go).
//
// The rollout record lives in the service's tags (tags.go). Tags have no
// conditional write, so each write claims its record version in tags of
// its own, checks that no other write of that version overlapped it, and
// only then points the head tag at its state (store.go); ApplyStepwise's
// intent-then-act rule is followed: the intent is written, the traffic
// changed, the outcome written (apply.go).
//
// Credentials and the region come from the AWS SDK's default chain (the
// region input wins over it), so aws-actions/configure-aws-credentials
// with OIDC works as is; AWS_ENDPOINT_URL and the per-service
// AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 and
// AWS_ENDPOINT_URL_CLOUDWATCH send the clients elsewhere (a fake). The
// provider measures both versions through CloudWatch (metrics.go).
package ecs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

const (
	// defaultReadyTimeout bounds Deploy's wait when the config gives none.
	defaultReadyTimeout = 10 * time.Minute
	// defaultPollInterval spaces the polls of a starting task set.
	defaultPollInterval = 5 * time.Second
	// reuseFor is how long a read of the service and its routing stands
	// for the next transition: the engine's shift right after its check
	// reads nothing first. A record changed meanwhile is still found
	// (writeState), so it only saves calls.
	reuseFor = time.Second
	// defaultCluster is the cluster ECS uses when none is named.
	defaultCluster = "default"
)

// Provider is the ECS adapter for one service. Build one with New or
// NewWithConfig.
type Provider struct {
	cfg     providers.Config
	cluster string
	awsCfg  *aws.Config // nil: loaded from the default chain on first use
	poll    time.Duration
	now     func() time.Time

	mu     sync.Mutex
	api    *clients
	last   *view             // the last read: its route for reuseFor, its task sets for Observe
	images map[string]string // the images of the revisions this process deployed
	// candTGs is the target group each candidate was last seen on (mode
	// native).
	candTGs map[string]string
	// serving is when this process first saw new tasks of each rolling
	// service deployment running (strategy rolling; see rollingSince).
	serving map[string]time.Time
}

// clients are the three SDK clients and the region they call.
type clients struct {
	ecs    ecsAPI
	deps   deploymentsAPI
	elb    elbAPI
	cw     metricsAPI
	region string
}

var (
	_ providers.Provider  = (*Provider)(nil)
	_ gates.MetricSource  = (*Provider)(nil)
	_ gates.DelayedSource = (*Provider)(nil)
)

// New builds a provider for cfg.Service in cfg.Cluster whose clients take
// their credentials, region and endpoints from the AWS SDK's default chain
// (cfg.Region wins). It calls nothing.
func New(cfg providers.Config) (providers.Provider, error) {
	p, err := newProvider(cfg, nil)
	if err != nil {
		return nil, err // not a nil *Provider in a non-nil interface
	}
	return p, nil
}

// NewWithConfig is New with the SDK configuration given (credentials,
// region, endpoint, HTTP client) instead of the default chain's.
func NewWithConfig(cfg providers.Config, awsCfg aws.Config) (*Provider, error) {
	return newProvider(cfg, &awsCfg)
}

func newProvider(cfg providers.Config, awsCfg *aws.Config) (*Provider, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	cluster := cfg.Cluster
	if cluster == "" {
		cluster = defaultCluster
	}
	return &Provider{cfg: cfg, cluster: cluster, awsCfg: awsCfg, poll: defaultPollInterval, now: time.Now,
		images: map[string]string{}, candTGs: map[string]string{}, serving: map[string]time.Time{}}, nil
}

// clientsFor builds the clients on first use; a failure is tried again on
// the next call.
func (p *Provider) clientsFor(ctx context.Context) (*clients, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.api != nil {
		return p.api, nil
	}
	var cfg aws.Config
	if p.awsCfg != nil {
		cfg = *p.awsCfg
	} else {
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(context.WithoutCancel(ctx)); err != nil {
			return nil, fmt.Errorf("%w: load the AWS configuration: %w", providers.ErrPermission, err)
		}
	}
	if p.cfg.Region != "" {
		cfg.Region = p.cfg.Region
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("%w: no AWS region: set the region input or AWS_REGION", providers.ErrInvalid)
	}
	client := ecs.NewFromConfig(cfg)
	p.api = &clients{ecs: client, deps: client, elb: elbv2.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), region: cfg.Region}
	return p.api, nil
}

// region is the region the clients call, as far as known.
func (p *Provider) region() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.api != nil:
		return p.api.region
	case p.cfg.Region != "":
		return p.cfg.Region
	case p.awsCfg != nil && p.awsCfg.Region != "":
		return p.awsCfg.Region
	}
	return "from the default chain"
}

// fail wraps err with the action and the service's location, adding the
// providers sentinel its AWS error code means.
func (p *Provider) fail(action string, err error) error {
	where := fmt.Sprintf("ecs: %s service %q (cluster %q, region %q)", action, p.cfg.Service, p.cluster, p.region())
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", where, err)
	}
	var kind error
	switch ae.ErrorCode() {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException",
		"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "InvalidSignatureException", "SignatureDoesNotMatch":
		kind = providers.ErrPermission
	case "ClusterNotFoundException", "ServiceNotFoundException", "TaskSetNotFoundException", "ResourceNotFoundException",
		"TargetGroupNotFound", "ListenerNotFound", "RuleNotFound", "LoadBalancerNotFound":
		kind = providers.ErrNotFound
	case "InvalidParameterException", "ClientException", "ValidationError", "OperationNotPermitted",
		"InvalidParameterValue", "InvalidParameterCombination", "ServiceNotActiveException", "PlatformTaskDefinitionIncompatibilityException":
		kind = providers.ErrInvalid
	case "UpdateInProgressException", "ConflictException", "PriorRequestNotComplete", "ResourceInUse":
		kind = providers.ErrConflict
	default:
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %w: %w", where, kind, err)
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
