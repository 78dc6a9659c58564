package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// postTimeout bounds the post step's work; the job is already ending.
const postTimeout = 2 * time.Minute

// post runs `ramp post`, the action's post step: when the main step was
// cancelled or died before its rollout reached a final state, it finishes
// the job as on-cancel says and completes the reports. It reports an
// outcome the main step already reported (STATE_reported) only if it
// changed it. It is idempotent.
func post(ctx context.Context, a *app) error {
	rt := a.runtime()
	done, reported := rt.State("finished"), rt.State("reported")
	if done != "" && done != string(engine.OutcomeCancelled) {
		fmt.Fprintf(a.env.Stdout, "ramp post: the main step finished (%s); nothing to do\n", done)
		return nil
	}
	id := rt.State("rollout")
	if id == "" {
		fmt.Fprintln(a.env.Stdout, "ramp post: the main step started no rollout; nothing to do")
		return nil
	}
	prov, err := a.providerOnly()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
	defer cancel()
	out := a.newOutput()
	out.resumed = true
	e := a.newEngine(prov, nil, gates.Metrics{}, a.cfg.Rollout, out.sink)
	st, err := e.Reconcile(ctx) // the main step may have died mid-transition
	if err != nil {
		return withCode(ExitProvider, fmt.Errorf("post: read the rollout of %q: %w", a.cfg.Target.Service, err))
	}
	if st.Rollout.ID != id {
		fmt.Fprintf(a.env.Stdout, "ramp post: rollout %s is no longer the service's (now %q); nothing to do\n", id, st.Rollout.ID)
		return nil
	}
	nothingToFinish := st.Candidate == nil || !st.Rollout.Phase.InFlight() || st.Rollout.Phase == providers.PhasePaused
	left := st.Rollout.Phase == providers.PhaseCancelled && a.cfg.OnCancel == "leave"
	if done != "" && reported == done && (nothingToFinish || left) {
		fmt.Fprintf(a.env.Stdout, "ramp post: the main step was %s and reported it; rollout %s is %s; nothing to do\n",
			done, id, st.Rollout.Phase)
		return nil
	}
	if err := out.attachGitHub(ctx, st.Rollout.Commit, a.stateDeployment()); err != nil {
		return err
	}
	switch {
	case nothingToFinish:
		fmt.Fprintf(a.env.Stdout, "ramp post: rollout %s is %s; nothing to finish\n", id, st.Rollout.Phase)
		// The main step may have been killed before its last reports went
		// out: send the final state again, as the main step ended it.
		res := resultOf(st)
		if done != "" {
			res.Outcome = engine.Outcome(done)
		}
		out.sink(&engine.Finished{Result: res})
		out.flush()
		return nil
	case a.cfg.OnCancel == "leave":
		rec := st.Rollout
		rec.Phase, rec.UpdatedAt, rec.Lease = providers.PhaseCancelled, time.Now().UTC(), nil
		rec.Reason = fmt.Sprintf("the job ended mid-rollout; traffic left at %d%% (on-cancel: leave)", st.Weight)
		if _, err := prov.Apply(ctx, providers.Transition{Action: providers.ActionRecord, Record: rec}); err != nil {
			return withCode(ExitProvider, fmt.Errorf("post: record the cancelled rollout: %w", err))
		}
		fmt.Fprintf(a.env.Stdout, "ramp post: %s\n", rec.Reason)
		return out.finish(engine.Result{Outcome: engine.OutcomeCancelled, Reason: rec.Reason, Stable: rec.Stable,
			Candidate: rec.Candidate, Weight: st.Weight, URL: st.URL})
	}
	res := e.Rollback(ctx, "the job ended mid-rollout (cancelled or killed); rolled back by the post step")
	if res.Outcome != engine.OutcomeRolledBack {
		return out.finish(res)
	}
	res.Outcome = engine.OutcomeCancelled // the job's rollout was cut short; the rollback finished it
	if err := out.finish(res); Code(err) != ExitCancelled {
		return err
	}
	return nil // the post step did its job
}

// resultOf is the result a rollout's record stands for.
func resultOf(st providers.Status) engine.Result {
	r := st.Rollout
	out := map[providers.Phase]engine.Outcome{providers.PhasePromoted: engine.OutcomePromoted,
		providers.PhaseRolledBack: engine.OutcomeRolledBack, providers.PhasePaused: engine.OutcomePaused,
		providers.PhaseCancelled: engine.OutcomeCancelled}[r.Phase]
	if out == "" {
		out = engine.OutcomeFailed
	}
	res := engine.Result{Outcome: out, Reason: r.Reason, Weight: st.Weight, URL: st.URL, Rollout: r}
	if st.Stable != nil {
		res.Stable = st.Stable.ID
	}
	if st.Candidate != nil {
		res.Candidate = st.Candidate.ID
	}
	return res
}
