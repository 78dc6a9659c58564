package cloudrun

import (
	"regexp"
	"slices"
	"strings"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The fake Admin API's rules for the service settings: what the real API
// refuses in labels, the template's env, volumes, scaling, concurrency,
// timeout and VPC access.

// cloudSQLMount is where Cloud Run mounts the Cloud SQL sockets.
const cloudSQLMount = "/cloudsql"

var (
	labelKey      = regexp.MustCompile(`^[\p{Ll}][\p{Ll}0-9_-]{0,62}$`)
	labelValue    = regexp.MustCompile(`^[\p{Ll}0-9_-]{0,63}$`)
	connectorName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/connectors/[^/]+$`)
)

// checkSettings refuses, as the real API does, what svc's labels and
// template may not hold.
func checkSettings(svc *runpb.Service) error {
	t := svc.GetTemplate()
	for _, set := range []map[string]string{svc.GetLabels(), t.GetLabels()} {
		for k, v := range set {
			if !labelKey.MatchString(k) || !labelValue.MatchString(v) {
				return status.Errorf(codes.InvalidArgument, "label %q=%q: keys and values must be lowercase letters, digits, _ and -, at most 63 characters", k, v)
			}
		}
	}
	switch s := t.GetScaling(); {
	case t.GetMaxInstanceRequestConcurrency() < 0 || t.GetMaxInstanceRequestConcurrency() > 1000:
		return status.Errorf(codes.InvalidArgument, "max_instance_request_concurrency %d is outside 0..1000", t.GetMaxInstanceRequestConcurrency())
	case t.GetTimeout() != nil && (t.GetTimeout().AsDuration() <= 0 || t.GetTimeout().AsDuration().Seconds() > 3600):
		return status.Errorf(codes.InvalidArgument, "timeout %s is outside (0s, 3600s]", t.GetTimeout().AsDuration())
	case s.GetMaxInstanceCount() > 0 && s.GetMinInstanceCount() > s.GetMaxInstanceCount():
		return status.Errorf(codes.InvalidArgument, "min_instance_count %d is above max_instance_count %d", s.GetMinInstanceCount(), s.GetMaxInstanceCount())
	case t.GetVpcAccess().GetConnector() != "" && len(t.GetVpcAccess().GetNetworkInterfaces()) > 0:
		return status.Errorf(codes.InvalidArgument, "vpc_access may hold a connector or network interfaces, not both")
	case t.GetVpcAccess().GetConnector() != "" && !connectorName.MatchString(t.GetVpcAccess().GetConnector()):
		return status.Errorf(codes.InvalidArgument, "connector %q is not projects/*/locations/*/connectors/*", t.GetVpcAccess().GetConnector())
	}
	return checkVolumes(t)
}

// checkVolumes refuses duplicate volumes, mounts of unknown volumes, two
// mounts at one path, a Cloud SQL volume not at /cloudsql, and duplicate
// or reserved variables.
func checkVolumes(t *runpb.RevisionTemplate) error {
	vols := map[string]*runpb.Volume{}
	for _, v := range t.GetVolumes() {
		if vols[v.GetName()] != nil {
			return status.Errorf(codes.InvalidArgument, "volume name %q is used twice", v.GetName())
		}
		vols[v.GetName()] = v
	}
	for _, c := range t.GetContainers() {
		paths := map[string]bool{}
		for _, m := range c.GetVolumeMounts() {
			v := vols[m.GetName()]
			switch {
			case v == nil:
				return status.Errorf(codes.InvalidArgument, "volume mount %q names no volume", m.GetName())
			case paths[m.GetMountPath()]:
				return status.Errorf(codes.InvalidArgument, "two volumes are mounted at %q", m.GetMountPath())
			case v.GetCloudSqlInstance() != nil && m.GetMountPath() != cloudSQLMount:
				return status.Errorf(codes.InvalidArgument, "a Cloud SQL volume must be mounted at %s", cloudSQLMount)
			}
			paths[m.GetMountPath()] = true
		}
		var names []string
		for _, e := range c.GetEnv() {
			switch {
			case slices.Contains(names, e.GetName()):
				return status.Errorf(codes.InvalidArgument, "environment variable %q is set twice", e.GetName())
			case slices.Contains([]string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}, e.GetName()):
				return status.Errorf(codes.InvalidArgument, "the following reserved env names were provided: %s. These values are automatically set by the system", e.GetName())
			case e.GetValueSource().GetSecretKeyRef() != nil && strings.TrimSpace(e.GetValueSource().GetSecretKeyRef().GetSecret()) == "":
				return status.Errorf(codes.InvalidArgument, "environment variable %q names no secret", e.GetName())
			}
			names = append(names, e.GetName())
		}
	}
	return nil
}

// carrySettings copies onto rev what a real revision reports of the
// template it was made from.
func carrySettings(rev *runpb.Revision, t *runpb.RevisionTemplate) {
	if t == nil {
		return
	}
	t = proto.Clone(t).(*runpb.RevisionTemplate)
	rev.Labels, rev.Annotations, rev.Scaling, rev.VpcAccess = t.Labels, t.Annotations, t.Scaling, t.VpcAccess
	rev.MaxInstanceRequestConcurrency, rev.Timeout, rev.ServiceAccount, rev.Volumes =
		t.MaxInstanceRequestConcurrency, t.Timeout, t.ServiceAccount, t.Volumes
}
