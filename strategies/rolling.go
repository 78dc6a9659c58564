package strategies

import (
	"errors"
	"strconv"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Rolling names the strategy that replaces instances in batches. Its plans
// hold replace steps, which only a provider that runs its service as a
// number of instances can make (providers.Replacer).
const Rolling = "rolling"

// rolling replaces the service's Instances in batches of max-surge plus
// max-unavailable (resolved as Kubernetes does: a percentage of the
// instances, surge rounded up, unavailable rounded down; both zero makes
// unavailable 1), analysing after every batch but the last, which the
// promotion follows. The old version is gone once every instance runs the
// new one, so a bake (which needs it warm) is refused.
func rolling(s Spec) ([]Step, error) {
	var errs []error
	if s.Instances < 1 {
		errs = append(errs, input.Invalid("replicas", strconv.Itoa(s.Instances), "rolling needs at least 1 instance to replace"))
	}
	surge, serr := instanceCount("max-surge", s.MaxSurge, s.Instances, true)
	unavailable, uerr := instanceCount("max-unavailable", s.MaxUnavailable, s.Instances, false)
	errs = append(errs, serr, uerr)
	if serr == nil && uerr == nil && isZero(s.MaxSurge) && isZero(s.MaxUnavailable) {
		errs = append(errs, input.Invalid("max-surge", s.MaxSurge, "and max-unavailable %q are both zero: a rolling update could replace nothing; make one of them at least 1", s.MaxUnavailable))
	}
	if s.Bake > 0 {
		errs = append(errs, input.Invalid("bake", s.Bake.String(), "does not apply to strategy rolling: its old instances are replaced, none is kept warm to switch back to"))
	}
	hold := s.Interval
	if len(s.Holds) == 1 {
		hold = s.Holds[0]
	} else if len(s.Holds) > 1 {
		errs = append(errs, input.Invalid("hold", formatHolds(s.Holds), "rolling takes one hold for every batch"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if surge == 0 && unavailable == 0 { // a percentage that rounds to nothing on few instances
		unavailable = 1
	}
	var steps []Step
	for k := 0; k < s.Instances; {
		k = min(s.Instances, k+surge+unavailable)
		w := InstanceWeight(k, s.Instances)
		steps = append(steps, Step{Kind: KindReplace, Weight: w, Instances: k, Surge: surge})
		if k < s.Instances {
			steps = append(steps, Step{Kind: KindAnalyze, Weight: w, Hold: hold})
		}
	}
	return append(steps, Step{Kind: KindPromote, Weight: 100}), nil
}

// instanceCount resolves a count or percentage of n instances, as
// Kubernetes does: "2" is 2, "25%" of 4 is 1 (a percentage rounds up when
// up is set, down otherwise). Empty is 0.
func instanceCount(name, raw string, n int, up bool) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, nil
	}
	num, pct := strings.CutSuffix(raw, "%")
	v, err := strconv.Atoi(strings.TrimSpace(num))
	switch {
	case err != nil:
		return 0, input.Invalid(name, raw, "is neither a count of instances such as 1 nor a percentage such as 25%%")
	case v < 0:
		return 0, input.Invalid(name, raw, "must not be negative")
	case pct && v > 100:
		return 0, input.Invalid(name, raw, "is a percentage over 100%%")
	case !pct:
		return v, nil
	case up:
		return (v*n + 99) / 100, nil
	}
	return v * n / 100, nil
}

// isZero reports whether a count or percentage is zero (or empty).
func isZero(raw string) bool {
	v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(raw), "%")))
	return err == nil && v == 0 || strings.TrimSpace(raw) == ""
}

// InstanceWeight is the share of the traffic, in percent, that k of n
// instances serve when every instance serves alike: rounded to the nearest
// percent, but at least 1 while any instance is replaced and at most 99
// while any is not, so the weight says which versions serve.
func InstanceWeight(k, n int) int {
	if n <= 0 || k <= 0 {
		return 0
	}
	if k >= n {
		return 100
	}
	return min(max((200*k+n)/(2*n), 1), 99)
}
