package cloudrun

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/protobuf/proto"

	"github.com/ramp-deploy/ramp/gates"
)

// maxBuckets bounds the finite buckets of a layout this package converts.
const maxBuckets = 10_000

// latencySum adds up latency distributions that share one bucket layout.
type latencySum struct {
	layout  *distribution.Distribution_BucketOptions
	buckets []int64
}

// add adds d's bucket counts. A distribution without requests is skipped,
// whatever its layout; one with another layout than those before is an
// error naming both.
func (s *latencySum) add(d *distribution.Distribution) error {
	var n int64
	for _, c := range d.GetBucketCounts() {
		n += c
	}
	if n == 0 {
		return nil
	}
	switch {
	case s.layout == nil:
		s.layout = d.GetBucketOptions()
	case !proto.Equal(s.layout, d.GetBucketOptions()):
		return fmt.Errorf("the points have different bucket layouts, %s and %s",
			describeLayout(s.layout), describeLayout(d.GetBucketOptions()))
	}
	for i, c := range d.GetBucketCounts() {
		if i == len(s.buckets) {
			s.buckets = append(s.buckets, 0)
		}
		s.buckets[i] += c
	}
	return nil
}

// histogram is the sum as a gates.Histogram (see latencyHistogram); empty
// when no distribution held a request.
func (s *latencySum) histogram() (gates.Histogram, error) {
	if s.layout == nil {
		return gates.Histogram{}, nil
	}
	return latencyHistogram(s.layout, s.buckets)
}

// latencyHistogram converts the bucket counts of a Cloud Monitoring
// distribution in milliseconds to a cumulative histogram. Of the layout's
// N+2 buckets, bucket 0 is the underflow bucket, buckets 1..N the finite
// ones and bucket N+1 the overflow bucket; the histogram's bounds are the
// upper bounds of buckets 0..N, and its total counts the overflow bucket
// too. Missing trailing counts are zero. Cloud Monitoring's buckets hold
// values below their upper bound, so Counts[i] is the number of requests
// faster than Bounds[i].
func latencyHistogram(layout *distribution.Distribution_BucketOptions, counts []int64) (gates.Histogram, error) {
	bounds, err := upperBounds(layout)
	if err != nil {
		return gates.Histogram{}, err
	}
	if len(counts) > len(bounds)+1 {
		return gates.Histogram{}, fmt.Errorf("%d bucket counts for the %d buckets of %s",
			len(counts), len(bounds)+1, describeLayout(layout))
	}
	h := gates.Histogram{Bounds: bounds, Counts: make([]int64, len(bounds))}
	for i, c := range counts {
		h.Total += c
		if i < len(bounds) {
			h.Counts[i] = h.Total
		}
	}
	for i := len(counts); i < len(bounds); i++ {
		h.Counts[i] = h.Total
	}
	if err := h.Validate(); err != nil {
		return gates.Histogram{}, fmt.Errorf("%s: %w", describeLayout(layout), err)
	}
	return h, nil
}

// upperBounds returns the upper bounds of the underflow bucket and of the
// finite buckets of a layout, ascending.
func upperBounds(o *distribution.Distribution_BucketOptions) ([]float64, error) {
	var n int
	var bound func(k int) float64
	switch {
	case o.GetLinearBuckets() != nil:
		l := o.GetLinearBuckets()
		if !(l.GetWidth() > 0) {
			return nil, fmt.Errorf("%s: the width must be positive", describeLayout(o))
		}
		n, bound = int(l.GetNumFiniteBuckets()), func(k int) float64 { return l.GetOffset() + l.GetWidth()*float64(k) }
	case o.GetExponentialBuckets() != nil:
		e := o.GetExponentialBuckets()
		if !(e.GetGrowthFactor() > 1) || !(e.GetScale() > 0) {
			return nil, fmt.Errorf("%s: the growth factor must exceed 1 and the scale be positive", describeLayout(o))
		}
		n, bound = int(e.GetNumFiniteBuckets()), func(k int) float64 { return e.GetScale() * math.Pow(e.GetGrowthFactor(), float64(k)) }
	case o.GetExplicitBuckets() != nil:
		b := o.GetExplicitBuckets().GetBounds()
		if len(b) == 0 {
			return nil, errors.New("explicit buckets without bounds")
		}
		return slices.Clone(b), nil
	default:
		return nil, errors.New("the latency distribution has no bucket layout")
	}
	if n < 1 || n > maxBuckets {
		return nil, fmt.Errorf("%s: the number of finite buckets must be 1 to %d", describeLayout(o), maxBuckets)
	}
	bounds := make([]float64, n+1)
	for k := range bounds {
		bounds[k] = bound(k)
	}
	return bounds, nil
}

// describeLayout names a bucket layout and its parameters.
func describeLayout(o *distribution.Distribution_BucketOptions) string {
	switch {
	case o.GetLinearBuckets() != nil:
		l := o.GetLinearBuckets()
		return fmt.Sprintf("linear buckets (%d finite, width %g, offset %g)", l.GetNumFiniteBuckets(), l.GetWidth(), l.GetOffset())
	case o.GetExponentialBuckets() != nil:
		e := o.GetExponentialBuckets()
		return fmt.Sprintf("exponential buckets (%d finite, growth factor %g, scale %g)",
			e.GetNumFiniteBuckets(), e.GetGrowthFactor(), e.GetScale())
	case o.GetExplicitBuckets() != nil:
		return fmt.Sprintf("explicit buckets (bounds %v)", o.GetExplicitBuckets().GetBounds())
	}
	return "no bucket layout"
}
