package local

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

func TestDeployFailures(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	_, p := startAgent(t, cfg)
	slow := cfg
	slow.HealthPath, slow.ReadyTimeout = "/nope", 30*time.Second // long enough for a loaded machine to start it
	pSlow := newProvider(t, slow)
	tests := []struct {
		name     string
		p        *Provider
		a        providers.Artifact
		want     error
		contains []string
	}{
		{
			name: "process exits", p: p,
			a:    providers.Artifact{Image: quoteArg(os.Args[0]), Revision: "exits", Env: []string{"RAMP_LOCAL_TEST_APP=exit"}},
			want: providers.ErrNotReady, contains: []string{"exited", "exit status 3", "boom: bad configuration"},
		},
		{
			name: "never healthy", p: pSlow, a: appArtifact("sick", "v1", 0),
			want: providers.ErrNotReady, contains: []string{"not ready after 30s", "404 Not Found", "/nope"},
		},
		{
			name: "missing program", p: p, a: providers.Artifact{Image: "/nonexistent/ramp-test-app --flag"},
			want: providers.ErrNotReady, contains: []string{"/nonexistent/ramp-test-app"},
		},
		{name: "unterminated quote", p: p, a: providers.Artifact{Image: `app "x`}, want: providers.ErrInvalid, contains: []string{"unterminated"}},
		{name: "bad env", p: p, a: providers.Artifact{Image: "app", Env: []string{"NOVALUE"}}, want: providers.ErrInvalid, contains: []string{"NOVALUE"}},
		{name: "bad revision name", p: p, a: providers.Artifact{Image: "app", Revision: "a/b"}, want: providers.ErrInvalid, contains: []string{"a/b"}},
	}
	for _, tt := range tests { // one agent deploys one revision at a time
		_, err := tt.p.Deploy(t.Context(), tt.a)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Deploy() error = %v, want %v", tt.name, err, tt.want)
			continue
		}
		for _, s := range tt.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: Deploy() error = %v, want it to mention %q", tt.name, err, s)
			}
		}
		st, err := p.Status(t.Context())
		must(t, "status", err)
		if st.Candidate != nil || st.Stable != nil {
			t.Errorf("%s: after a failed deploy Status() = %+v, want no revisions", tt.name, st)
		}
	}
}

func TestDeployShiftPromoteErrors(t *testing.T) {
	t.Parallel()
	a, p := startAgent(t, testConfig(t))
	ctx := t.Context()
	c := &http.Client{Timeout: time.Minute}
	expectProxy := func(wantCode int, wantVer string) {
		t.Helper()
		code, ver, err := get(c, a.ProxyURL()+"/")
		if err != nil || code != wantCode || ver != wantVer {
			t.Fatalf("GET proxy = %d from %q (%v), want %d from %q", code, ver, err, wantCode, wantVer)
		}
	}
	expectErr := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s error = %v, want %v", what, err, want)
		}
	}
	expectProxy(http.StatusServiceUnavailable, "")
	must(t, "Rollback() with nothing deployed: nothing to do", rollback(ctx, p))
	expectErr("Promote() with nothing deployed", promote(ctx, p, 0), providers.ErrNoCandidate)
	expectErr("SetWeight(10) with nothing deployed", shift(ctx, p, 10), providers.ErrNoCandidate)
	expectErr("SetWeight(0) with nothing deployed", shift(ctx, p, 0), providers.ErrNoCandidate)

	first := mustDeploy(t, p, appArtifact("", "v1", 0))
	if first.ID != "rev-1" || !first.Ready || first.URL == "" {
		t.Fatalf("first Deploy() = %+v, want ready rev-1 with a URL", first)
	}
	if code, ver, err := get(c, first.URL+"/"); err != nil || code != http.StatusOK || ver != "v1" {
		t.Fatalf("GET revision URL = %d from %q (%v), want 200 from v1", code, ver, err)
	}
	expectProxy(http.StatusServiceUnavailable, "") // a first deploy takes no traffic
	expectErr("SetWeight(101)", shift(ctx, p, 101), providers.ErrInvalid)

	second := mustDeploy(t, p, appArtifact("", "v2", 0)) // replaces rev-1, which had no traffic
	if second.ID != "rev-2" {
		t.Fatalf("second Deploy() = %+v, want rev-2", second)
	}
	waitFor(t, time.Minute, "the replaced rev-1 to stop", func() bool { return refused(first.URL) })
	must(t, "SetWeight(100)", shift(ctx, p, 100))
	expectProxy(http.StatusOK, "v2")
	_, err := p.Deploy(ctx, appArtifact("", "v3", 0))
	expectErr("Deploy() while the candidate has traffic", err, providers.ErrConflict)

	must(t, "Promote()", promote(ctx, p, 0))
	st, err := p.Status(ctx)
	must(t, "Status()", err)
	want := providers.Status{URL: a.ProxyURL(), Stable: &providers.Revision{ID: "rev-2", Image: second.Image, URL: second.URL, Ready: true},
		Instances: &providers.Instances{Stable: 1}}
	if diff := cmp.Diff(want, st, cmpopts.IgnoreFields(providers.Status{}, "Rollout")); diff != "" {
		t.Errorf("Status() after promote mismatch (-want +got):\n%s", diff)
	}
	_, err = p.Deploy(ctx, appArtifact("rev-2", "v3", 0))
	expectErr("Deploy() reusing the stable revision's name", err, providers.ErrInvalid)
	expectProxy(http.StatusOK, "v2")
}

