//go:build unix

package local

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadSample is how many requests the load tests send before and after
// the event they measure.
const loadSample = 1500

// loadSummary sums up a steadyLoad's requests around one instant.
type loadSummary struct {
	total, failed int
	failedAfter   int           // failed requests sent after the instant
	inflightAt    int           // requests sent before the instant, answered after it
	maxWaitAfter  time.Duration // longest wait of a request sent after the instant
	problems      []string      // the first few failures
}

// summarize sums up reqs around at; allowed are the versions that may answer.
func summarize(reqs []reqRecord, at time.Time, allowed []string) loadSummary {
	var s loadSummary
	for _, r := range reqs {
		s.total++
		after := r.start.After(at)
		if !after && r.end.After(at) {
			s.inflightAt++
		}
		if after {
			s.maxWaitAfter = max(s.maxWaitAfter, r.end.Sub(r.start))
		}
		if !r.failed(allowed) {
			continue
		}
		s.failed++
		if after {
			s.failedAfter++
		}
		if len(s.problems) < 5 {
			s.problems = append(s.problems, fmt.Sprintf("sent %v after the instant, ended %v after it: status %d from %q, %v %s %v",
				r.start.Sub(at).Round(time.Microsecond), r.end.Sub(at).Round(time.Microsecond), r.code, r.ver, r.err, r.local, r.reused))
		}
	}
	return s
}

// firstAnswer sends requests to url on new connections until one is
// answered 200 and returns how long after since that was.
func firstAnswer(t *testing.T, url string, since time.Time) time.Duration {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if code, _, err := get(c, url); err == nil && code == http.StatusOK {
			return time.Since(since)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the service did not answer within a minute of the kill")
	return 0
}

// TestAgentKilledUnderLoad kills the agent process (SIGKILL) while workers
// send requests through a 10% canary, and runs no ramp command: the
// supervisor starts another agent at once, which re-adopts the revisions
// and the split. It measures how soon the service answers again (the
// target is within a second; it is logged, not asserted, since a loaded
// machine may take longer) and checks that only requests in flight at the
// kill failed. It does not run in parallel, so that its numbers mean
// something.
func TestAgentKilledUnderLoad(t *testing.T) {
	const workers = 24
	cfg, p := spawnSupervised(t)
	url := canaryAt(t, p, 10)
	revs, victim := revisionPIDs(t, cfg), servingPID(t, cfg)
	l := startSteadyLoad(url, workers)
	defer l.halt()
	waitFor(t, time.Minute, "load to flow", func() bool { return l.done.Load() >= loadSample })

	kill := time.Now()
	must(t, "SIGKILL the agent", syscall.Kill(victim, syscall.SIGKILL))
	waitFor(t, time.Minute, "the killed agent to be gone", func() bool { return !processAlive(victim) })
	recovery := firstAnswer(t, url, kill)
	sentAtRecovery := l.done.Load()
	waitFor(t, time.Minute, "load after the restart", func() bool { return l.done.Load() >= sentAtRecovery+loadSample })
	s := summarize(l.halt(), kill, []string{"v1", "v2"})

	t.Logf("SIGKILL of agent pid %d under load: the service answered again %v after the kill; %d of %d requests failed, %d were in flight at the kill; %d failed that were sent after it; the longest wait of a request sent after the kill was %v",
		victim, recovery.Round(time.Millisecond), s.failed, s.total, s.inflightAt, s.failedAfter, s.maxWaitAfter.Round(time.Millisecond))
	if s.failedAfter > 0 || s.failed > s.inflightAt {
		t.Errorf("%d requests failed (%d sent after the kill), want at most the %d in flight at the kill and none sent after it: %q",
			s.failed, s.failedAfter, s.inflightAt, s.problems)
	}
	if now := servingPID(t, cfg); now == victim {
		t.Errorf("the killed agent pid %d still serves", victim)
	}
	checkSplit(t, cfg, p, 10, revs)
	wants := []string{"restarted 1 time(s)", fmt.Sprintf("agent pid %d was killed (signal: killed)", victim),
		"re-adopted revisions v1 (stable), v2 (candidate, 10% of the traffic)"}
	waitFor(t, time.Minute, "the restart warning", func() bool {
		st, err := p.Status(t.Context())
		return err == nil && slices.ContainsFunc(st.Warnings, func(w string) bool {
			return !slices.ContainsFunc(wants, func(s string) bool { return !strings.Contains(w, s) })
		})
	})
}

// TestUpgradeUnderLoad hands the sockets over to an agent run from a new
// executable while workers send requests through a 10% canary and another
// client reads the status: no request fails, and the new agent serves the
// same revisions and split.
func TestUpgradeUnderLoad(t *testing.T) {
	const workers = 24
	cfg, p := spawnSupervised(t)
	url := canaryAt(t, p, 10)
	revs, before := revisionPIDs(t, cfg), servingPID(t, cfg)
	next := copyExecutable(t)
	l := startSteadyLoad(url, workers)
	defer l.halt()
	waitFor(t, time.Minute, "load to flow", func() bool { return l.done.Load() >= loadSample })

	reader, stopReading, readErr := newProvider(t, cfg), make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-stopReading:
				return
			default:
			}
			if _, err := reader.Status(t.Context()); err != nil {
				readErr <- err
				return
			}
		}
	}()
	start := time.Now()
	res, err := p.Upgrade(t.Context(), next)
	took := time.Since(start)
	must(t, "upgrade", err)
	waitFor(t, time.Minute, "the old agent to exit", func() bool { return !processAlive(before) })
	drained := time.Since(start)
	sentAtUpgrade := l.done.Load()
	waitFor(t, time.Minute, "load after the upgrade", func() bool { return l.done.Load() >= sentAtUpgrade+loadSample })
	s := summarize(l.halt(), start, []string{"v1", "v2"})
	close(stopReading)
	if err := <-readErr; err != nil {
		t.Errorf("Status() during the upgrade: %v", err)
	}

	t.Logf("upgrade under load: agent pid %d -> %d in %v (old agent gone after %v); %d of %d requests failed, %d in flight when it started",
		res.From, res.To, took.Round(time.Millisecond), drained.Round(time.Millisecond), s.failed, s.total, s.inflightAt)
	if s.failed > 0 {
		t.Errorf("%d requests failed during the upgrade, want none: %q", s.failed, s.problems)
	}
	if res.From != before || res.To == before || res.To <= 0 || res.Executable != next {
		t.Errorf("Upgrade() = %+v, want from pid %d to another one running %s", res, before, next)
	}
	if now := servingPID(t, cfg); now != res.To {
		t.Errorf("agent pid %d serves after the upgrade, want %d", now, res.To)
	}
	checkSplit(t, cfg, p, 10, revs)
	rec, err := readSupervisorFile(cfg.StateDir)
	must(t, "read supervisor.json", err)
	if rec.Executable != next || rec.Upgrades != 1 || rec.Agent != res.To {
		t.Errorf("supervisor.json = %+v, want executable %s, 1 upgrade, agent pid %d", rec, next, res.To)
	}
	must(t, "shift after the upgrade", shift(t.Context(), p, 50))
	checkSplit(t, cfg, p, 50, revs)
}
