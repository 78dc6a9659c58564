package flag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// flagKey is what ramp takes as a flag's name or key: what Unleash takes
// as a feature name and LaunchDarkly as a flag key.
var flagKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$`)

// httpTimeout bounds one call to the flag service.
const httpTimeout = 30 * time.Second

// Provider rolls one flag out in one environment. Build one with New or
// NewWithBackend.
type Provider struct {
	flag string
	be   Backend
	now  func() time.Time
}

var _ providers.Provider = (*Provider)(nil)

// New builds a provider for cfg.Flag over the backend it names. It checks
// every input, all at once, and calls nothing.
func New(cfg providers.Config) (providers.Provider, error) {
	if err := Validate(cfg.Flag); err != nil {
		return nil, err
	}
	be, err := backends[cfg.Flag.Backend](cfg.Flag, &http.Client{Timeout: httpTimeout})
	if err != nil {
		return nil, err
	}
	return NewWithBackend(cfg.Flag.Name, be), nil
}

// NewWithBackend is a provider for the flag name over be.
func NewWithBackend(name string, be Backend) *Provider {
	return &Provider{flag: name, be: be, now: time.Now}
}

// Validate reports every missing or malformed flag input at once, each
// naming its input; the token's value is never shown.
func Validate(f providers.FlagTarget) error {
	var errs []error
	if err := checkBackend(f.Backend); err != nil {
		errs = append(errs, err)
	}
	switch {
	case f.Name == "":
		errs = append(errs, input.Missing("flag"))
	case !flagKey.MatchString(f.Name):
		errs = append(errs, input.Invalid("flag", f.Name, "must be a flag key: 1 to 100 letters, digits, dots, underscores, tildes and hyphens, starting with a letter or digit"))
	}
	needs := map[string]bool{} // the inputs the backend cannot do without
	switch f.Backend {
	case "unleash":
		needs = map[string]bool{"flag-environment": true, "flag-url": true, "flag-token": true}
	case "launchdarkly":
		needs = map[string]bool{"flag-environment": true, "flag-project": true, "flag-token": true}
	case "webhook":
		needs = map[string]bool{"flag-url": true}
	}
	given := []struct{ name, value string }{{"flag-environment", f.Environment}, {"flag-project", f.Project}, {"flag-url", f.URL}, {"flag-token", f.Token}}
	for _, in := range given {
		switch {
		case needs[in.name] && in.value == "":
			errs = append(errs, input.Missing(in.name))
		case in.value != "" && (in.name == "flag-environment" || in.name == "flag-project") && !flagKey.MatchString(in.value):
			errs = append(errs, input.Invalid(in.name, in.value, "must be 1 to 100 letters, digits, dots, underscores, tildes and hyphens, starting with a letter or digit"))
		}
	}
	if f.URL != "" {
		if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, input.Invalid("flag-url", f.URL, "must be an http or https URL"))
		}
	}
	return input.Merge(nil, errs...)
}

// fail wraps err with the action and the flag.
func (p *Provider) fail(action string, err error) error {
	return fmt.Errorf("flag: %s flag %q: %w", action, p.flag, err)
}

// read reads the flag and decodes its record.
func (p *Provider) read(ctx context.Context, action string) (state, error) {
	f, err := p.be.Read(ctx)
	if err != nil {
		return state{}, p.fail(action, err)
	}
	if f.Percent < 0 || f.Percent > 100 {
		return state{}, p.fail(action, fmt.Errorf("%w: the flag service reports %d%%", providers.ErrInvalid, f.Percent))
	}
	s := state{pct: f.Percent, raw: f.Record, warnings: f.Warnings}
	if f.Record != "" {
		if err := json.Unmarshal([]byte(f.Record), &s.rec); err != nil {
			return state{}, p.fail(action, fmt.Errorf("%w: the rollout record kept with the flag is not JSON: %w", providers.ErrInvalid, err))
		}
	}
	return s, nil
}

// Preflight reads the flag, which proves the address, the token, the
// flag's name and its environment. It changes nothing.
func (p *Provider) Preflight(ctx context.Context) error {
	_, err := p.read(ctx, "read")
	return err
}

// Status reads the flag and its record: the revisions the record and the
// percentage show together (see statusOf).
func (p *Provider) Status(ctx context.Context) (providers.Status, error) {
	s, err := p.read(ctx, "read the status of")
	if err != nil {
		return providers.Status{}, err
	}
	st := p.statusOf(s, p.now())
	st.Warnings = s.warnings
	return st, nil
}

// Deploy names the candidate: a flag has nothing to start. A candidate
// the flag already serves above its baseline is an ErrConflict; a flag
// already serving everyone has nothing to roll out.
func (p *Provider) Deploy(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	const action = "deploy a candidate to"
	s, err := p.read(ctx, action)
	if err != nil {
		return providers.Revision{}, err
	}
	st := p.statusOf(s, p.now())
	base, _ := baseOf(p.flag, revID(st.Stable))
	switch {
	case st.Candidate != nil && s.pct > base:
		return providers.Revision{}, p.fail(action, fmt.Errorf("%w: candidate %s already serves %d%%; promote or roll it back first", providers.ErrConflict, st.Candidate.ID, s.pct))
	case st.Candidate == nil && s.pct == 100:
		return providers.Revision{}, p.fail(action, fmt.Errorf("%w: the flag already serves 100%% of users, so there is nothing to roll out; lower its percentage first (to 0%% for a new rollout)", providers.ErrInvalid))
	}
	id := a.Revision
	if id == "" {
		id = p.flag + "-on"
	}
	if _, ok := baseOf(p.flag, id); ok {
		return providers.Revision{}, input.Invalid("revision", id, "names a baseline of flag %q; choose another revision name", p.flag)
	}
	return providers.Revision{ID: id, Image: a.Image, Ready: true}, nil
}

// Apply makes t as providers.ApplyStepwise does: the record states the
// transition (compare-and-set against the record read), the flag's
// percentage changes, the record states the outcome. A transition whose
// revision does not hold its role (Transition.Check) is refused before
// anything is written; one the flag already shows (Transition.Done)
// writes the record only.
func (p *Provider) Apply(ctx context.Context, t providers.Transition) (providers.Rollout, error) {
	action := t.String() + " on"
	if err := t.Validate(); err != nil {
		return providers.Rollout{}, p.fail(action, err)
	}
	s, err := p.read(ctx, action)
	if err != nil {
		return providers.Rollout{}, err
	}
	if t.Action == providers.ActionRecord {
		rec, _, err := p.store(ctx, action, s, t.Record)
		return rec, err
	}
	st := p.statusOf(s, p.now())
	done := t.Done(st)
	if !done {
		if err := t.Check(st); err != nil {
			return providers.Rollout{}, p.fail(action, err)
		}
	}
	pct := p.percentFor(st, t)
	stated := t.Record
	stated.Intent = &providers.Intent{Action: t.Action, Revision: t.Revision, Weight: t.Weight, KeepPrevious: t.KeepPrevious, At: p.now().UTC()}
	stored, s, err := p.store(ctx, action, s, stated)
	if err != nil {
		return providers.Rollout{}, fmt.Errorf("state the intent to %s: %w", t, err)
	}
	if !done {
		if err := p.be.SetPercent(ctx, pct); err != nil {
			return stored, fmt.Errorf("%s (stated in the record, not made): %w", t, p.fail(action, err))
		}
		if err := p.settle(ctx, action, s.raw); err != nil {
			return stored, fmt.Errorf("%s (made; checking no other process changed the record meanwhile): %w", t, err)
		}
	}
	out := t.Record
	out.Intent, out.Version = nil, stored.Version
	if stored, _, err = p.store(ctx, action, s, out); err != nil {
		return providers.Rollout{}, fmt.Errorf("record the outcome of %s: %w", t, err)
	}
	return stored, nil
}

// maxSettles bounds the repairs settle makes while other processes keep
// changing the record.
const maxSettles = 3

// settle undoes an act that came too late: the percentage was set after
// stating mine, but another process may have changed the record (and
// the percentage) in between, its command winning. Reading the record
// after the act tells: when it is no longer mine, the flag is set to the
// percentage the record now says, so the later command's change stands
// whichever act landed last. The outcome's write then finds the record
// changed (ErrStale), as for any command from another process.
func (p *Provider) settle(ctx context.Context, action, mine string) error {
	for range maxSettles {
		s, err := p.read(ctx, action)
		if err != nil {
			return err
		}
		if s.raw == mine {
			return nil
		}
		want, ok := p.targetOf(s.rec)
		if !ok || want == s.pct {
			return nil
		}
		if err := p.be.SetPercent(ctx, want); err != nil {
			return p.fail(action, err)
		}
		mine = s.raw
	}
	return nil
}

// targetOf is the percentage rec says the flag serves once its stated
// transition (if any) is made; ok is false when rec says nothing of it.
func (p *Provider) targetOf(rec providers.Rollout) (pct int, ok bool) {
	base, ok := baseOf(p.flag, rec.Stable)
	if !ok || rec.Candidate == "" {
		return 0, false
	}
	if i := rec.Intent; i != nil {
		switch i.Action {
		case providers.ActionShift:
			return percentOf(i.Weight, base), true
		case providers.ActionPromote:
			return 100, true
		case providers.ActionRollback, providers.ActionRevert:
			return base, true
		}
		return 0, false
	}
	switch {
	case rec.Phase.InFlight():
		return percentOf(rec.Weight, base), true
	case rec.Phase == providers.PhasePromoted:
		return 100, true
	case rec.Phase == providers.PhaseRolledBack:
		return base, true
	}
	return 0, false
}

// percentFor is the percentage t leaves the flag at: the weight (never
// below the baseline) for a shift, 100 for a promotion, the baseline for
// a rollback, the previous baseline for a revert.
func (p *Provider) percentFor(st providers.Status, t providers.Transition) int {
	base, _ := baseOf(p.flag, revID(st.Stable))
	switch t.Action {
	case providers.ActionShift:
		return percentOf(t.Weight, base)
	case providers.ActionPromote:
		return 100
	case providers.ActionRevert:
		prev, _ := baseOf(p.flag, revID(st.Previous))
		return prev
	}
	return base
}

// store writes rec compare-and-set against the record s holds, and
// returns it as stored with the state after the write.
func (p *Provider) store(ctx context.Context, action string, s state, rec providers.Rollout) (providers.Rollout, state, error) {
	next, err := providers.NextRecord(s.rec, rec)
	if err != nil {
		return providers.Rollout{}, s, p.fail(action, err)
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return providers.Rollout{}, s, p.fail(action, fmt.Errorf("encode the rollout record: %w", err))
	}
	if err := p.be.StoreRecord(ctx, s.raw, string(raw)); err != nil {
		if errors.Is(err, providers.ErrStale) {
			err = fmt.Errorf("record rollout %s: the record kept with the flag changed since version %d was read (another process wrote it): %w", rec.ID, s.rec.Version, err)
		}
		return providers.Rollout{}, s, p.fail(action, err)
	}
	return next, state{pct: s.pct, rec: next, raw: string(raw)}, nil
}

func revID(r *providers.Revision) string {
	if r == nil {
		return ""
	}
	return r.ID
}