func TestKeepPreviousAndRollbackToIt(t *testing.T) {
	t.Parallel()
	a, p := startAgent(t, testConfig(t))
	ctx := t.Context()
	c := &http.Client{Timeout: time.Minute}
	v1 := mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote v1", promote(ctx, p, time.Hour)) // no stable yet: nothing to keep
	v2 := mustDeploy(t, p, appArtifact("v2", "v2", 0))
	must(t, "shift", shift(ctx, p, 100))
	before := time.Now()
	must(t, "promote v2", promote(ctx, p, time.Hour))
	st, err := p.Status(ctx)
	must(t, "status", err)
	if st.Stable == nil || st.Stable.ID != "v2" || st.Previous == nil || st.Previous.ID != "v1" || !st.Previous.Ready {
		t.Fatalf("Status() after promote = %+v, want stable v2 and a ready previous v1", st)
	}
	a.mu.Lock()
	until := a.previousUntil
	a.mu.Unlock()
	if until.Before(before.Add(time.Hour)) || until.After(time.Now().Add(time.Hour)) {
		t.Errorf("previous kept until %v, want an hour after the promotion", until)
	}
	if _, ver, _ := get(c, a.ProxyURL()+"/"); ver != "v2" {
		t.Fatalf("proxy answered from %q, want v2", ver)
	}

	must(t, "roll back to previous", rollback(ctx, p))
	if _, ver, _ := get(c, a.ProxyURL()+"/"); ver != "v1" {
		t.Fatalf("after rollback the proxy answered from %q, want v1", ver)
	}
	st, err = p.Status(ctx)
	must(t, "status", err)
	if st.Stable == nil || st.Stable.ID != "v1" || st.Candidate != nil || st.Previous != nil {
		t.Fatalf("Status() after rollback = %+v, want stable v1 only", st)
	}
	waitFor(t, time.Minute, "v2 to stop", func() bool { return refused(v2.URL) })
	rec, err := p.Status(ctx)
	must(t, "status", err)
	_, err = p.Apply(ctx, providers.Transition{Action: providers.ActionRevert, Revision: "v1", Record: rec.Rollout})
	if !errors.Is(err, providers.ErrNoCandidate) {
		t.Fatalf("second revert error = %v, want ErrNoCandidate (no previous kept)", err)
	}

	mustDeploy(t, p, appArtifact("v3", "v3", 0))
	must(t, "promote v3", promote(ctx, p, 200*time.Millisecond))
	waitFor(t, time.Minute, "the previous v1 to expire", func() bool {
		st, err := p.Status(ctx)
		return err == nil && st.Previous == nil
	})
	waitFor(t, time.Minute, "v1 to stop", func() bool { return refused(v1.URL) })
}

// TestStateSharedWithSecondClient plays a later process: a provider built
// afresh from the same configuration finds the agent through agent.json
// and sees the weight and the rollout record, which state.json also holds.
func TestStateSharedWithSecondClient(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	a, p1 := startAgent(t, cfg)
	ctx := t.Context()
	mustDeploy(t, p1, appArtifact("v1", "v1", 0))
	must(t, "promote", promote(ctx, p1, 0))
	mustDeploy(t, p1, appArtifact("v2", "v2", 0))
	must(t, "shift", shift(ctx, p1, 30))
	rec := providers.Rollout{
		ID: "ro-1", Phase: providers.PhasePaused, Strategy: "canary", Step: 2, Weight: 30, Stable: "v1", Candidate: "v2",
		Spec: json.RawMessage(`{"steps":[10,30,100]}`), StartedAt: time.Now().UTC().Truncate(time.Second),
	}
	cur, err := p1.Status(ctx)
	must(t, "status", err)
	rec.Version = cur.Rollout.Version
	must(t, "record", record(ctx, p1, rec))
	stale := rec // written from the version before: refused across the control API
	stale.Phase = providers.PhaseProgressing
	if err := record(ctx, p1, stale); !errors.Is(err, providers.ErrStale) {
		t.Errorf("Record from a stale version = %v, want ErrStale", err)
	}
	rec.Version++ // as the record now stands

	p2 := newProvider(t, cfg)
	st, err := p2.Status(ctx)
	must(t, "second client status", err)
	if st.Weight != 30 || st.Stable == nil || st.Stable.ID != "v1" || st.Candidate == nil || st.Candidate.ID != "v2" {
		t.Errorf("second client Status() = %+v, want v1 stable and v2 at 30%%", st)
	}
	if diff := cmp.Diff(rec, st.Rollout); diff != "" {
		t.Errorf("second client Rollout mismatch (-want +got):\n%s", diff)
	}
	saved, err := readState(cfg.StateDir)
	must(t, "read state.json", err)
	if saved.Weight != 30 || saved.Candidate == nil || saved.Candidate.ID != "v2" {
		t.Errorf("state.json = %+v, want v2 at 30%%", saved)
	}
	if diff := cmp.Diff(rec, saved.Rollout); diff != "" {
		t.Errorf("state.json rollout mismatch (-want +got):\n%s", diff)
	}

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(t, "close agent", a.Close(cctx))
	st, err = newProvider(t, cfg).Status(ctx) // no agent: the record from state.json, no revisions
	must(t, "status with no agent", err)
	if diff := cmp.Diff(providers.Status{Rollout: rec}, st); diff != "" {
		t.Errorf("Status() with no agent mismatch (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, agentFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("agent.json after Close: %v, want it removed", err)
	}
}

// crash stops a's servers as a killed agent would, leaving its revision
// processes running and its files in place.
func crash(a *Agent) {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closing = true
		if a.previousTimer != nil {
			a.previousTimer.Stop()
		}
		a.mu.Unlock()
		a.proxySrv.Close()
		a.controlSrv.Close()
		a.logFile.Close()
		close(a.closed)
	})
}

