package ecs

import (
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// maxTaskDefinitionFile bounds the task-definition file read (ECS takes
// task definitions of up to 64 KiB).
const maxTaskDefinitionFile = 1 << 20

// readTaskDefinition reads a task definition JSON file as
// aws-actions/amazon-ecs-render-task-definition writes it (the fields of
// RegisterTaskDefinition, in ECS's camelCase). The members ECS sets on a
// registered one (taskDefinitionArn, revision, status, registeredAt, ...),
// found in a file made from `aws ecs describe-task-definition`, are
// ignored. A file that cannot be read or lacks a family or containers is
// an input error naming task-definition.
func readTaskDefinition(path string) (*ecs.RegisterTaskDefinitionInput, error) {
	bad := func(format string, args ...any) error {
		return errors.Join(providers.ErrInvalid, input.Invalid("task-definition", path, format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, bad("cannot be read: %v", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxTaskDefinitionFile+1))
	if err != nil {
		return nil, bad("cannot be read: %v", err)
	}
	if n := len(raw); n > maxTaskDefinitionFile {
		return nil, bad("is over %d bytes", maxTaskDefinitionFile)
	}
	var doc struct {
		ecs.RegisterTaskDefinitionInput
		// TaskDefinition unwraps a describe-task-definition answer.
		TaskDefinition *ecs.RegisterTaskDefinitionInput `json:"taskDefinition"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, bad("is not a task definition in JSON: %v", err)
	}
	in := &doc.RegisterTaskDefinitionInput
	if doc.TaskDefinition != nil {
		in = doc.TaskDefinition
	}
	var missing []string
	if in.Family == nil || *in.Family == "" {
		missing = append(missing, "family")
	}
	if len(in.ContainerDefinitions) == 0 {
		missing = append(missing, "containerDefinitions")
	}
	if len(missing) > 0 {
		return nil, bad("has no %v", missing)
	}
	return in, nil
}

// checkTaskDefinitionFile checks, before any call, that the file exists.
func checkTaskDefinitionFile(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return input.Invalid("task-definition", path, "cannot be read: %v", err)
	}
	return nil
}
