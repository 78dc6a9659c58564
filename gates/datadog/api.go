package datadog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// result is a timeseries answer, checked: every series' values line up
// with times, whose buckets are step long.
type result struct {
	queries []string
	times   []time.Time // each bucket's start
	step    time.Duration
	series  []resultSeries
}

// resultSeries is one series: the query it answers, by index.
type resultSeries struct {
	query  int
	values []*float64
}

// timeseries runs the queries over [from, to) in buckets of step, in one
// call. Each query is also its own formula, so the series come back
// indexed by query whether or not the API needs formulas.
func (s *Source) timeseries(ctx context.Context, queries []string, from, to time.Time, step time.Duration) (result, error) {
	res := result{queries: queries, step: step}
	var qs []datadogV2.TimeseriesQuery
	var formulas []datadogV2.QueryFormula
	for i, text := range queries {
		name := "q" + strconv.Itoa(i)
		mq := datadogV2.NewMetricsTimeseriesQuery(datadogV2.METRICSDATASOURCE_METRICS, text)
		mq.SetName(name)
		qs = append(qs, datadogV2.MetricsTimeseriesQueryAsTimeseriesQuery(mq))
		formulas = append(formulas, *datadogV2.NewQueryFormula(name))
	}
	attrs := datadogV2.NewTimeseriesFormulaRequestAttributes(from.UnixMilli(), qs, to.UnixMilli())
	attrs.SetInterval(step.Milliseconds())
	attrs.SetFormulas(formulas)
	body := datadogV2.NewTimeseriesFormulaQueryRequest(*datadogV2.NewTimeseriesFormulaRequest(*attrs, datadogV2.TIMESERIESFORMULAREQUESTTYPE_TIMESERIES_REQUEST))
	call, cancel := s.call(ctx)
	defer cancel()
	resp, httpResp, err := s.metrics.QueryTimeseriesData(call, *body)
	if err != nil {
		return res, s.fail("query "+quoteAll(queries), s.explain(ctx, httpResp, err))
	}
	if resp.UnparsedObject != nil || (resp.Data != nil && (resp.Data.UnparsedObject != nil ||
		(resp.Data.Attributes != nil && resp.Data.Attributes.UnparsedObject != nil))) {
		return res, s.fail("query "+quoteAll(queries), errors.New("the answer does not match the client's timeseries response model"))
	}
	if e := resp.GetErrors(); e != "" {
		return res, s.fail("query "+quoteAll(queries), errors.New(e))
	}
	if err := res.read(resp.GetData().Attributes, len(queries)); err != nil {
		return res, s.fail("query "+quoteAll(queries), err)
	}
	return res, nil
}

// read checks and keeps the answer's buckets and series.
func (r *result) read(a *datadogV2.TimeseriesResponseAttributes, queries int) error {
	if a == nil {
		return nil
	}
	if len(a.Values) != len(a.Series) {
		return fmt.Errorf("the answer has %d series and %d value lists", len(a.Series), len(a.Values))
	}
	for i, ms := range a.Times {
		t := time.UnixMilli(ms)
		if t.Truncate(r.step) != t || (i > 0 && t.Sub(r.times[i-1]) != r.step) {
			return fmt.Errorf("the answer's points are not %s apart and aligned: Datadog widened the interval "+
				"(too long a window for its point limit), so buckets cannot be counted in one window each", r.step)
		}
		r.times = append(r.times, t)
	}
	for i, sr := range a.Series {
		q := int(sr.GetQueryIndex())
		if q < 0 || q >= queries || len(a.Values[i]) != len(r.times) {
			return fmt.Errorf("the answer's series %d (query %d, %d values for %d times) does not match the request", i, q, len(a.Values[i]), len(r.times))
		}
		r.series = append(r.series, resultSeries{query: q, values: a.Values[i]})
	}
	return nil
}

// explain turns a failed call's error into one that says what is wrong.
// A refusal (401, 403) is checked against the API key validation
// endpoint, which needs no application key, to say which key is wrong.
// Neither key ever appears.
func (s *Source) explain(ctx context.Context, resp *http.Response, err error) error {
	var apiErr dd.GenericOpenAPIError
	if !errors.As(err, &apiErr) || resp == nil {
		return err
	}
	detail := apiErr.Error()
	if m, ok := apiErr.Model().(datadogV2.APIErrorResponse); ok && len(m.Errors) > 0 {
		detail += ": " + strings.Join(m.Errors, "; ")
	}
	cause := errors.New(detail)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		switch s.validAPIKey(ctx) {
		case keyInvalid:
			return fmt.Errorf("%w: the API key (%s, DD_API_KEY) is not valid for this site", cause, optAPIKey)
		case keyValid:
			return fmt.Errorf("%w: the API key is valid, so the application key (%s, DD_APP_KEY) is wrong, "+
				"or lacks the timeseries_query scope", cause, optAppKey)
		}
		return fmt.Errorf("%w: the API key (%s) or the application key (%s) is wrong", cause, optAPIKey, optAppKey)
	case http.StatusBadRequest:
		return fmt.Errorf("%w: Datadog refused the query", cause)
	}
	return cause
}

// The answers of validAPIKey.
const (
	keyUnknown = iota
	keyValid
	keyInvalid
)

// validAPIKey asks Datadog whether the API key is valid.
func (s *Source) validAPIKey(ctx context.Context) int {
	call, cancel := s.call(ctx)
	defer cancel()
	v, resp, err := s.auth.Validate(call)
	switch {
	case err == nil && v.GetValid():
		return keyValid
	case resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
		return keyInvalid
	}
	return keyUnknown
}

// quoteAll quotes each query and joins them.
func quoteAll(queries []string) string {
	q := make([]string, len(queries))
	for i, s := range queries {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
