package local

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// TestCheckArtifactRefusesServiceSettings: every service setting a local
// process cannot honour is refused, naming its input and the provider;
// env-mode and ramp's default labels are accepted.
func TestCheckArtifactRefusesServiceSettings(t *testing.T) {
	t.Parallel()
	n := 1
	cases := []struct {
		name string
		s    providers.ServiceSettings
		want []string
	}{
		{"none", providers.ServiceSettings{}, nil},
		{"env-mode and default labels", providers.ServiceSettings{EnvMode: providers.EnvReplace,
			DefaultLabels: map[string]string{"managed-by": "ramp"}}, nil},
		{"each", providers.ServiceSettings{Secrets: []providers.Secret{{Env: "A", Name: "s", Version: "1"}},
			Labels: map[string]string{"a": "b"}, ServiceAccount: "x@y.z", CPU: "1", Memory: "1Gi", MinInstances: &n, MaxInstances: &n,
			Concurrency: &n, Timeout: time.Minute, VPCConnector: "c", Network: "n", Subnet: "s", VPCEgress: "all-traffic",
			CloudSQLInstances: []string{"p:r:i"}, Ingress: "all"},
			[]string{"secrets", "labels", "service-account", "cpu", "memory", "min-instances", "max-instances", "concurrency",
				"vpc-connector", "network", "subnet", "vpc-egress", "cloudsql-instances", "ingress"}},
		{"timeout is the proxy's response timeout", providers.ServiceSettings{Timeout: time.Minute}, nil},
		{"a metadata file is named once", providers.ServiceSettings{Metadata: "service.yaml", CPU: "1", Memory: "1Gi", Port: 9000,
			Origin: map[string]string{"cpu": "metadata", "memory": "metadata"}}, []string{"metadata"}},
		{"an input over the file", providers.ServiceSettings{Metadata: "service.yaml", CPU: "2", Memory: "1Gi",
			Origin: map[string]string{"memory": "metadata"}}, []string{"cpu", "metadata"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := CheckArtifact(providers.Artifact{Image: "./web", Settings: c.s})
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					ie, ok := errors.AsType[*input.Error](e)
					if !ok || !strings.Contains(e.Error(), "the local provider cannot honour "+ie.Input) {
						t.Errorf("%v: not an input error naming its input and the provider", e)
						continue
					}
					got = append(got, ie.Input)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("CheckArtifact = %v, names %q, want %q", err, got, c.want)
			}
		})
	}
}

// TestDeployRefusesServiceSettings: Deploy itself refuses them, before any
// agent is started.
func TestDeployRefusesServiceSettings(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	p := newProvider(t, providers.Config{Service: "web", StateDir: state, Listen: "127.0.0.1:0"})
	_, err := p.Deploy(t.Context(), providers.Artifact{Image: "./web", Settings: providers.ServiceSettings{CPU: "1"}})
	if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), `input "cpu"`) {
		t.Errorf("Deploy = %v, want ErrInvalid naming cpu", err)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the state directory exists (%v): an agent was started", err)
	}
}
