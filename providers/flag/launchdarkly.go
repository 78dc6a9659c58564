package flag

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// LaunchDarkly's media type of a semantic patch.
const ldSemanticPatch = "application/json; domain-model=launchdarkly.semanticpatch"

// ldDefaultURL is LaunchDarkly's API.
const ldDefaultURL = "https://app.launchdarkly.com"

// LaunchDarkly drives a boolean flag's default rule (fallthrough) in one
// environment over the REST API: a percentage rollout serving true to the
// rollout's share, set by a semantic patch (updateFallthroughVariationOrRollout,
// and turnFlagOn when the flag is off). The record lives in the flag's
// custom property ramp-rollout-<environment>, written by a JSON Patch whose
// test operation makes it a compare-and-set of the flag's custom
// properties. The access token goes in the Authorization header as it is.
type LaunchDarkly struct {
	api                api
	project, flag, env string
}

var _ Backend = (*LaunchDarkly)(nil)

func newLaunchDarkly(f providers.FlagTarget, hc *http.Client) (Backend, error) {
	return NewLaunchDarkly(f, hc), nil
}

// NewLaunchDarkly is the LaunchDarkly backend for f (f.URL empty: the
// LaunchDarkly API).
func NewLaunchDarkly(f providers.FlagTarget, hc *http.Client) *LaunchDarkly {
	base := f.URL
	if base == "" {
		base = ldDefaultURL
	}
	token := f.Token
	return &LaunchDarkly{
		api:     api{name: "launchdarkly", base: strings.TrimRight(base, "/"), hc: hc, auth: func(r *http.Request) { r.Header.Set("Authorization", token) }},
		project: f.Project, flag: f.Name, env: f.Environment,
	}
}

// LDFlag is a flag as the API shows it (the fields ramp reads).
type LDFlag struct {
	Key              string                      `json:"key"`
	Kind             string                      `json:"kind"`
	Variations       []LDVariation               `json:"variations"`
	Environments     map[string]LDEnvironment    `json:"environments"`
	CustomProperties map[string]LDCustomProperty `json:"customProperties"`
}

// LDVariation is one of a flag's values.
type LDVariation struct {
	ID    string `json:"_id"`
	Value any    `json:"value"`
}

// LDEnvironment is a flag's settings in one environment.
type LDEnvironment struct {
	On          bool          `json:"on"`
	Fallthrough LDFallthrough `json:"fallthrough"`
}

// LDFallthrough is the default rule: one variation, or a rollout.
type LDFallthrough struct {
	Variation *int       `json:"variation,omitempty"`
	Rollout   *LDRollout `json:"rollout,omitempty"`
}

// LDRollout weighs variations, in thousandths of a percent.
type LDRollout struct {
	Variations []LDWeighted `json:"variations"`
}

// LDWeighted is one variation's weight.
type LDWeighted struct {
	Variation int `json:"variation"`
	Weight    int `json:"weight"`
}

// LDCustomProperty is a custom property of a flag.
type LDCustomProperty struct {
	Name  string   `json:"name"`
	Value []string `json:"value"`
}

func (l *LaunchDarkly) path() string {
	return fmt.Sprintf("/api/v2/flags/%s/%s", url.PathEscape(l.project), url.PathEscape(l.flag))
}

func (l *LaunchDarkly) recordKey() string { return "ramp-rollout-" + l.env }

// get reads the flag with the environment's settings, and its true and
// false variations.
func (l *LaunchDarkly) get(ctx context.Context) (f LDFlag, on, off int, err error) {
	if err := l.api.do(ctx, http.MethodGet, l.path()+"?env="+url.QueryEscape(l.env), "", nil, &f); err != nil {
		return f, 0, 0, err
	}
	if _, ok := f.Environments[l.env]; !ok {
		return f, 0, 0, fmt.Errorf("%w: flag %q has no environment %q", providers.ErrNotFound, l.flag, l.env)
	}
	on, off = -1, -1
	for i, v := range f.Variations {
		switch v.Value {
		case true:
			on = i
		case false:
			off = i
		}
	}
	if len(f.Variations) != 2 || on < 0 || off < 0 {
		return f, 0, 0, fmt.Errorf("%w: flag %q is not a boolean flag; ramp rolls out the true variation of a boolean flag", providers.ErrInvalid, l.flag)
	}
	return f, on, off, nil
}

