package cloudrun

import (
	"context"
	"fmt"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CheckMetricsAccess asks Cloud Monitoring for the service's request
// counts over the last whole minute, for `ramp plan`: it proves the
// identity may read the metrics the judge and the guardrails need
// (roles/monitoring.viewer) before a rollout depends on them. An empty
// answer is fine; a refusal is the error.
func (p *Provider) CheckMetricsAccess(ctx context.Context) error {
	action := "read the metrics of"
	mc, err := p.metricsClient(ctx)
	if err != nil {
		return p.fail(action, err)
	}
	end := p.now().Truncate(alignment)
	req := p.seriesRequest(metricRequestCount, []string{"any"}, &monitoringpb.TimeInterval{
		StartTime: timestamppb.New(end.Add(-alignment)), EndTime: timestamppb.New(end)})
	req.Filter = fmt.Sprintf(`metric.type=%q AND resource.type="cloud_run_revision" AND resource.labels.project_id=%q AND `+
		`resource.labels.service_name=%q AND resource.labels.location=%q`, metricRequestCount, p.cfg.Project, p.cfg.Service, p.cfg.Region)
	if _, err := mc.ListTimeSeries(ctx, req); err != nil {
		return p.fail(action, err)
	}
	return nil
}
