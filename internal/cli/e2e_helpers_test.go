//go:build unix

package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers"
)

// procTimeout bounds every ramp process and every wait of these tests: far
// more than any of them needs, even on a loaded machine, so a hang fails
// the test instead of the whole run.
const procTimeout = 2 * time.Minute

// service is one service under test with the local provider: its own state
// directory, proxy port and agent, the options every command shares, and a
// constant client load through its proxy from the first deploy on.
type service struct {
	t       *testing.T
	exe     string
	vars    map[string]string
	traffic *traffic
	began   time.Time
}

// newService deploys v1 of the sample app as the first (stable) version,
// in this process, so the agent is this test's child and has no failpoint
// armed, then starts the client load.
func newService(t *testing.T) *service {
	t.Helper()
	return newServiceWith(t, nil)
}

// newServiceWith is newService with extra variables for every command,
// the first deploy included (RAMP_METRICS_LISTEN, which the agent reads
// when it starts).
func newServiceWith(t *testing.T, extra map[string]string) *service {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, exe: exe, began: time.Now(), vars: map[string]string{
		"RAMP_PROVIDER": "local", "RAMP_SERVICE": "web", "RAMP_STATE_DIR": filepath.Join(t.TempDir(), "state"),
		"RAMP_LISTEN": freePort(t), "RAMP_INTERVAL": "200ms", "RAMP_MIN_REQUESTS": "0",
		"RAMP_IMAGE": fmt.Sprintf("'%s' sample-app", exe)}}
	maps.Copy(s.vars, extra)
	t.Cleanup(func() { // t.Context() is already done here
		if code, _, stderr := rampCtx(context.Background(), s.vars, "down"); code != 0 {
			t.Errorf("ramp down: exit %d: %s", code, stderr)
		}
	})
	s.must(cli.ExitOK, deployArgs("v1")...)
	s.traffic = startTraffic(t, "http://"+s.vars["RAMP_LISTEN"])
	return s
}

// deployArgs is a deploy of version (its revision and the version the
// sample app reports) with JSON output, then extra options.
func deployArgs(version string, extra ...string) []string {
	return append([]string{"deploy", "--revision=" + version, "--env=SAMPLE_VERSION=" + version, "--output=json"}, extra...)
}

// must runs one ramp command in this process and fails the test unless it
// exits with want; it returns stdout and stderr together.
func (s *service) must(want int, args ...string) string {
	s.t.Helper()
	code, out, stderr := ramp(s.t, s.vars, args...)
	if code != want {
		s.t.Fatalf("ramp %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, stderr)
	}
	return out + stderr
}

// finish stops the client load and requires that no request failed.
func (s *service) finish() {
	s.t.Helper()
	sent, failed, errs := s.traffic.stop()
	s.t.Logf("client load: %d requests sent through the proxy, %d failed, in %s", sent, failed, time.Since(s.began).Round(100*time.Millisecond))
	if sent == 0 {
		s.t.Error("the client load sent no request")
	}
	if failed > 0 {
		s.t.Errorf("%d of %d client requests failed; first: %s", failed, sent, strings.Join(errs, "; "))
	}
}

// proc is a ramp command running as a separate process, as another CI job
// would run it; its JSON lines are read as they come.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr bytes.Buffer // written by exec's copier; read after done
	done   chan struct{}
	ended  time.Time // when it ended; read after done

	mu    sync.Mutex
	lines []string
}

