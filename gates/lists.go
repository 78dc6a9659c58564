package gates

import (
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
)

// The lists below come from the configuration file's sections (ramp.yaml's
// checks and webhooks), which flags cannot say. Each Validate names the
// bad field by its YAML key, so the file's decoder can place the error at
// file:line:column.

// CheckSpec is one custom metric check (a checks entry): a query to the
// rollout's metrics source, rendered for the candidate, whose value must
// stay within Min and Max. An empty result is no data, never a zero. A
// check with a Direction is also compared between the variants of an A/B
// test (strategy ab), its query rendered for each in turn and read as a
// count of events (a conversion counter's increase); a check with a
// Direction and neither bound is compared only.
type CheckSpec struct {
	// Name names the check in results and reports.
	Name string `yaml:"name" json:"name"`
	// Query is the query template ({{.Version}}, {{.Candidate}},
	// {{.Stable}}, {{.Service}}, {{.Window}}).
	Query string `yaml:"query" json:"query"`
	// Min and Max bound the passing value; at least one is set.
	Min *float64 `yaml:"min" json:"min,omitempty"`
	Max *float64 `yaml:"max" json:"max,omitempty"`
	// Direction is which way is better, higher-is-better or
	// lower-is-better, for an A/B test's comparison; empty leaves the
	// check out of it.
	Direction string `yaml:"direction" json:"direction,omitempty"`
}

// Bounded reports whether the check has a bound to pass, and so runs as a
// gate.
func (c CheckSpec) Bounded() bool { return c.Min != nil || c.Max != nil }

// Validate names every bad field.
func (c CheckSpec) Validate() error {
	var errs []error
	errs = append(errs, validName(c.Name))
	if strings.TrimSpace(c.Query) == "" {
		errs = append(errs, input.Invalid("query", "", "is required"))
	} else if _, err := ParseQuery(c.Name, c.Query); err != nil {
		errs = append(errs, input.Invalid("query", c.Query, "%w", err))
	}
	switch {
	case c.Min == nil && c.Max == nil && c.Direction == "":
		errs = append(errs, input.Invalid("max", "", "a check needs max, min or both, or a direction to be compared in an A/B test"))
	case c.Min != nil && c.Max != nil && !(*c.Min <= *c.Max):
		errs = append(errs, input.Invalid("min", formatFloat(*c.Min), "must not exceed max (%s)", formatFloat(*c.Max)))
	}
	switch c.Direction {
	case "", HigherIsBetter, LowerIsBetter:
	default:
		errs = append(errs, input.Invalid("direction", c.Direction, "must be %s or %s", HigherIsBetter, LowerIsBetter))
	}
	for key, v := range map[string]*float64{"min": c.Min, "max": c.Max} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			errs = append(errs, input.Invalid(key, formatFloat(*v), "must be a finite number"))
		}
	}
	return errors.Join(errs...)
}

// The webhook types, Flagger's set: when each is called.
const (
	// HookConfirmRollout is asked before any traffic moves, once the
	// candidate is deployed at 0% (so that, while it holds, the rollout is
	// in flight like any other); "not yet" holds.
	HookConfirmRollout = "confirm-rollout"
	// HookPreRollout runs once the candidate is deployed, before traffic
	// shifts; a failure rolls back.
	HookPreRollout = "pre-rollout"
	// HookRollout runs at each check, as a gate.
	HookRollout = "rollout"
	// HookConfirmTrafficIncrease is asked before each shift; "not yet"
	// holds at the current weight.
	HookConfirmTrafficIncrease = "confirm-traffic-increase"
	// HookConfirmPromotion is asked before the candidate takes all
	// traffic; "not yet" holds.
	HookConfirmPromotion = "confirm-promotion"
	// HookPostRollout is told once the rollout ended (promoted or rolled
	// back); its answer changes nothing.
	HookPostRollout = "post-rollout"
	// HookRollback is told when ramp rolls back.
	HookRollback = "rollback"
)

// HookTypes lists the webhook types in the order a rollout meets them.
var HookTypes = []string{HookConfirmRollout, HookPreRollout, HookRollout, HookConfirmTrafficIncrease,
	HookConfirmPromotion, HookPostRollout, HookRollback}

// The bounds of a webhook's timeout and retries.
const (
	DefaultHookTimeout = 10 * time.Second
	MaxHookTimeout     = 5 * time.Minute
	DefaultHookRetries = 2
	MaxHookRetries     = 10
)

// WebhookSpec is one webhook (a webhooks entry). The shared secret that
// signs its requests is not here: it comes from the webhook-secret option
// (RAMP_WEBHOOK_SECRET), so the spec can be stored with the rollout.
type WebhookSpec struct {
	// Name names the webhook in results and reports.
	Name string `yaml:"name" json:"name"`
	// Type is when it is called: one of HookTypes.
	Type string `yaml:"type" json:"type"`
	// URL is where it is sent: http or https.
	URL string `yaml:"url" json:"url"`
	// Timeout bounds one attempt; zero is DefaultHookTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Retries is how many times a failed attempt is retried, with
	// backoff; nil is DefaultHookRetries.
	Retries *int `yaml:"retries" json:"retries,omitempty"`
	// Metadata is sent in the payload as given.
	Metadata map[string]string `yaml:"metadata" json:"metadata,omitempty"`
}

// Validate names every bad field.
func (w WebhookSpec) Validate() error {
	var errs []error
	errs = append(errs, validName(w.Name))
	if !slices.Contains(HookTypes, w.Type) {
		errs = append(errs, input.Invalid("type", w.Type, "must be one of %s", strings.Join(HookTypes, ", ")))
	}
	errs = append(errs, validURL("url", w.URL))
	if w.Timeout < 0 || w.Timeout > MaxHookTimeout {
		errs = append(errs, input.Invalid("timeout", w.Timeout.String(), "must be within 0..%s", MaxHookTimeout))
	}
	if w.Retries != nil && (*w.Retries < 0 || *w.Retries > MaxHookRetries) {
		errs = append(errs, input.Invalid("retries", strconv.Itoa(*w.Retries), "must be within 0..%d", MaxHookRetries))
	}
	return errors.Join(errs...)
}

// validName checks a list entry's name: required, and short and plain
// enough for a report's table and a commit status.
func validName(name string) error {
	switch {
	case name == "":
		return input.Invalid("name", "", "is required")
	case len(name) > 63 || strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}):
		return input.Invalid("name", name, "must be at most 63 letters, digits, '-', '_' or '.'")
	}
	return nil
}

// validURL checks an http(s) URL field.
func validURL(key, raw string) error {
	if raw == "" {
		return input.Invalid(key, "", "is required")
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return input.Invalid(key, raw, "is not an http(s) URL")
	}
	return nil
}
