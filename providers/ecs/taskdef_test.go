package ecs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

// TestTaskDefinitionFileAndScale deploys in mode tasksets from a task
// definition file as amazon-ecs-render-task-definition writes it (a
// describe-task-definition answer's members included), at candidate-scale
// 50, and refuses a file with no containers by its input name.
func TestTaskDefinitionFileAndScale(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "task-definition.json")
	if err := os.WriteFile(good, []byte(`{"taskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:7","revision":7,
	  "status":"ACTIVE","registeredAt":"2026-01-02T03:04:05Z","compatibilities":["EC2","FARGATE"],
	  "family":"web","cpu":"1024","memory":"2048","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
	  "containerDefinitions":[{"name":"app","image":"registry.example/web:rendered","essential":true,
	    "portMappings":[{"containerPort":8080,"protocol":"tcp"}],"environment":[{"name":"FROM","value":"file"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(bad, []byte(`{"family":"web"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		wantErr    string
	}{
		{"rendered file", good, ""},
		{"no containers", bad, `"task-definition"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T, e *testEnv) {
				cfg := e.cfg
				cfg.TaskDefinition, cfg.CandidateScale = tc.file, 50
				p, err := NewWithConfig(cfg, e.awsConfig())
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Deploy(t.Context(), providers.Artifact{Image: nextImage, Revision: "v2"})
				if tc.wantErr != "" {
					if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("deploy: %v, want an error naming %s", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				sets := e.w.TaskSets("prod", "web")
				if len(sets) != 2 || sets[1].Scale != 50 || sets[1].Image != nextImage || !strings.HasSuffix(sets[1].TaskDefinition, "web:2") {
					t.Fatalf("task sets: %+v", sets)
				}
			})
		})
	}
}
