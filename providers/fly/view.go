package fly

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/strategies"
)

// The metadata keys ramp keeps on machines.
const (
	// keyRevision names the revision a machine runs.
	keyRevision = "ramp_revision"
	// keyRole is the machine's role: roleCandidate, rolePrevious or
	// roleRetired; a machine without one is stable.
	keyRole = "ramp_role"
	// keyPreviousUntil is when a previous machine's rollback window ends.
	keyPreviousUntil = "ramp_previous_until"
	// keyRecord holds the rollout record, as JSON, on the anchor machine.
	keyRecord = "ramp_record"
)

// The roles of a machine besides stable.
const (
	roleCandidate = "candidate"
	rolePrevious  = "previous"
	roleRetired   = "retired"
)

// view is one read of the app's machines.
type view struct {
	machines []Machine // not destroyed, sorted by ID
	rec      providers.Rollout
	anchor   string // the machine holding rec; "" when none does
	// staged is the candidate a rolling rollout staged, nil when none.
	staged *staged
}

// read lists the machines and finds the record: the highest Version any
// machine holds.
func (p *Provider) read(ctx context.Context, action string) (*view, error) {
	api, err := p.client()
	if err != nil {
		return nil, p.fail(action, err)
	}
	ms, err := api.List(ctx, p.app)
	if err != nil {
		return nil, p.fail(action, err)
	}
	v := &view{}
	for _, m := range ms {
		if m.State == "destroyed" || m.State == "destroying" {
			continue
		}
		v.machines = append(v.machines, m)
		if raw := m.Config.Metadata()[keyStaged]; raw != "" {
			var st staged
			if err := json.Unmarshal([]byte(raw), &st); err != nil {
				return nil, p.fail(action, fmt.Errorf("%w: the staged candidate on machine %s is not JSON: %w", providers.ErrInvalid, m.ID, err))
			}
			v.staged = &st
		}
		raw := m.Config.Metadata()[keyRecord]
		if raw == "" {
			continue
		}
		var rec providers.Rollout
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			return nil, p.fail(action, fmt.Errorf("%w: the rollout record on machine %s is not JSON: %w", providers.ErrInvalid, m.ID, err))
		}
		if v.anchor == "" || rec.Version > v.rec.Version {
			v.rec, v.anchor = rec, m.ID
		}
	}
	slices.SortFunc(v.machines, func(a, b Machine) int { return cmp.Compare(a.ID, b.ID) })
	return v, nil
}

// revision is one version of the app: the machines that run it.
type revision struct {
	id, image, role string
	machines        []Machine
	until           time.Time // a previous revision's rollback window
	// inPlace marks a rolling rollout's candidate: staged, and run by
	// machines updated in place rather than started beside the stable.
	inPlace bool
}

// idOr is the revision's ID, or def for nil.
func (r *revision) idOr(def string) string {
	if r == nil {
		return def
	}
	return r.id
}

// roles are the revisions taking part.
type roles struct {
	stable, candidate, previous *revision
	// retired are revisions on their way out (replaced, past their window,
	// or older candidates); the next transition or deploy destroys them.
	retired []*revision
	// extra are other revisions without a role: machines deployed beside
	// the stable ones outside ramp, which ramp leaves alone.
	extra []*revision
}

// revisionOf names the revision a machine runs: ramp's name for it, or
// the release flyctl deployed, or its image.
func revisionOf(m Machine) string {
	md := m.Config.Metadata()
	switch {
	case md[keyRevision] != "":
		return md[keyRevision]
	case md["fly_release_version"] != "":
		return "v" + md["fly_release_version"]
	}
	return m.Config.Image()
}

// roleOf is a machine's role.
func roleOf(m Machine) string {
	switch r := m.Config.Metadata()[keyRole]; r {
	case roleCandidate, rolePrevious, roleRetired:
		return r
	}
	return "stable"
}

// rolePrecedence orders roles: a revision whose machines disagree (a
// transition cut short) takes the first role any of them has. Each
// transition changes roles in an order (see traffic) that this keeps
// unambiguous.
var rolePrecedence = []string{roleCandidate, "stable", rolePrevious, roleRetired}

