package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/providers"
)

// serviceYAML is a Service YAML such as deploy-cloudrun's metadata input
// takes, using every field ramp reads.
const serviceYAML = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: api
  namespace: "123456789"
  labels:
    team: pay
    cloud.googleapis.com/location: europe-west1
  annotations:
    run.googleapis.com/ingress: internal-and-cloud-load-balancing
    run.googleapis.com/ingress-status: all
    example.com/owner: pay-team
spec:
  template:
    metadata:
      name: api-00042-abc
      labels:
        tier: web
      annotations:
        autoscaling.knative.dev/minScale: "1"
        autoscaling.knative.dev/maxScale: 20
        run.googleapis.com/vpc-access-connector: conn
        run.googleapis.com/vpc-access-egress: all-traffic
        run.googleapis.com/cloudsql-instances: p:europe-west1:db,p:europe-west1:replica
    spec:
      containerConcurrency: 40
      timeoutSeconds: 600
      serviceAccountName: api@p.iam.gserviceaccount.com
      containers:
      - name: api
        image: europe-docker.pkg.dev/p/api/api:from-yaml
        ports:
        - name: http1
          containerPort: 9000
        env:
        - name: FROM_YAML
          value: "1"
        - name: SHARED
          value: yaml
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: db-password
              key: latest
        resources:
          limits:
            cpu: "1"
            memory: 512Mi
