package aws_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	fake "github.com/ramp-deploy/ramp/internal/fakes/aws"
)

// metricQuery asks for one per-target-group statistic over minutes.
func metricQuery(id, metric, stat, tg, lb string) cwtypes.MetricDataQuery {
	dim := func(arn, sep string) string { _, after, _ := strings.Cut(arn, sep); return after }
	return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
		Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(metric), Dimensions: []cwtypes.Dimension{
			{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/" + dim(tg, ":targetgroup/"))},
			{Name: aws.String("LoadBalancer"), Value: aws.String(dim(lb, ":loadbalancer/"))}}},
		Period: aws.Int32(60), Stat: aws.String(stat)}}
}

// TestMetricsFollowWeightsAndImages runs a failing candidate at 10% on
// green for three minutes and reads both groups' minutes through the real
// CloudWatch client (Smithy RPC v2 CBOR): the requests split 90/10, green
// answers every one 5xx, blue none (no 5xx datapoint at all), and the
// last minute is not shown until the lag has passed.
func TestMetricsFollowWeightsAndImages(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := fake.NewWorld(nil)
		s := seed(t, w, func(s *fake.Seed) { s.RulePath = "" })
		c := newClients(config(fake.Doer{W: w}), "http://fake.invalid")
		ctx := t.Context()
		start := time.Now().Truncate(time.Minute).Add(time.Minute)
		time.Sleep(time.Until(start))
		reg, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("registry.example/web:failing")}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn,
			LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(s.TargetGroups[1]), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}}); err != nil {
			t.Fatal(err)
		}
		for range fake.DefaultStabilizePolls {
			if _, err := c.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("web")}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.elb.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(s.Listener), DefaultActions: weighted(s, 90, 10)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*time.Minute + fake.DefaultLag - time.Second)
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(3 * time.Minute)), MetricDataQueries: []cwtypes.MetricDataQuery{
			metricQuery("blue", "RequestCount", "Sum", s.TargetGroups[0], s.LoadBalancer),
			metricQuery("green", "RequestCount", "Sum", s.TargetGroups[1], s.LoadBalancer),
			metricQuery("blue5xx", "HTTPCode_Target_5XX_Count", "Sum", s.TargetGroups[0], s.LoadBalancer),
			metricQuery("green5xx", "HTTPCode_Target_5XX_Count", "Sum", s.TargetGroups[1], s.LoadBalancer),
			metricQuery("greenp99", "TargetResponseTime", "p99", s.TargetGroups[1], s.LoadBalancer),
			metricQuery("greenfast", "TargetResponseTime", "TC(:0.025)", s.TargetGroups[1], s.LoadBalancer),
		}}
		out, err := c.cw.GetMetricData(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]float64{}
		for _, r := range out.MetricDataResults {
			got[aws.ToString(r.Id)] = r.Values
			if len(r.Values) > 0 && !r.Timestamps[0].After(r.Timestamps[len(r.Timestamps)-1]) && len(r.Values) > 1 {
				t.Errorf("%s: timestamps not newest first: %v", aws.ToString(r.Id), r.Timestamps)
			}
		}
		want := map[string][]float64{"blue": {540, 540}, "green": {60, 60}, "blue5xx": nil, "green5xx": {60, 60}, "greenp99": {0.02, 0.02}, "greenfast": {60, 60}}
		for id, v := range want {
			if !equal(got[id], v) {
				t.Errorf("%s: %v, want %v (two minutes shown; the third is not ingested yet)", id, got[id], v)
			}
		}
		time.Sleep(time.Second)
		out, err = c.cw.GetMetricData(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out.MetricDataResults[0].Values); n != 3 {
			t.Errorf("after the lag: %d minutes of blue, want 3", n)
		}
	})
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOverHTTP reaches the three APIs through a real HTTP server, as the
// runnable fake serves them, and checks CloudWatch's errors.
func TestOverHTTP(t *testing.T) {
	t.Parallel()
	w := fake.NewWorld(nil)
	s := seed(t, w)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	c := newClients(config(srv.Client()), srv.URL)
	ctx := t.Context()
	if _, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(s.Rule), Actions: weighted(s, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	q := metricQuery("m", "RequestCount", "Sum", s.TargetGroups[0], s.LoadBalancer)
	if _, err := c.cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), MetricDataQueries: []cwtypes.MetricDataQuery{q}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour)), MetricDataQueries: []cwtypes.MetricDataQuery{q}})
	var ipv *cwtypes.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Errorf("an inverted window: %v (%T), want InvalidParameterValueException", err, err)
	}
	w.Deny("monitoring", "*")
	_, err = c.cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), MetricDataQueries: []cwtypes.MetricDataQuery{q}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("denied: %v", err)
	}
	if got := w.Calls()["monitoring:GetMetricData"]; got != 3 {
		t.Errorf("counted %d GetMetricData calls, want 3", got)
	}
}
