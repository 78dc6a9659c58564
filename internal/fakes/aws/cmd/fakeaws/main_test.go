package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// TestServes runs the command on a loopback port, as a shell would, and
// drives the real SDK clients with the environment it exports, loaded by
// the SDK's default chain: AWS_ENDPOINT_URL reaches the fake.
func TestServes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-rule-path", "/api/*", "-deny", "ecs:DeleteTaskSet"}, outW, io.Discard)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no export line: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	if !regexp.MustCompile(`^export AWS_ENDPOINT_URL=http://127\.0\.0\.1:\d+ AWS_REGION=us-east-1 .*RAMP_TARGET_GROUPS=\S+,\S+\n$`).MatchString(line) {
		t.Fatalf("export line %q", line)
	}
	for _, kv := range strings.Fields(strings.TrimPrefix(line, "export ")) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(svc.Services) != 1 || len(svc.Services[0].TaskSets) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, svc)
	}
	_, err = ecs.NewFromConfig(cfg).DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: svc.Services[0].TaskSets[0].Id})
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("DeleteTaskSet with -deny: %v", err)
	}
	rules, err := elbv2.NewFromConfig(cfg).DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(envOf(line, "RAMP_LISTENER"))})
	if err != nil || len(rules.Rules) != 2 {
		t.Fatalf("DescribeRules: %v %+v", err, rules)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func envOf(line, key string) string {
	for _, kv := range strings.Fields(line) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