// start runs ramp args in a new process with the failpoints armed
// (RAMP_FAILPOINTS). It is killed at the end of the test if still running.
func (s *service) start(failpoints string, args ...string) *proc {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	cmd := exec.CommandContext(ctx, s.exe, args...)
	cmd.Env = append(os.Environ(), "RAMP_FAILPOINTS="+failpoints)
	for k, v := range s.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{t: s.t, name: "ramp " + args[0], cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		_ = cmd.Wait() // reaps it: a killed deploy's pid is gone, not a zombie
		p.ended = time.Now()
	}()
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// event is the part of a JSON Lines event these tests read.
type event struct {
	Type   string `json:"type"`
	Index  int    `json:"index"`
	Weight int    `json:"weight"`
	// Instances is a shifted event's instances of the candidate (rolling).
	Instances int `json:"instances"`
	// Step is the step of a step event, the step index of a pause.
	Step    json.RawMessage `json:"step"`
	Message string          `json:"message"`
	Result  struct {
		Outcome   string `json:"outcome"`
		Reason    string `json:"reason"`
		Stable    string `json:"stable"`
		Candidate string `json:"candidate"`
	} `json:"result"`
}

// events parses the JSON lines of out; other lines are skipped.
func events(out string) []event {
	var evs []event
	for line := range strings.Lines(out) {
		var ev event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Type != "" {
			evs = append(evs, ev)
		}
	}
	return evs
}

// waitFor waits until the process printed an event for which match is
// true and returns it; the test fails if the process ends first.
func (p *proc) waitFor(what string, match func(event) bool) event {
	p.t.Helper()
	timeout := time.After(procTimeout)
	for seen := 0; ; {
		ended := p.exited() // before reading: every line is in once it ended
		p.mu.Lock()
		lines := slices.Clone(p.lines[seen:])
		seen = len(p.lines)
		p.mu.Unlock()
		for _, ev := range events(strings.Join(lines, "\n")) {
			if match(ev) {
				return ev
			}
		}
		if ended {
			code, out := p.wait()
			p.t.Fatalf("%s ended (exit %d) before %s:\n%s", p.name, code, what, out)
		}
		select {
		case <-timeout:
			p.t.Fatalf("%s: no %s within %s", p.name, what, procTimeout)
		case <-p.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait waits for the process to end and returns its exit code (-1 when a
// signal ended it) and its output, stdout then stderr.
func (p *proc) wait() (int, string) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(procTimeout + 10*time.Second):
		p.t.Fatalf("%s did not end", p.name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.ProcessState.ExitCode(), strings.Join(p.lines, "\n") + "\n" + p.stderr.String()
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// mustBeKilled waits for the process and requires that its failpoint
// killed it (SIGKILL), with no chance to clean up.
func (p *proc) mustBeKilled(point string) {
	p.t.Helper()
	_, out := p.wait()
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL || !strings.Contains(out, "failpoint "+point+": killing the process") {
		p.t.Fatalf("%s was not killed at %s (%s):\n%s", p.name, point, p.cmd.ProcessState, out)
	}
}

// observed is what `ramp status` shows: its exit code, the status it
// prints as JSON, and the two lines of its text that state the weights.
type observed struct {
	code      int
	st        providers.Status
	text      string
	recWeight int // "rollout <id> <phase> at N%"
	weight    int // "weight N% to the candidate"
}

var (
	recordLine = regexp.MustCompile(`(?m)^rollout +\S+ \S+ at (\d+)%`)
	weightLine = regexp.MustCompile(`(?m)^weight +(\d+)% to the candidate`)
)

// status runs `ramp status` twice (text, then JSON) and requires both to
// agree on the exit code.
func (s *service) status() observed {
	s.t.Helper()
	code, text, _ := ramp(s.t, s.vars, "status")
	jcode, js, stderr := ramp(s.t, s.vars, "status", "--output=json")
	o := observed{code: code, text: text}
	if err := json.Unmarshal([]byte(js), &o.st); err != nil || jcode != code {
		s.t.Fatalf("status --output=json: exit %d (text: exit %d), %v:\n%s\n%s", jcode, code, err, js, stderr)
	}
	m, w := recordLine.FindStringSubmatch(text), weightLine.FindStringSubmatch(text)
	if m == nil || w == nil {
		s.t.Fatalf("status lacks the rollout or weight line:\n%s", text)
	}
	o.recWeight, _ = strconv.Atoi(m[1])
	o.weight, _ = strconv.Atoi(w[1])
	return o
}

// drifts lists the kinds of drift status found.
func (o observed) drifts() []string {
	var ks []string
	for _, d := range o.st.Drift {
		ks = append(ks, string(d.Kind))
	}
	return ks
}

// revID is the ID of r, or "" for none.
func revID(r *providers.Revision) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// mustAgree requires that the record and the platform tell the same story:
// in flight, the platform's candidate is the record's at the record's
// weight; promoted, the record's candidate is stable with no candidate
// left; rolled back, the record's stable revision serves alone and is not
// the one the record rolled back.
func (o observed) mustAgree(t *testing.T) {
	t.Helper()
	rec, cand, stable := o.st.Rollout, revID(o.st.Candidate), revID(o.st.Stable)
	if o.recWeight != rec.Weight || o.weight != o.st.Weight {
		t.Errorf("the text and JSON status disagree: record %d%%/%d%%, weight %d%%/%d%%", o.recWeight, rec.Weight, o.weight, o.st.Weight)
	}
	switch {
	case rec.Phase.InFlight():
		if cand != rec.Candidate || o.recWeight != o.weight {
			t.Errorf("record and split disagree: the record says %s at %d%%, the platform routes %d%% to %q:\n%s",
				rec.Candidate, o.recWeight, o.weight, cand, o.text)
		}
	case rec.Phase == providers.PhasePromoted:
		if cand != "" || stable != rec.Candidate {
			t.Errorf("the record says %s promoted; the platform has stable %q and candidate %q:\n%s", rec.Candidate, stable, cand, o.text)
		}
	case rec.Phase == providers.PhaseRolledBack:
		if cand != "" || stable != rec.Stable || rec.Candidate == stable {
			t.Errorf("the record says %s rolled back to %s; the platform has stable %q and candidate %q:\n%s",
				rec.Candidate, rec.Stable, stable, cand, o.text)
		}
	default:
		t.Errorf("unexpected phase %q:\n%s", rec.Phase, o.text)
	}
}
