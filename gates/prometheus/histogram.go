package prometheus

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/common/model"

	"github.com/ramp-deploy/ramp/gates"
)

// histogram converts the answer of a latency query, the increase of each
// cumulative bucket by le in seconds, to a gates.Histogram in
// milliseconds: bounds are le × 1000 to the microsecond, the +Inf bucket
// is the total, and each count is rounded to a whole one and kept
// cumulative (increase() estimates each bucket apart, so a rounded bucket
// may fall a little below the one before). Buckets whose le reads the same
// number ("1" and "1.0", from two exporters) are added up. No series is an
// empty histogram: no latency measured.
func histogram(v model.Vector) (gates.Histogram, error) {
	if len(v) == 0 {
		return gates.Histogram{}, nil
	}
	type bucket struct {
		le    float64
		count float64
	}
	var bs []bucket
	for _, s := range v {
		raw, ok := s.Metric[model.BucketLabel]
		if !ok {
			return gates.Histogram{}, errors.New("a series has no le label: the latency query must answer the histogram's buckets by le")
		}
		le, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(le) {
			return gates.Histogram{}, fmt.Errorf("bucket le=%q is not a number", raw)
		}
		n := float64(s.Value)
		if math.IsNaN(n) || n < 0 {
			n = 0
		}
		if i := slices.IndexFunc(bs, func(b bucket) bool { return b.le == le }); i >= 0 {
			bs[i].count += n
			continue
		}
		bs = append(bs, bucket{le: le, count: n})
	}
	slices.SortFunc(bs, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	last := bs[len(bs)-1]
	if !math.IsInf(last.le, 1) {
		return gates.Histogram{}, errors.New(`the histogram has no le="+Inf" bucket, which counts every request`)
	}
	var h gates.Histogram
	var prev int64
	for _, b := range bs[:len(bs)-1] {
		if b.le < 0 {
			return gates.Histogram{}, fmt.Errorf("bucket le=%v is negative", b.le)
		}
		prev = max(prev, int64(math.Round(b.count)))
		h.Bounds = append(h.Bounds, math.Round(b.le*1e6)/1e3)
		h.Counts = append(h.Counts, prev)
	}
	h.Total = max(prev, int64(math.Round(last.count)))
	return h, nil
}