// rolesOf groups v's machines by revision and gives each its role. With
// no stable and no candidate revision, a previous one is taken as stable
// (a revert cut short, finished by tidy).
func (p *Provider) rolesOf(v *view) roles {
	by := map[string]*revision{}
	var order []*revision
	for _, m := range v.machines {
		id := revisionOf(m)
		r := by[id]
		if r == nil {
			r = &revision{id: id, image: m.Config.Image(), role: roleOf(m)}
			by[id] = r
			order = append(order, r)
		}
		r.machines = append(r.machines, m)
		r.inPlace = r.inPlace || m.Config.Metadata()[keyPreviousConfig] != ""
		if slices.Index(rolePrecedence, roleOf(m)) < slices.Index(rolePrecedence, r.role) {
			r.role = roleOf(m)
		}
		if t, err := time.Parse(time.RFC3339, m.Config.Metadata()[keyPreviousUntil]); err == nil && t.After(r.until) {
			r.until = t
		}
	}
	var out roles
	var previous []*revision
	for _, r := range order {
		switch r.role {
		case roleCandidate:
			if out.candidate != nil && newest(out.candidate.machines).After(newest(r.machines)) {
				out.retired = append(out.retired, r)
				continue
			}
			if out.candidate != nil {
				out.retired = append(out.retired, out.candidate)
			}
			out.candidate = r
		case rolePrevious:
			previous = append(previous, r)
		case roleRetired:
			out.retired = append(out.retired, r)
		default:
			out.stable = pickStable(out.stable, r, &out.extra)
		}
	}
	if st := v.staged; st != nil && st.Revision != out.stable.idOr("") && (out.candidate == nil || out.candidate.id == st.Revision) {
		if out.candidate == nil {
			out.candidate = &revision{id: st.Revision, image: st.Image, role: roleCandidate}
		}
		out.candidate.inPlace = true
	}
	if out.stable == nil && out.candidate != nil && out.candidate.inPlace && v.rec.Stable != "" {
		// Every machine runs the candidate of a rolling rollout: the stable
		// revision runs on none, and each keeps its config for a rollback.
		out.stable = &revision{id: v.rec.Stable, image: replacedImage(out.candidate.machines), role: "stable"}
	}
	slices.SortFunc(previous, func(a, b *revision) int { return b.until.Compare(a.until) })
	for i, r := range previous {
		switch {
		case i == 0 && out.stable == nil && out.candidate == nil:
			out.stable = r
		case i == 0 && p.now().Before(r.until):
			out.previous = r
		default:
			out.retired = append(out.retired, r)
		}
	}
	return out
}

// pickStable keeps the stable revision with the most machines when
// several claim it (machines deployed outside ramp); the others go to
// extra.
func pickStable(cur, r *revision, extra *[]*revision) *revision {
	if cur == nil {
		return r
	}
	if len(r.machines) > len(cur.machines) {
		cur, r = r, cur
	}
	*extra = append(*extra, r)
	return cur
}

func newest(ms []Machine) time.Time {
	var t time.Time
	for _, m := range ms {
		if m.CreatedAt.After(t) {
			t = m.CreatedAt
		}
	}
	return t
}

// checksPass reports whether the machine runs with every check passing.
func checksPass(m Machine) bool {
	if m.State != "started" {
		return false
	}
	for _, c := range m.Checks {
		if c.Status != "passing" {
			return false
		}
	}
	return true
}

// routable reports whether the fly-proxy sends the machine requests.
func routable(m Machine) bool {
	return !m.Cordoned && m.Config.HasServices() && checksPass(m)
}

// weight is the candidate's share of the routable machines, in percent;
// for a rolling rollout, its share of the machines (InstanceWeight), so
// the weight says which versions run, as the plan's replace steps do.
func (r roles) weight() int {
	if r.candidate == nil {
		return 0
	}
	if r.candidate.inPlace {
		k := len(r.candidate.machines)
		return strategies.InstanceWeight(k, k+len(machinesOf(r.stable)))
	}
	c, s := 0, 0
	for _, m := range r.candidate.machines {
		if routable(m) {
			c++
		}
	}
	for _, m := range machinesOf(r.stable) {
		if routable(m) {
			s++
		}
	}
	return ratio(c, s)
}

// machinesOf lists the machines of a revision (none for nil).
func machinesOf(r *revision) []Machine {
	if r == nil {
		return nil
	}
	return r.machines
}

// replacedImage is the image the machines ran before a rolling rollout
// updated them, as the first of them keeps it.
func replacedImage(ms []Machine) string {
	for _, m := range ms {
		var prev Config
		if json.Unmarshal([]byte(m.Config.Metadata()[keyPreviousConfig]), &prev) == nil {
			return prev.Image()
		}
	}
	return ""
}
