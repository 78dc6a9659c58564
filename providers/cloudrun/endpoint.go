package cloudrun

import (
	"net"
	"strconv"
	"strings"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// The environment variables that point the provider at another Admin API
// or Cloud Monitoring on this machine: a fake (internal/fakes/cloudrun) or
// an emulator, for black-box runs of ramp. google-cloud-go honours no
// variable of its own for either endpoint (only the universe domain and
// the mTLS switches), hence ramp's. Each is host:port on loopback, spoken
// to over plaintext gRPC with no credentials.
const (
	EnvAdminEndpoint      = "RAMP_CLOUDRUN_ENDPOINT"
	EnvMonitoringEndpoint = "RAMP_MONITORING_ENDPOINT"
)

// newFromEnv is NewWithOptions with the endpoint overrides getenv gives;
// a bad override is an *input.Error naming its variable, reported with
// every bad location input at once.
func newFromEnv(cfg providers.Config, getenv func(string) string) (*Provider, error) {
	admin, errA := endpointOptions(EnvAdminEndpoint, getenv(EnvAdminEndpoint))
	metrics, errM := endpointOptions(EnvMonitoringEndpoint, getenv(EnvMonitoringEndpoint))
	p, err := NewWithOptions(cfg)
	if errA != nil || errM != nil {
		return nil, input.Merge(err, errA, errM)
	}
	if err != nil {
		return nil, err
	}
	p.adminOpts, p.metricsOpts = admin, metrics
	return p, nil
}

// endpointOptions are the client options that send a client to the
// endpoint value of the variable name: none when value is empty. The
// endpoint must be host:port with a loopback host, since the connection
// is plaintext and carries no credentials.
func endpointOptions(name, value string) ([]option.ClientOption, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(value)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
		return nil, input.Invalid(name, value, "must be host:port, e.g. 127.0.0.1:8090")
	}
	if !isLoopback(host) {
		return nil, input.Invalid(name, value, "must be on loopback (127.0.0.1, ::1 or localhost): "+
			"the override speaks plaintext gRPC without credentials, to a fake or an emulator on this machine")
	}
	return []option.ClientOption{
		option.WithEndpoint(value),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
