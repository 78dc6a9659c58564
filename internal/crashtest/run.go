package crashtest

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/providers"
)

// Run runs the suite: each scenario once uninterrupted, to learn its calls,
// then every case the stop points and modes make (those Sample picks),
// Parallel at a time. It logs a summary and fails unless at least
// MinStopPoints distinct kill points were reached.
func Run(t *testing.T, s Suite) {
	t.Helper()
	if _, err := exec.LookPath("cat"); err != nil {
		t.Skipf("the suite's stand-in processes run cat: %v", err)
	}
	dead := deadHolder(t)
	st := newStats()
	focus, err := focusOn(os.Getenv("CRASHTEST_CASE"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	scenarios := s.Scenarios
	if scenarios == nil {
		scenarios = Scenarios
	}
	for _, sc := range scenarios {
		var calls []Call
		c := Case{Scenario: sc, Mode: Uninterrupted}
		t.Run(c.String(), func(t *testing.T) {
			s.within(t, func(t *testing.T) { calls = s.runCase(t, c, dead, st) })
		})
		if len(calls) == 0 {
			t.Fatalf("%s: the uninterrupted rollout made no call", sc.Name)
		}
		for _, c := range casesOf(sc, calls) {
			if (s.Sample == nil || s.Sample(c)) && (focus == nil || focus.MatchString(c.String())) {
				cases = append(cases, c)
			}
		}
	}
	sem := make(chan struct{}, max(s.Parallel, 1))
	var wg sync.WaitGroup
	for _, c := range cases {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t.Run(c.String(), func(t *testing.T) {
				s.within(t, func(t *testing.T) { s.runCase(t, c, dead, st) })
			})
		})
	}
	wg.Wait()
	st.report(t, s)
}

// casesOf lists the cases of sc's calls: before and after each provider
// call, before each tap, in every mode.
func casesOf(sc Scenario, calls []Call) []Case {
	var out []Case
	for i, c := range calls {
		whens := []When{Before, After}
		if c.Tap {
			whens = whens[:1]
		}
		for _, w := range whens {
			for _, m := range Modes {
				out = append(out, Case{Scenario: sc, Mode: m, K: i + 1, When: w, At: c.Name})
			}
		}
	}
	return out
}

// focusOn is the pattern of the cases to run, nil for all.
func focusOn(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("CRASHTEST_CASE: %w", err)
	}
	return re, nil
}

// hold waits until done is closed or the hold of call has passed.
func (s Suite) hold(call string, done <-chan struct{}) {
	d := s.CommandHold
	if d <= 0 {
		d = 2 * time.Second
	}
	if strings.HasPrefix(call, "Deploy") && s.DeployHold > 0 {
		d = s.DeployHold
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// within runs f in a synctest bubble when the suite asks for one.
func (s Suite) within(t *testing.T, f func(*testing.T)) {
	if s.Synctest {
		synctest.Test(t, f)
		return
	}
	f(t)
}

// deadHolder names a process of this host that has exited: the test binary
// run again to list no test. Its leases are dead (providers.Lease.Alive).
func deadHolder(t *testing.T) providers.Holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run a process to stand for a dead one: %v", err)
	}
	h := providers.Self()
	h.PID = cmd.Process.Pid
	l := providers.Lease{Holder: h, Until: time.Now().Add(time.Hour)}
	if alive, _ := l.Alive(time.Now()); alive {
		t.Skipf("this platform cannot tell that pid %d has exited; the suite needs it to tell a dead driver", h.PID)
	}
	return h
}

// finished is a process run of its own on the exited process dead: one
// that nobody sees while it runs (a killed deploy, since nothing runs
// beside it; another process's command, run while the deploy waits inside
// a call; each recovery command, run alone), and that is over once anyone
// looks, so its leases must read as dead.
func finished(dead providers.Holder) providers.Holder {
	dead.ID = rand.Text()[:12]
	return dead
}

// standIn starts a process of this host to stand for a deploy process that
// another process sees while it runs (a command arrives at its stop), so
// its leases name a live PID; exit ends it once the deploy returns, so
// from then on its leases read as dead, as a finished ramp process's do. It is `cat`
// reading a pipe only this test holds, so it never outlives the test.
func standIn(t *testing.T) (h providers.Holder, exit func()) {
	t.Helper()
	cmd := exec.Command("cat")
	w, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		t.Fatalf("start a process to stand for one of the case: %v", err)
	}
	h = providers.Self()
	h.PID = cmd.Process.Pid
	var once sync.Once
	exit = func() {
		once.Do(func() {
			w.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("the stand-in process %d: %v", h.PID, err)
			}
		})
	}
	t.Cleanup(exit)
	return h, exit
}

// engineFor is one process's engine over p, named h in leases.
func (s Suite) engineFor(svc *Service, p *Proc, h providers.Holder, j *journal, who string) *engine.Engine {
	var m gates.Metrics
	if svc.Metrics != nil {
		m = svc.Metrics(p.source())
	}
	return &engine.Engine{
		Provider:         p.Provider(),
		Service:          "web",
		Metrics:          m,
		Limits:           gates.Limits{Failures: 1, Errors: 3},
		ProgressDeadline: s.ProgressDeadline,
		RollbackWindow:   time.Hour,
		Retry:            engine.DefaultBackoff,
		Events:           j.sink(who),
		Holder:           h,
	}
}

// journal keeps what the processes of one case did, for the log of a
// failed case.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, fmt.Sprintf(format, args...))
}

// sink records the events that tell what a process decided.
func (j *journal) sink(who string) engine.Sink {
	return func(ev engine.Event) {
		switch ev := ev.(type) {
		case *engine.Warning:
			j.add("%s: warning: %s", who, ev.Message)
		case *engine.Finished:
			j.add("%s: finished %s: %s", who, ev.Result.Outcome, ev.Result.Reason)
		case *engine.Shifted, *engine.Promoted, *engine.RolledBack, *engine.Paused:
			j.add("%s: %s %+v", who, ev.Type(), ev)
		}
	}
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := ""
	for _, l := range j.lines {
		out += "\n  " + l
	}
	return out
}