`

// TestMetadataIsTheBase: the file's settings, image and env are read; the
// inputs win over them, and a setting the file gave is traced to it.
func TestMetadataIsTheBase(t *testing.T) {
	t.Parallel()
	meta := file(t, "service.yaml", serviceYAML)
	base := providers.ServiceSettings{EnvMode: "merge",
		Secrets:        []providers.Secret{{Env: "DB_PASSWORD", Name: "db-password", Version: "latest"}},
		Labels:         map[string]string{"team": "pay", "tier": "web"},
		Annotations:    map[string]string{"example.com/owner": "pay-team"},
		ServiceAccount: "api@p.iam.gserviceaccount.com", CPU: "1", Memory: "512Mi",
		MinInstances: intp(1), MaxInstances: intp(20), Concurrency: intp(40), Timeout: 10 * time.Minute,
		VPCConnector: "conn", VPCEgress: "all-traffic", CloudSQLInstances: []string{"p:europe-west1:db", "p:europe-west1:replica"},
		Ingress: "internal-and-cloud-load-balancing", Port: 9000, Metadata: meta}
	origin := map[string]string{}
	for _, o := range []string{"secrets", "labels", "service-account", "cpu", "memory", "min-instances", "max-instances",
		"concurrency", "timeout", "vpc-connector", "vpc-egress", "cloudsql-instances", "ingress"} {
		origin[o] = "metadata"
	}
	base.Origin = origin
	over := base
	over.CPU, over.MaxInstances, over.Ingress = "2", intp(5), "all"
	over.Labels = map[string]string{"team": "checkout", "tier": "web"}
	over.Secrets = append(slices.Clone(base.Secrets), providers.Secret{Env: "API_KEY", Name: "api-key", Version: "1"})
	over.Origin = map[string]string{}
	for k, v := range origin {
		if !slices.Contains([]string{"cpu", "max-instances", "ingress", "labels", "secrets"}, k) {
			over.Origin[k] = v
		}
	}
	cases := []struct {
		name  string
		args  []string
		image string
		env   []string
		want  providers.ServiceSettings
	}{
		{"the file alone", []string{"--provider=cloudrun", "--service=api"}, "europe-docker.pkg.dev/p/api/api:from-yaml",
			[]string{"FROM_YAML=1", "SHARED=yaml"}, base},
		{"inputs over the file", []string{"--provider=cloudrun", "--service=api", "--image=img:v2", "--env=SHARED=env",
			"--cpu=2", "--max-instances=5", "--ingress=all", "--labels=team=checkout", "--secrets=API_KEY=api-key:1"}, "img:v2",
			[]string{"FROM_YAML=1", "SHARED=env"}, over},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v, cfg, err := load(t, append(c.args, "--metadata="+meta), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, cfg.Artifact.Settings); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			if cfg.Artifact.Image != c.image || !slices.Equal(cfg.Artifact.Env, c.env) {
				t.Errorf("image %q env %q, want %q %q", cfg.Artifact.Image, cfg.Artifact.Env, c.image, c.env)
			}
			if err := cfg.Require(v, "image"); err != nil {
				t.Errorf("Require(image) with the file's image: %v", err)
			}
		})
	}
}

// TestMetadataRefused: what the file holds beyond the subset ramp reads, or
// holds wrong, is refused naming metadata and the field.
func TestMetadataRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // each in the error
		problems   int
	}{
		{"an unknown field", "spec:\n  template:\n    spec:\n      volumes: []\n", []string{`line 4: field "volumes" is not in the subset`}, 1},
		{"traffic", "spec:\n  traffic:\n  - percent: 100\n", []string{`field "traffic"`}, 1},
		{"another kind", "apiVersion: serving.knative.dev/v1\nkind: Job\n", []string{`kind is "Job", not Service`}, 1},
		{"another service", "metadata:\n  name: web\n", []string{`metadata.name is "web", but service is "api"`}, 1},
		{"two containers", "spec:\n  template:\n    spec:\n      containers:\n      - image: a\n      - image: b\n", []string{"holds 2 containers"}, 1},
		{"an unsupported annotation", "spec:\n  template:\n    metadata:\n      annotations:\n        run.googleapis.com/startup-cpu-boost: 'true'\n",
			[]string{"spec.template.metadata.annotations: run.googleapis.com/startup-cpu-boost is not supported"}, 1},
		{"ramp's own annotation", "metadata:\n  annotations:\n    ramp.dev/rollout: x\n", []string{"ramp.dev/rollout is not supported"}, 1},
		{"a GPU", "spec:\n  template:\n    spec:\n      containers:\n      - resources:\n          limits:\n            nvidia.com/gpu: '1'\n",
			[]string{"resources.limits.nvidia.com/gpu is not supported"}, 1},
		{"an env without a value", "spec:\n  template:\n    spec:\n      containers:\n      - env:\n        - name: A\n", []string{`env "A" needs value`}, 1},
		{"a reserved variable", "spec:\n  template:\n    spec:\n      containers:\n      - env:\n        - name: PORT\n          value: '1'\n",
			[]string{"PORT is set by the cloudrun provider itself"}, 1},
		{"a bad scale", "spec:\n  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/maxScale: lots\n",
			[]string{`max-instances "lots" is not a whole number`}, 1},
		{"a bad cpu", "spec:\n  template:\n    spec:\n      containers:\n      - resources:\n          limits:\n            cpu: two\n",
			[]string{"cpu: must be a number of CPUs"}, 1},
		{"timeout beyond an hour", "spec:\n  template:\n    spec:\n      timeoutSeconds: 7200\n", []string{"timeoutSeconds 7200 is not between 1 and 3600"}, 1},
		{"not YAML", "spec: [", []string{"is not a Service YAML"}, 1},
		{"several at once", "kind: Job\nspec:\n  template:\n    spec:\n      containerConcurrency: 0\n      containers:\n      - image: a\n      - image: b\n",
			[]string{"kind is", "holds 2 containers", "concurrency must be at least 1"}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			meta := file(t, "service.yaml", c.yaml)
			_, _, err := load(t, []string{"--provider=cloudrun", "--service=api", "--image=x", "--metadata=" + meta}, nil)
			got := problems(err)
			if len(got) != c.problems || slices.ContainsFunc(got, func(in string) bool { return in != "metadata" }) {
				t.Fatalf("error %v names %q, want metadata %d time(s)", err, got, c.problems)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