// Read reads the share of the default rule serving true (0 while the
// flag is off) and the record.
func (l *LaunchDarkly) Read(ctx context.Context) (Flag, error) {
	f, on, _, err := l.get(ctx)
	if err != nil {
		return Flag{}, err
	}
	var out Flag
	if p, ok := f.CustomProperties[l.recordKey()]; ok && len(p.Value) > 0 {
		out.Record = p.Value[0]
	}
	e := f.Environments[l.env]
	if !e.On {
		return out, nil
	}
	switch ft := e.Fallthrough; {
	case ft.Rollout != nil:
		for _, w := range ft.Rollout.Variations {
			if w.Variation == on {
				out.Percent = (w.Weight + 500) / 1000
			}
		}
		if out.Percent*1000 != weightOf(ft.Rollout, on) {
			out.Warnings = append(out.Warnings, fmt.Sprintf("the default rule serves true to %.3f%%, which ramp reads as %d%%", float64(weightOf(ft.Rollout, on))/1000, out.Percent))
		}
	case ft.Variation != nil && *ft.Variation == on:
		out.Percent = 100
	}
	return out, nil
}

func weightOf(r *LDRollout, v int) int {
	for _, w := range r.Variations {
		if w.Variation == v {
			return w.Weight
		}
	}
	return 0
}

// SetPercent sets the default rule to a rollout serving true to pct
// percent, and turns the flag on when it is off and pct is above 0, in one
// semantic patch.
func (l *LaunchDarkly) SetPercent(ctx context.Context, pct int) error {
	f, on, off, err := l.get(ctx)
	if err != nil {
		return err
	}
	instr := []map[string]any{{
		"kind":           "updateFallthroughVariationOrRollout",
		"rolloutWeights": map[string]int{f.Variations[on].ID: pct * 1000, f.Variations[off].ID: (100 - pct) * 1000},
	}}
	if pct > 0 && !f.Environments[l.env].On {
		instr = append(instr, map[string]any{"kind": "turnFlagOn"})
	}
	body := map[string]any{"environmentKey": l.env, "comment": fmt.Sprintf("ramp: serve true to %d%%", pct), "instructions": instr}
	return l.api.do(ctx, http.MethodPatch, l.path(), ldSemanticPatch, body, nil)
}

// StoreRecord writes next when the record is still prev, by a JSON Patch
// that tests the flag's custom properties as read, then sets ramp's.
func (l *LaunchDarkly) StoreRecord(ctx context.Context, prev, next string) error {
	f, _, _, err := l.get(ctx)
	if err != nil {
		return err
	}
	cur := ""
	if p, ok := f.CustomProperties[l.recordKey()]; ok && len(p.Value) > 0 {
		cur = p.Value[0]
	}
	if cur != prev {
		return fmt.Errorf("flag %q in %s: %w", l.flag, l.env, providers.ErrStale)
	}
	props := f.CustomProperties
	if props == nil {
		props = map[string]LDCustomProperty{}
	}
	patch := []map[string]any{
		{"op": "test", "path": "/customProperties", "value": props},
		{"op": "add", "path": "/customProperties/" + l.recordKey(), "value": LDCustomProperty{Name: "ramp rollout (" + l.env + ")", Value: []string{next}}},
	}
	err = l.api.do(ctx, http.MethodPatch, l.path(), "application/json", patch, nil)
	if ae := (*APIError)(nil); asAPIError(err, &ae) && ae.Status == http.StatusConflict {
		return fmt.Errorf("%w: %w", providers.ErrStale, err)
	}
	return err
}
