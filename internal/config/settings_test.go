package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/providers"
)

// file writes content to a new file and returns its path.
func file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func intp(n int) *int { return &n }

var cloudrunArgs = []string{"--provider=cloudrun", "--service=api", "--image=europe-docker.pkg.dev/p/api/api:v2"}

// TestServiceSettingsParse: every setting input lands in the artifact's
// settings, typed, with the action's empty inputs meaning "not set".
func TestServiceSettingsParse(t *testing.T) {
	t.Parallel()
	envFile := file(t, ".env", "# a comment\n\nexport FROM_FILE=1\nSHARED=file\nQUOTED=\"a b\\n\"  \nSINGLE='x # y'\nCOMMENTED=v # note\r\n")
	cases := []struct {
		name string
		args []string
		vars map[string]string
		env  []string
		want providers.ServiceSettings
	}{
		{"nothing given", nil, nil, []string{}, providers.ServiceSettings{EnvMode: "merge"}},
		{"the action's empty inputs", nil, map[string]string{"INPUT_CPU": "", "INPUT_MIN-INSTANCES": "", "INPUT_TIMEOUT": "",
			"INPUT_SECRETS": "", "INPUT_ENV-MODE": "merge", "INPUT_SKIP-DEFAULT-LABELS": "false", "INPUT_METADATA": ""}, []string{},
			providers.ServiceSettings{EnvMode: "merge"}},
		{"every input", []string{"--env-mode=replace", "--secrets=API_KEY=api-key:latest,/secrets/tls.crt=tls:3\n/secrets/tls.key=tls:3",
			"--labels=team=pay,tier=web", "--service-account=api@p.iam.gserviceaccount.com", "--cpu=2", "--memory=1Gi",
			"--min-instances=0", "--max-instances=10", "--concurrency=80", "--timeout=5m", "--vpc-connector=conn",
			"--vpc-egress=all-traffic", "--cloudsql-instances=p:europe-west1:db", "--ingress=internal"}, nil, []string{},
			providers.ServiceSettings{EnvMode: "replace",
				Secrets: []providers.Secret{{Env: "API_KEY", Name: "api-key", Version: "latest"},
					{Path: "/secrets/tls.crt", Name: "tls", Version: "3"}, {Path: "/secrets/tls.key", Name: "tls", Version: "3"}},
				Labels: map[string]string{"team": "pay", "tier": "web"}, ServiceAccount: "api@p.iam.gserviceaccount.com",
				CPU: "2", Memory: "1Gi", MinInstances: intp(0), MaxInstances: intp(10), Concurrency: intp(80), Timeout: 5 * time.Minute,
				VPCConnector: "conn", VPCEgress: "all-traffic", CloudSQLInstances: []string{"p:europe-west1:db"}, Ingress: "internal"}},
		{"overwrite is deploy-cloudrun's replace", nil, map[string]string{"INPUT_ENV_MODE": "overwrite"}, []string{},
			providers.ServiceSettings{EnvMode: "replace"}},
		{"Direct VPC egress", []string{"--network=default", "--subnet=sub", "--vpc-egress=private-ranges-only"}, nil, []string{},
			providers.ServiceSettings{EnvMode: "merge", Network: "default", Subnet: "sub", VPCEgress: "private-ranges-only"}},
		{"env-file under env", []string{"--env-file=" + envFile, "--env=SHARED=env,LAST=1"}, nil,
			[]string{"FROM_FILE=1", "SHARED=env", "QUOTED=a b\n", "SINGLE=x # y", "COMMENTED=v", "LAST=1"},
			providers.ServiceSettings{EnvMode: "merge"}},
		{"a later secret wins for its target", []string{"--secrets=A=s:1,A=s:2"}, nil, []string{},
			providers.ServiceSettings{EnvMode: "merge", Secrets: []providers.Secret{{Env: "A", Name: "s", Version: "2"}}}},
		{"a secret of another project", []string{"--secrets=A=projects/other/secrets/s:1"}, nil, []string{},
			providers.ServiceSettings{EnvMode: "merge", Secrets: []providers.Secret{{Env: "A", Name: "projects/other/secrets/s", Version: "1"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, cfg, err := load(t, append(slices.Clone(cloudrunArgs), c.args...), c.vars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, cfg.Artifact.Settings); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.env, append([]string{}, cfg.Artifact.Env...)); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServiceSettingsRefused: each bad setting is an input error naming
// its input, never showing a variable's value, and all of them at once.
func TestServiceSettingsRefused(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	cases := []struct {
		name string
		args []string
		want []string // the inputs named
		text string   // part of the message
	}{
		{"env-mode", []string{"--env-mode=sometimes"}, []string{"env-mode"}, "must be merge or replace"},
		{"a secret without a version", []string{"--secrets=A=api-key"}, []string{"secrets"}, "NAME=SECRET:VERSION"},
		{"a secret version that is no number", []string{"--secrets=A=api-key:v1"}, []string{"secrets"}, "a number or latest"},
		{"a secret name with a dot", []string{"--secrets=A=api.key:1"}, []string{"secrets"}, "the secret must be a name"},
		{"a secret in PORT", []string{"--secrets=PORT=s:1"}, []string{"secrets"}, "PORT is set by the cloudrun provider itself"},
		{"a secret variable with a dash", []string{"--secrets=A-B=s:1"}, []string{"secrets"}, "variable names are"},
		{"a secret file in /", []string{"--secrets=/key=s:1"}, []string{"secrets"}, "a directory other than /"},
		{"a secret file in /proc", []string{"--secrets=/proc/key=s:1"}, []string{"secrets"}, "system directory"},
		{"a secret path not clean", []string{"--secrets=/a/../b/key=s:1"}, []string{"secrets"}, "clean absolute file path"},
		{"two secrets in one directory", []string{"--secrets=/s/a=one:1,/s/b=two:1"}, []string{"secrets"}, `already holds secret "one"`},
		{"a secret variable env sets too", []string{"--env=A=1", "--secrets=A=s:1"}, []string{"secrets"}, "A is set by env"},
		{"a label without =", []string{"--labels=team"}, []string{"labels"}, "KEY=VALUE"},
		{"a service account that is no email", []string{"--service-account=api"}, []string{"service-account"}, "email"},
		{"cpu", []string{"--cpu=two"}, []string{"cpu"}, "number of CPUs"},
		{"memory", []string{"--memory=lots"}, []string{"memory"}, "512Mi"},
		{"min-instances below 0", []string{"--min-instances=-1"}, []string{"min-instances"}, "at least 0"},
		{"max-instances of 0", []string{"--max-instances=0"}, []string{"max-instances"}, "at least 1"},
		{"concurrency that is no number", []string{"--concurrency=lots"}, []string{"concurrency"}, "whole number"},
		{"min above max", []string{"--min-instances=5", "--max-instances=2"}, []string{"min-instances"}, "more than max-instances (2)"},
		{"timeout in fractions", []string{"--timeout=1500ms"}, []string{"timeout"}, "whole seconds"},
		{"timeout beyond an hour", []string{"--timeout=61m"}, []string{"timeout"}, "maximum of 1h"},
		{"connector and network", []string{"--vpc-connector=c", "--network=default"}, []string{"vpc-connector"}, "not both"},
		{"egress alone", []string{"--vpc-egress=all-traffic"}, []string{"vpc-egress"}, "needs vpc-connector"},
		{"egress unknown", []string{"--vpc-connector=c", "--vpc-egress=some"}, []string{"vpc-egress"}, "private-ranges-only"},
		{"ingress", []string{"--ingress=public"}, []string{"ingress"}, "internal-and-cloud-load-balancing"},
		{"an env-file that is not there", []string{"--env-file=/no/such/.env"}, []string{"env-file"}, "cannot be read"},
		{"metadata that is not there", []string{"--metadata=/no/such/service.yaml"}, []string{"metadata"}, "cannot be read"},
		{"all at once", []string{"--env-mode=x", "--secrets=A", "--labels=b", "--cpu=x", "--memory=x", "--concurrency=0",
			"--timeout=2h", "--ingress=x", "--vpc-egress=x", "--service-account=x"},
			[]string{"env-mode", "secrets", "labels", "service-account", "cpu", "memory", "concurrency", "timeout", "vpc-egress", "ingress"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := load(t, append(slices.Clone(cloudrunArgs), c.args...), nil)
			if got := problems(err); !slices.Equal(got, c.want) {
				t.Fatalf("error %v names %q, want %q", err, got, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q lacks %q", err, c.text)
			}
		})
	}
	t.Run("env-file", func(t *testing.T) {
		t.Parallel()
		f := file(t, ".env", "GOOD=1\nno equals sign\nBAD-NAME="+secret+"\nPORT="+secret+"\nOPEN=\""+secret+"\n")
		_, _, err := load(t, append(slices.Clone(cloudrunArgs), "--env-file="+f), nil)
		if got := problems(err); !slices.Equal(got, []string{"env-file", "env-file", "env-file", "env-file"}) {
			t.Fatalf("error %v names %q, want env-file four times", err, got)
		}
		for _, want := range []string{"line 2: is not KEY=VALUE", "line 5: the value of OPEN", `(value "BAD-NAME")`, "PORT is set by the cloudrun provider"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows a value", err)
		}
	})
}

// TestSkipDefaultLabels: skip-default-labels is a switch, false unless given.
func TestSkipDefaultLabels(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]bool{"": false, "--skip-default-labels": true, "--skip-default-labels=false": false} {
		_, cfg, err := load(t, append(slices.Clone(cloudrunArgs), strings.Fields(args)...), nil)
		if err != nil || cfg.SkipDefaultLabels != want {
			t.Errorf("%q: SkipDefaultLabels %v, %v; want %v", args, cfg.SkipDefaultLabels, err, want)
		}
	}
	_, cfg, err := load(t, []string{"--provider=cloudrun", "--image=x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Artifact.Settings.DefaultLabels != nil {
		t.Errorf("config set default labels %v: they are the deploy's, once the commit is known", cfg.Artifact.Settings.DefaultLabels)
	}
}
