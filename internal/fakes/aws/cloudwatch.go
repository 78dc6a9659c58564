package aws

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The CloudWatch metrics the fake reports, in namespace AWS/ApplicationELB
// with the dimensions TargetGroup and LoadBalancer.
const (
	namespaceALB    = "AWS/ApplicationELB"
	metricRequests  = "RequestCount"
	metric5xx       = "HTTPCode_Target_5XX_Count"
	metricRespTime  = "TargetResponseTime"
	maxQueries      = 500
	maxDatapoints   = 100800
	cloudWatchModel = "GraniteServiceVersion20100801"
)

// query is one MetricStat query of GetMetricData.
type query struct {
	id, metric, stat, tg, lb string
	period                   time.Duration
	ns                       string
	dims                     int
}

// getMetricData answers GetMetricData for the per-target-group metrics of
// AWS/ApplicationELB: one datapoint a period that holds requests (errors,
// for the 5xx count) in minutes that ended Lag ago, newest first.
func (w *World) getMetricData(in cbor.Map) (cbor.Value, error) {
	start, errS := cbor.AsTime(in["StartTime"])
	end, errE := cbor.AsTime(in["EndTime"])
	if errS != nil || errE != nil || !end.After(start) {
		return nil, fail("InvalidParameterValue", "The parameter StartTime must be before EndTime.")
	}
	qs, _ := in["MetricDataQueries"].(cbor.List)
	if len(qs) == 0 || len(qs) > maxQueries {
		return nil, fail("InvalidParameterValue", "MetricDataQueries must hold 1 to %d queries.", maxQueries)
	}
	var parsed []query
	for _, v := range qs {
		q, err := parseMetricQuery(v)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, q)
	}
	w.sample()
	results := cbor.List{}
	for _, q := range parsed {
		results = append(results, w.answer(q, start, end))
	}
	return cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}, nil
}

func parseMetricQuery(v cbor.Value) (query, error) {
	m, _ := v.(cbor.Map)
	id, _ := m["Id"].(cbor.String)
	if id == "" {
		return query{}, fail("InvalidParameterValue", "Every query needs an Id.")
	}
	if _, ok := m["Expression"]; ok {
		return query{}, fail("InvalidParameterValue", "The fake answers MetricStat queries only (query %s).", id)
	}
	stat, _ := m["MetricStat"].(cbor.Map)
	metric, _ := stat["Metric"].(cbor.Map)
	period, err := cbor.AsInt64(stat["Period"])
	if err != nil || period <= 0 || period%60 != 0 {
		return query{}, fail("InvalidParameterValue", "The Period of query %s must be a multiple of 60.", id)
	}
	q := query{id: string(id), period: time.Duration(period) * time.Second}
	s, _ := stat["Stat"].(cbor.String)
	name, _ := metric["MetricName"].(cbor.String)
	ns, _ := metric["Namespace"].(cbor.String)
	q.stat, q.metric, q.ns = string(s), string(name), string(ns)
	dims, _ := metric["Dimensions"].(cbor.List)
	q.dims = len(dims)
	for _, d := range dims {
		dm, _ := d.(cbor.Map)
		n, _ := dm["Name"].(cbor.String)
		val, _ := dm["Value"].(cbor.String)
		switch n {
		case "TargetGroup":
			q.tg = string(val)
		case "LoadBalancer":
			q.lb = string(val)
		}
	}
	return q, nil
}

// answer is the result of one query.
func (w *World) answer(q query, start, end time.Time) cbor.Map {
	stamps, values := cbor.List{}, cbor.List{}
	tgArn := w.tgByDimension(q.tg, q.lb)
	visible := w.now().Add(-w.lag).Truncate(time.Minute)
	if q.ns == namespaceALB && q.dims == 2 && tgArn != "" {
		first := start.Truncate(time.Minute)
		for t := first; t.Before(end) && len(values) < maxDatapoints; t = t.Add(q.period) {
			to := t.Add(q.period)
			if to.After(visible) {
				to = visible
			}
			if !to.After(t) {
				break
			}
			if v, ok := statOf(q, w.served(tgArn, t, to)); ok {
				stamps = append(cbor.List{&cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.Unix()))}}, stamps...)
				values = append(cbor.List{cbor.Float64(v)}, values...)
			}
		}
	}
	return cbor.Map{"Id": cbor.String(q.id), "Label": cbor.String(q.metric), "Timestamps": stamps, "Values": values,
		"StatusCode": cbor.String("Complete")}
}

// tgByDimension is the target group the dimensions name, when they name
// one behind that load balancer.
func (w *World) tgByDimension(tg, lb string) string {
	for arn := range w.tgs {
		if dimension(arn) != tg {
			continue
		}
		for _, l := range w.lbsOf(arn) {
			if dimension(l.(string)) == lb {
				return arn
			}
		}
	}
	return ""
}

// statOf is the statistic the query asks of what the group served; false
// when CloudWatch has no datapoint (no request, or no error for the 5xx
// count).
func statOf(q query, t tally) (float64, bool) {
	reqs := math.Round(t.requests)
	if reqs == 0 {
		return 0, false
	}
	switch q.metric {
	case metricRequests:
		return reqs, q.stat == "Sum"
	case metric5xx:
		errs := math.Round(t.errors)
		return errs, q.stat == "Sum" && errs > 0
	case metricRespTime:
		return latencyStat(q.stat, t, reqs)
	}
	return 0, false
}

// latencyStat is Average, Minimum, Maximum, SampleCount, pNN or TC(:x)
// (the requests answered in at most x seconds) of the response times.
func latencyStat(stat string, t tally, reqs float64) (float64, bool) {
	switch {
	case stat == "Average":
		return t.mean(), true
	case stat == "Minimum":
		return t.quantile(0), true
	case stat == "Maximum":
		return t.quantile(1), true
	case stat == "SampleCount":
		return reqs, true
	case strings.HasPrefix(stat, "p"):
		q, err := strconv.ParseFloat(stat[1:], 64)
		return t.quantile(q / 100), err == nil && q >= 0 && q <= 100
	case strings.HasPrefix(stat, "TC(:") && strings.HasSuffix(stat, ")"):
		x, err := strconv.ParseFloat(stat[4:len(stat)-1], 64)
		return math.Round(t.atMost(x)), err == nil
	}
	return 0, false
}
