package cloudrun

import (
	"regexp"
	"slices"
	"strings"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The Monitoring filter terms the fake understands: `key = "value"` and
// `key = one_of("value", ...)`, joined by AND.
var (
	filterTerm  = regexp.MustCompile(`^\s*([a-z_.]+)\s*=\s*(?:("[^"]*")|one_of\(\s*("[^"]*"(?:\s*,\s*"[^"]*")*)\s*\))\s*$`)
	quotedValue = regexp.MustCompile(`"([^"]*)"`)
)

// parseFilter reads the filter into the values each field may take. The
// real API requires exactly one metric type.
func parseFilter(filter string) (map[string][]string, error) {
	terms := map[string][]string{}
	for term := range strings.SplitSeq(filter, " AND ") {
		m := filterTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "cannot parse filter term %q", term)
		}
		key := normalKey(m[1])
		if !knownField(key) {
			return nil, status.Errorf(codes.InvalidArgument, "unknown filter field %q", m[1])
		}
		if _, dup := terms[key]; dup {
			return nil, status.Errorf(codes.Unimplemented, "the fake does not combine two terms on %q", m[1])
		}
		for _, v := range quotedValue.FindAllStringSubmatch(m[2]+m[3], -1) {
			terms[key] = append(terms[key], v[1])
		}
	}
	if len(terms["metric.type"]) != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "the filter must name exactly one metric.type")
	}
	return terms, nil
}

// knownField reports whether key (spelt with "labels") is a field of a
// time series.
func knownField(key string) bool {
	label := func(prefix string) bool {
		l, ok := strings.CutPrefix(key, prefix)
		return ok && regexp.MustCompile(`^[a-z_][a-z0-9_]*$`).MatchString(l)
	}
	return key == "metric.type" || key == "resource.type" || label("metric.labels.") || label("resource.labels.")
}

// normalKey spells metric.label.X and resource.label.X with "labels".
func normalKey(key string) string { return strings.Replace(key, ".label.", ".labels.", 1) }

// field is the value of a filter or group-by field on ts.
func field(ts *monitoringpb.TimeSeries, key string) string {
	key = normalKey(key)
	switch {
	case key == "metric.type":
		return ts.GetMetric().GetType()
	case key == "resource.type":
		return ts.GetResource().GetType()
	case strings.HasPrefix(key, "metric.labels."):
		return ts.GetMetric().GetLabels()[strings.TrimPrefix(key, "metric.labels.")]
	default:
		return ts.GetResource().GetLabels()[strings.TrimPrefix(key, "resource.labels.")]
	}
}

// matches reports whether ts takes one of the allowed values of every term.
func matches(ts *monitoringpb.TimeSeries, terms map[string][]string) bool {
	for k, values := range terms {
		if !slices.Contains(values, field(ts, k)) {
			return false
		}
	}
	return true
}
