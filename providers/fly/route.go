package fly

import (
	"context"
	"fmt"

	"github.com/ramp-deploy/ramp/providers"
)

// shift makes the candidate's share of each process group's routable
// machines w percent: the first machines of each role (by ID) routable,
// the rest cordoned.
func (tx *txn) shift(ctx context.Context, r roles, w int) error {
	var on, off []Machine
	for _, g := range groupsOf(machinesOf(r.stable), machinesOf(r.candidate)) {
		c, s, ok := layout(w, len(g.stable), len(g.candidate))
		if !ok {
			return tx.p.fail(tx.action, checkWeights([]group{g}, w))
		}
		on = append(append(on, g.candidate[:c]...), g.stable[:s]...)
		off = append(append(off, g.candidate[c:]...), g.stable[s:]...)
	}
	return tx.route(ctx, on, off)
}

// route uncordons the on machines, then cordons the off ones, so the
// routable machines never drop below what both settings have in common;
// a machine already as wanted is left alone.
func (tx *txn) route(ctx context.Context, on, off []Machine) error {
	for _, m := range on {
		if !m.Cordoned {
			continue
		}
		if err := tx.write(ctx, m.ID, func(nonce string) error { return tx.api.Uncordon(ctx, tx.p.app, m.ID, nonce) }); err != nil {
			return tx.p.fail(tx.action, err)
		}
	}
	for _, m := range off {
		if m.Cordoned {
			continue
		}
		if err := tx.write(ctx, m.ID, func(nonce string) error { return tx.api.Cordon(ctx, tx.p.app, m.ID, nonce) }); err != nil {
			return tx.p.fail(tx.action, err)
		}
	}
	return nil
}

// statusOf is the status v and its roles show: the weight is what the
// machine counts give.
func (p *Provider) statusOf(v *view, r roles) providers.Status {
	st := providers.Status{Rollout: v.rec, Weight: r.weight(), URL: p.appURL()}
	rev := func(x *revision) *providers.Revision {
		if x == nil {
			return nil
		}
		ready := true
		for _, m := range x.machines {
			ready = ready && checksPass(m)
		}
		return &providers.Revision{ID: x.id, Image: x.image, Ready: ready}
	}
	st.Stable, st.Candidate, st.Previous = rev(r.stable), rev(r.candidate), rev(r.previous)
	if st.Candidate != nil { // the probe client pins the app's URL to the candidate's machines
		st.Candidate.URL = st.URL
	}
	if r.candidate == nil || r.candidate.inPlace {
		st.Instances = &providers.Instances{Stable: len(machinesOf(r.stable)), Candidate: len(machinesOf(r.candidate))}
	}
	for _, x := range r.retired {
		st.Warnings = append(st.Warnings, fmt.Sprintf("revision %s (%d machines) is retired; the next transition or deploy destroys its machines", x.id, len(x.machines)))
	}
	for _, x := range r.extra {
		st.Warnings = append(st.Warnings, fmt.Sprintf("revision %s (%d machines) runs beside the stable one outside any rollout", x.id, len(x.machines)))
	}
	if r.candidate != nil && !r.candidate.inPlace {
		st.Warnings = append(st.Warnings, p.countsNote(r))
	}
	return st
}

// countsNote says how the candidate's weight comes from machine counts.
func (p *Provider) countsNote(r roles) string {
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
	return fmt.Sprintf("the fly-proxy routes to %d of %d candidate and %d of %d stable machines: the candidate takes about %d%% of requests (the proxy balances by load and region, not by weight)",
		c, len(r.candidate.machines), s, len(machinesOf(r.stable)), ratio(c, s))
}

// Status reads the machines (one call) and derives the revisions and the
// weight from what they show now.
func (p *Provider) Status(ctx context.Context) (providers.Status, error) {
	v, err := p.read(ctx, "read the status of")
	if err != nil {
		return providers.Status{}, err
	}
	return p.statusOf(v, p.rolesOf(v)), nil
}
