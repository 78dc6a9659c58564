package cloudrun

import (
	"context"
	"errors"
	"fmt"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// adminAPI is the part of the Cloud Run Admin API v2 the adapter uses.
type adminAPI interface {
	// GetService reads the service called name.
	GetService(ctx context.Context, name string) (*runpb.Service, error)
	// UpdateService writes svc (guarded by svc.Etag); mask limits the write
	// to those fields, all of them when empty. It returns the operation once
	// the server has accepted the write.
	UpdateService(ctx context.Context, svc *runpb.Service, mask []string) (updateOp, error)
	// ValidateUpdate asks the server to check UpdateService of svc with
	// mask (validate_only) without making it.
	ValidateUpdate(ctx context.Context, svc *runpb.Service, mask []string) error
	// CreateService creates svc as the service id under parent
	// (projects/P/locations/R); it fails with AlreadyExists when the
	// service exists. It returns the operation once the server has
	// accepted the create.
	CreateService(ctx context.Context, parent, id string, svc *runpb.Service) (updateOp, error)
	// GetRevision reads the revision called name.
	GetRevision(ctx context.Context, name string) (*runpb.Revision, error)
	// Close releases the connections.
	Close() error
}

// updateOp is a long-running UpdateService or CreateService operation.
type updateOp interface {
	// Poll asks the server once, unless the operation is done already, and
	// returns the service once it is.
	Poll(ctx context.Context) (*runpb.Service, error)
	// Done reports whether the operation has finished.
	Done() bool
	// Metadata is the service as the server accepted it, before it finished.
	Metadata() (*runpb.Service, error)
}

// metricsAPI is the part of the Cloud Monitoring API the adapter uses.
type metricsAPI interface {
	// ListTimeSeries returns every series (all pages) the request matches.
	ListTimeSeries(ctx context.Context, req *monitoringpb.ListTimeSeriesRequest) ([]*monitoringpb.TimeSeries, error)
	// Close releases the connection.
	Close() error
}

// gapicAdmin implements adminAPI with the generated gRPC clients.
type gapicAdmin struct {
	services  *run.ServicesClient
	revisions *run.RevisionsClient
}

// newAdmin builds the Admin API clients. Credentials come from opts, or from
// Application Default Credentials when opts name none.
func newAdmin(ctx context.Context, opts []option.ClientOption) (*gapicAdmin, error) {
	sc, err := run.NewServicesClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("create Cloud Run services client: %w", err)
	}
	rc, err := run.NewRevisionsClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("create Cloud Run revisions client: %w", errors.Join(err, sc.Close()))
	}
	return &gapicAdmin{services: sc, revisions: rc}, nil
}

func (a *gapicAdmin) GetService(ctx context.Context, name string) (*runpb.Service, error) {
	return a.services.GetService(ctx, &runpb.GetServiceRequest{Name: name})
}

func (a *gapicAdmin) UpdateService(ctx context.Context, svc *runpb.Service, mask []string) (updateOp, error) {
	req := &runpb.UpdateServiceRequest{Service: svc}
	if len(mask) > 0 {
		req.UpdateMask = &fieldmaskpb.FieldMask{Paths: mask}
	}
	op, err := a.services.UpdateService(ctx, req)
	if err != nil {
		return nil, err
	}
	return gapicOp{op}, nil
}

func (a *gapicAdmin) ValidateUpdate(ctx context.Context, svc *runpb.Service, mask []string) error {
	_, err := a.services.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}, ValidateOnly: true})
	return err
}

func (a *gapicAdmin) CreateService(ctx context.Context, parent, id string, svc *runpb.Service) (updateOp, error) {
	op, err := a.services.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent, ServiceId: id, Service: svc})
	if err != nil {
		return nil, err
	}
	return gapicCreateOp{op}, nil
}

func (a *gapicAdmin) GetRevision(ctx context.Context, name string) (*runpb.Revision, error) {
	return a.revisions.GetRevision(ctx, &runpb.GetRevisionRequest{Name: name})
}

func (a *gapicAdmin) Close() error {
	return errors.Join(a.services.Close(), a.revisions.Close())
}

// gapicOp adapts *run.UpdateServiceOperation to updateOp.
type gapicOp struct{ op *run.UpdateServiceOperation }

func (o gapicOp) Poll(ctx context.Context) (*runpb.Service, error) { return o.op.Poll(ctx) }
func (o gapicOp) Done() bool                                       { return o.op.Done() }
func (o gapicOp) Metadata() (*runpb.Service, error)                { return o.op.Metadata() }

// gapicCreateOp adapts *run.CreateServiceOperation to updateOp.
type gapicCreateOp struct{ op *run.CreateServiceOperation }

func (o gapicCreateOp) Poll(ctx context.Context) (*runpb.Service, error) { return o.op.Poll(ctx) }
func (o gapicCreateOp) Done() bool                                       { return o.op.Done() }
func (o gapicCreateOp) Metadata() (*runpb.Service, error)                { return o.op.Metadata() }

// gapicMetrics implements metricsAPI with the generated gRPC client.
type gapicMetrics struct{ c *monitoring.MetricClient }

// newMetrics builds the Cloud Monitoring client.
func newMetrics(ctx context.Context, opts []option.ClientOption) (*gapicMetrics, error) {
	c, err := monitoring.NewMetricClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("create Cloud Monitoring client: %w", err)
	}
	return &gapicMetrics{c: c}, nil
}

func (m *gapicMetrics) ListTimeSeries(ctx context.Context, req *monitoringpb.ListTimeSeriesRequest) ([]*monitoringpb.TimeSeries, error) {
	var out []*monitoringpb.TimeSeries
	for ts, err := range m.c.ListTimeSeries(ctx, req).All() {
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	return out, nil
}

func (m *gapicMetrics) Close() error { return m.c.Close() }
