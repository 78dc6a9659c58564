package fly

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// The metadata keys of strategy rolling, which updates machines in place.
const (
	// keyStaged holds the candidate a rolling rollout stages (JSON of
	// staged), on the machine that holds the record, until it is promoted
	// or rolled back.
	keyStaged = "ramp_staged"
	// keyPreviousConfig holds, on a machine updated to the candidate, its
	// config before (JSON, without ramp's record), which a rollback puts
	// back.
	keyPreviousConfig = "ramp_previous_config"
)

// staged is the candidate of a rolling rollout: what a replace runs.
type staged struct {
	Revision string   `json:"revision"`
	Image    string   `json:"image"`
	Env      []string `json:"env,omitempty"`
}

var _ providers.Replacer = (*Provider)(nil)

// Instances counts the app's machines at full strength: the stable
// revision's and those a rolling rollout updated already.
func (p *Provider) Instances(ctx context.Context) (int, error) {
	v, err := p.read(ctx, "count the machines of")
	if err != nil {
		return 0, err
	}
	r := p.rolesOf(v)
	if err := p.canRun(r); err != nil {
		return 0, p.fail("count the machines of", err)
	}
	n := len(r.stable.machines)
	if r.candidate != nil && r.candidate.inPlace {
		n += len(r.candidate.machines)
	}
	return n, nil
}

// Stage records the candidate of a rolling rollout on the machine that
// holds the record, under its lease, with no machine running it yet: each
// replace then updates a batch of stable machines to it in place (as
// flyctl deploy --strategy rolling does), which keeps their volumes,
// regions and sizes. A candidate at 0% is replaced; one taking traffic is
// an ErrConflict.
func (p *Provider) Stage(ctx context.Context, a providers.Artifact) (providers.Revision, error) {
	const action = "stage a candidate of"
	if err := CheckArtifact(p.cfg, a); err != nil {
		return providers.Revision{}, err
	}
	if a.Image == "" {
		return providers.Revision{}, input.Missing("image")
	}
	tx, err := p.begin(ctx, action)
	if err != nil {
		return providers.Revision{}, err
	}
	defer tx.end(ctx)
	r := p.rolesOf(tx.v)
	if err := p.canRun(r); err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	if r.candidate != nil && len(r.candidate.machines) > 0 && r.candidate.inPlace {
		return providers.Revision{}, p.fail(action, fmt.Errorf("%w: candidate %s runs on %d machines already; promote or roll it back first",
			providers.ErrConflict, r.candidate.id, len(r.candidate.machines)))
	}
	if err := p.clear(ctx, tx.api, r); err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	rev := a.Revision
	if rev == "" || rev == r.stable.id {
		rev = strings.TrimSuffix(p.app[:min(len(p.app), 50)]+"-"+strings.ToLower(rand.Text()[:8]), "-")
	}
	raw, err := json.Marshal(staged{Revision: rev, Image: a.Image, Env: a.Env})
	if err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	on := tx.v.anchor
	if on == "" {
		on = r.stable.machines[0].ID
	}
	if err := tx.lease(ctx, on); err != nil {
		return providers.Revision{}, err
	}
	if err := tx.api.SetMetadata(ctx, p.app, on, tx.nonce(on), keyStaged, string(raw)); err != nil {
		return providers.Revision{}, p.fail(action, err)
	}
	return providers.Revision{ID: rev, Image: a.Image, URL: p.appURL(), Ready: true}, nil
}

// replace updates stable machines in place to the staged candidate until
// k machines run it, the machine holding the record last, then waits
// until the candidate's machines are started with their checks passing. Each update keeps
// the machine's config before in its metadata, for a rollback.
func (tx *txn) replace(ctx context.Context, r roles, k int) error {
	cand := r.candidate
	if tx.v.staged == nil || tx.v.staged.Revision != cand.id {
		return tx.p.fail(tx.action, fmt.Errorf("%w: candidate %s is not staged for a rolling update (no %s metadata names it)", providers.ErrNoCandidate, cand.id, keyStaged))
	}
	stable := slices.Clone(machinesOf(r.stable))
	slices.SortStableFunc(stable, func(a, b Machine) int { // the record's machine last
		return boolInt(a.ID == tx.v.anchor) - boolInt(b.ID == tx.v.anchor)
	})
	n := min(max(k-len(cand.machines), 0), len(stable))
	art := providers.Artifact{Image: tx.v.staged.Image, Env: tx.v.staged.Env}
	var batch []Machine
	for _, m := range stable[:n] {
		cur, err := tx.fresh(ctx, m.ID)
		if err != nil {
			return err
		}
		prev := withoutRamp(cur.Config)
		raw, err := json.Marshal(prev)
		if err != nil {
			return tx.p.fail(tx.action, err)
		}
		next := candidateConfig(cur.Config, art, cand.id)
		keepRamp(next, cur.Config)
		next.SetMetadata(keyPreviousConfig, string(raw))
		up, err := tx.api.Update(ctx, tx.p.app, m.ID, tx.nonce(m.ID), LaunchInput{Config: next, Region: cur.Region})
		if err != nil {
			return tx.p.fail(tx.action, err)
		}
		batch = append(batch, up)
	}
	// Every machine the candidate runs on is waited for, the batch just
	// updated and any before it: a replace made again after a failed wait
	// fails again rather than passing on an empty batch.
	// A batch that does not get ready is put back at once (on a context
	// that outlives a cancel), so the machines show the split before the
	// replace, as its failure says.
	all := append(slices.Clone(cand.machines), batch...)
	if err := tx.p.waitReady(ctx, tx.api, all); err != nil {
		err = tx.p.fail(fmt.Sprintf("wait for the %d machines updated to %s of", len(all), cand.id), err)
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*stopWait)
		defer cancel()
		if berr := tx.putBack(bctx, batch); berr != nil {
			return errors.Join(err, fmt.Errorf("put the batch back (the rollback does): %w", berr))
		}
		return err
	}
	return nil
}

