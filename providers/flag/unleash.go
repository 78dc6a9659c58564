package flag

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// The Unleash strategy ramp moves, and the parameter holding the record.
const (
	unleashStrategy  = "flexibleRollout"
	unleashRecordKey = "rampRollout"
)

// Unleash's lock: how long a holder may keep it (one record write takes
// well under a second), and how often a waiter looks again.
const (
	unleashLockTTL  = 30 * time.Second
	unleashLockPoll = 250 * time.Millisecond
)

// Unleash drives a feature's flexible-rollout ("gradual rollout")
// strategy in one environment over the admin API: its rollout parameter
// is the percentage, and the record lives in its rampRollout parameter.
// A feature without such a strategy gets one at 0% on the first write;
// one with several is refused. The admin API has no conditional write, so
// a record is written under a lock: a context field named
// ramp-lock.<feature>.<environment>, which only one writer can create.
type Unleash struct {
	api                api
	project, flag, env string
	lockTTL, lockPoll  time.Duration
	now                func() time.Time
	holder             string
}

var _ Backend = (*Unleash)(nil)

func newUnleash(f providers.FlagTarget, hc *http.Client) (Backend, error) {
	return NewUnleash(f, hc), nil
}

// NewUnleash is the Unleash backend for f; the token goes in the
// Authorization header as Unleash's admin tokens do.
func NewUnleash(f providers.FlagTarget, hc *http.Client) *Unleash {
	project := f.Project
	if project == "" {
		project = "default"
	}
	token := f.Token
	return &Unleash{
		api:     api{name: "unleash", base: strings.TrimRight(f.URL, "/"), hc: hc, auth: func(r *http.Request) { r.Header.Set("Authorization", token) }},
		project: project, flag: f.Name, env: f.Environment,
		lockTTL: unleashLockTTL, lockPoll: unleashLockPoll, now: time.Now,
		holder: providers.Self().String(),
	}
}

// unleashEnv is a feature's environment as the admin API shows it.
type unleashEnv struct {
	Enabled    bool               `json:"enabled"`
	Strategies []unleashStrategyT `json:"strategies"`
}

type unleashStrategyT struct {
	ID          string            `json:"id,omitempty"`
	Name        string            `json:"name"`
	Disabled    bool              `json:"disabled,omitempty"`
	Parameters  map[string]string `json:"parameters"`
	Constraints []any             `json:"constraints,omitempty"`
}

func (u *Unleash) envPath() string {
	return fmt.Sprintf("/api/admin/projects/%s/features/%s/environments/%s",
		url.PathEscape(u.project), url.PathEscape(u.flag), url.PathEscape(u.env))
}

// read reads the environment and finds ramp's strategy (nil when none).
func (u *Unleash) read(ctx context.Context) (unleashEnv, *unleashStrategyT, error) {
	var e unleashEnv
	if err := u.api.do(ctx, http.MethodGet, u.envPath(), "", nil, &e); err != nil {
		return e, nil, err
	}
	var found *unleashStrategyT
	n := 0
	for i := range e.Strategies {
		if e.Strategies[i].Name == unleashStrategy {
			n++
			found = &e.Strategies[i]
		}
	}
	if n > 1 {
		return e, nil, fmt.Errorf("%w: feature %q has %d flexibleRollout strategies in environment %q; ramp moves one: remove the others",
			providers.ErrInvalid, u.flag, n, u.env)
	}
	return e, found, nil
}

// Read reads the strategy's rollout percentage (0 while the feature or
// the strategy is off in the environment) and the record.
func (u *Unleash) Read(ctx context.Context) (Flag, error) {
	e, s, err := u.read(ctx)
	if err != nil {
		return Flag{}, err
	}
	var f Flag
	for _, o := range e.Strategies {
		if o.Name != unleashStrategy && !o.Disabled {
			f.Warnings = append(f.Warnings, fmt.Sprintf("feature %q has a %s strategy in %s as well, which enables it for the users it matches whatever the rollout's percentage", u.flag, o.Name, u.env))
		}
	}
	if s == nil {
		return f, nil
	}
	f.Record = s.Parameters[unleashRecordKey]
	pct, err := strconv.Atoi(s.Parameters["rollout"])
	if err != nil {
		return Flag{}, fmt.Errorf("%w: the flexibleRollout strategy's rollout is %q, not a percentage", providers.ErrInvalid, s.Parameters["rollout"])
	}
	if e.Enabled && !s.Disabled {
		f.Percent = pct
	}
	return f, nil
}

// SetPercent sets the strategy's rollout, then turns the feature on in
// the environment (when pct is above 0 and it is off), so turning it on
// never serves an older percentage; a disabled strategy is enabled.
func (u *Unleash) SetPercent(ctx context.Context, pct int) error {
	e, s, err := u.read(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		if s, err = u.create(ctx, ""); err != nil {
			return err
		}
	}
	patch := []map[string]any{{"op": "replace", "path": "/parameters/rollout", "value": strconv.Itoa(pct)}}
	if s.Disabled && pct > 0 {
		patch = append(patch, map[string]any{"op": "replace", "path": "/disabled", "value": false})
	}
	if s.Parameters["rollout"] != strconv.Itoa(pct) || len(patch) > 1 {
		if err := u.api.do(ctx, http.MethodPatch, u.envPath()+"/strategies/"+url.PathEscape(s.ID), "application/json", patch, nil); err != nil {
			return err
		}
	}
	if pct > 0 && !e.Enabled {
		return u.api.do(ctx, http.MethodPost, u.envPath()+"/on", "", nil, nil)
	}
	return nil
}

// create adds ramp's strategy at 0% with the record rec.
func (u *Unleash) create(ctx context.Context, rec string) (*unleashStrategyT, error) {
	in := unleashStrategyT{Name: unleashStrategy, Parameters: map[string]string{"rollout": "0", "stickiness": "default", "groupId": u.flag}}
	if rec != "" {
		in.Parameters[unleashRecordKey] = rec
	}
	var out unleashStrategyT
	if err := u.api.do(ctx, http.MethodPost, u.envPath()+"/strategies", "application/json", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StoreRecord writes next under the lock, when the record is still prev.
func (u *Unleash) StoreRecord(ctx context.Context, prev, next string) error {
	unlock, err := u.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, s, err := u.read(ctx)
	if err != nil {
		return err
	}
	cur := ""
	if s != nil {
		cur = s.Parameters[unleashRecordKey]
	}
	if cur != prev {
		return fmt.Errorf("feature %q in %s: %w", u.flag, u.env, providers.ErrStale)
	}
	if s == nil {
		_, err := u.create(ctx, next)
		return err
	}
	patch := []map[string]any{{"op": "add", "path": "/parameters/" + unleashRecordKey, "value": next}}
	return u.api.do(ctx, http.MethodPatch, u.envPath()+"/strategies/"+url.PathEscape(s.ID), "application/json", patch, nil)
}