func TestAdoptRevisionsAfterAgentCrash(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	a1, p := startAgent(t, cfg)
	ctx := t.Context()
	v1 := mustDeploy(t, p, appArtifact("v1", "v1", 0))
	must(t, "promote", promote(ctx, p, 0))
	v2 := mustDeploy(t, p, appArtifact("v2", "v2", 0))
	must(t, "shift", shift(ctx, p, 100))
	crash(a1)

	a2, p2 := startAgent(t, cfg)
	st, err := p2.Status(ctx)
	must(t, "status", err)
	want := providers.Status{
		URL:       a2.ProxyURL(),
		Stable:    &providers.Revision{ID: "v1", Image: v1.Image, URL: v1.URL, Ready: true},
		Candidate: &providers.Revision{ID: "v2", Image: v2.Image, URL: v2.URL, Ready: true},
		Weight:    100,
		Instances: &providers.Instances{Stable: 1, Candidate: 1},
	}
	if diff := cmp.Diff(want, st, cmpopts.IgnoreFields(providers.Status{}, "Rollout")); diff != "" {
		t.Errorf("Status() from the new agent mismatch (-want +got):\n%s", diff)
	}
	if code, ver, err := get(&http.Client{Timeout: time.Minute}, a2.ProxyURL()+"/"); code != http.StatusOK || ver != "v2" {
		t.Errorf("new agent's proxy answered %d from %q (%v), want 200 from v2", code, ver, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(t, "close the new agent", a2.Close(cctx))
	for _, u := range []string{v1.URL, v2.URL} {
		waitFor(t, time.Minute, "adopted revision "+u+" to stop", func() bool { return refused(u) })
	}
}

func TestObserveThroughProxy(t *testing.T) {
	t.Parallel()
	a, p := startAgent(t, testConfig(t))
	ctx := t.Context()
	mustDeploy(t, p, appArtifact("flaky", "v1", 0.25))
	must(t, "shift", shift(ctx, p, 100))
	c := &http.Client{Timeout: time.Minute}
	fails := 0
	for range 200 {
		code, _, err := get(c, a.ProxyURL()+"/")
		must(t, "GET", err)
		if code == http.StatusInternalServerError {
			fails++
		}
	}
	now := time.Now()
	w := gates.Window{Start: now.Add(-time.Minute), End: now.Add(2 * time.Second)} // every finished second
	o, err := p.Observe(ctx, gates.CountQuery{Candidate: "flaky", Window: w})
	must(t, "observe", err)
	if o.Candidate.Requests != 200 || o.Candidate.Errors != int64(fails) {
		t.Errorf("Observe() = %d/%d errors, want %d/200", o.Candidate.Errors, o.Candidate.Requests, fails)
	}
	if p50, ok := o.Candidate.Latency.Estimate(0.5); !ok || p50 <= 0 || o.Candidate.Latency.Total != 200 {
		t.Errorf("Observe() latency p50 = %v (%v) over %d, want above 0 over 200", p50, ok, o.Candidate.Latency.Total)
	}
	if fails != 50 {
		t.Errorf("the app failed %d of 200 requests, want 50", fails)
	}
	if _, err := p.Observe(ctx, gates.CountQuery{Candidate: "flaky", Window: gates.Window{Start: now, End: now}}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("Observe(empty window) error = %v, want ErrInvalid", err)
	}
	if _, err := p.Observe(ctx, gates.CountQuery{Candidate: "ghost", Window: w}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Observe() of an unknown revision error = %v, want ErrNotFound", err)
	}
}