// restore puts each machine updated to the candidate back on the config
// it had before, and waits until they are started with their checks
// passing; then the staged candidate is dropped. A candidate machine
// created beside the stable ones (none in a rolling rollout) is retired.
func (tx *txn) restore(ctx context.Context, r roles) error {
	var back, extra []Machine
	for _, m := range machinesOf(r.candidate) {
		if m.Config.Metadata()[keyPreviousConfig] == "" {
			extra = append(extra, m)
		} else {
			back = append(back, m)
		}
	}
	if err := tx.putBack(ctx, back); err != nil {
		return err
	}
	if err := tx.setRole(ctx, extra, roleRetired, ""); err != nil {
		return err
	}
	return tx.unstage(ctx)
}

// putBack updates each machine to the config it had before it ran the
// candidate, routes it (whatever cordoned it meanwhile), and waits until
// they are started with their checks passing.
func (tx *txn) putBack(ctx context.Context, ms []Machine) error {
	var back []Machine
	for _, m := range ms {
		cur, err := tx.fresh(ctx, m.ID)
		if err != nil {
			return err
		}
		raw := cur.Config.Metadata()[keyPreviousConfig]
		if raw == "" {
			continue // put back already
		}
		var prev Config
		if err := json.Unmarshal([]byte(raw), &prev); err != nil {
			return tx.p.fail(tx.action, fmt.Errorf("%w: the config machine %s had before is not JSON: %w", providers.ErrInvalid, m.ID, err))
		}
		keepRamp(prev, cur.Config)
		up, err := tx.api.Update(ctx, tx.p.app, m.ID, tx.nonce(m.ID), LaunchInput{Config: prev, Region: cur.Region})
		if err != nil {
			return tx.p.fail(tx.action, err)
		}
		back = append(back, up)
	}
	if err := tx.route(ctx, back, nil); err != nil {
		return err
	}
	if err := tx.p.waitReady(ctx, tx.api, back); err != nil {
		return tx.p.fail(fmt.Sprintf("wait for %d machines put back on their previous image in", len(back)), err)
	}
	return nil
}

// settle finishes a rolling rollout's promotion: every machine runs the
// candidate, which becomes the stable revision; the configs kept for a
// rollback and the staged candidate are dropped.
func (tx *txn) settle(ctx context.Context, r roles) error {
	all := len(r.candidate.machines) + len(machinesOf(r.stable))
	if err := tx.replace(ctx, r, all); err != nil {
		return err
	}
	v, err := tx.p.read(ctx, tx.action)
	if err != nil {
		return err
	}
	for _, m := range v.machines {
		if revisionOf(m) != r.candidate.id {
			continue
		}
		if err := tx.setRole(ctx, []Machine{m}, "", ""); err != nil {
			return err
		}
		if m.Config.Metadata()[keyPreviousConfig] == "" {
			continue
		}
		if err := tx.lease(ctx, m.ID); err != nil {
			return err
		}
		if err := tx.api.DeleteMetadata(ctx, tx.p.app, m.ID, tx.nonce(m.ID), keyPreviousConfig); err != nil {
			return tx.p.fail(tx.action, err)
		}
	}
	return tx.unstage(ctx)
}

// unstage drops the staged candidate.
func (tx *txn) unstage(ctx context.Context) error {
	v, err := tx.p.read(ctx, tx.action)
	if err != nil {
		return err
	}
	for _, m := range v.machines {
		if m.Config.Metadata()[keyStaged] == "" {
			continue
		}
		if err := tx.lease(ctx, m.ID); err != nil {
			return err
		}
		if err := tx.api.DeleteMetadata(ctx, tx.p.app, m.ID, tx.nonce(m.ID), keyStaged); err != nil {
			return tx.p.fail(tx.action, err)
		}
	}
	tx.v.staged = nil
	return nil
}

// fresh leases the machine and reads it again: its metadata as the last
// write left it (the record stated a moment ago), for an update that
// carries it over.
func (tx *txn) fresh(ctx context.Context, id string) (Machine, error) {
	if err := tx.lease(ctx, id); err != nil {
		return Machine{}, err
	}
	m, err := tx.api.Get(ctx, tx.p.app, id)
	if err != nil {
		return Machine{}, tx.p.fail(tx.action, err)
	}
	return m, nil
}

// withoutRamp is c without the record and the staged candidate, which
// stay where they are.
func withoutRamp(c Config) Config {
	out := c.Clone()
	if md, ok := out["metadata"].(map[string]any); ok {
		delete(md, keyRecord)
		delete(md, keyStaged)
		delete(md, keyPreviousConfig)
	}
	return out
}

// keepRamp copies the record and the staged candidate from the machine's
// config now into the config it is updated to.
func keepRamp(next, cur Config) {
	md := cur.Metadata()
	for _, k := range []string{keyRecord, keyStaged} {
		if v, ok := md[k]; ok {
			next.SetMetadata(k, v)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
