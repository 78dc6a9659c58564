//go:build unix

package local

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestRestartDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		quick int
		want  time.Duration
	}{
		{0, 0}, {1, 0}, {2, 100 * time.Millisecond}, {3, 200 * time.Millisecond},
		{7, 3200 * time.Millisecond}, {8, maxRestartDelay}, {100, maxRestartDelay},
	}
	for _, tt := range tests {
		if got := restartDelay(tt.quick); got != tt.want {
			t.Errorf("restartDelay(%d) = %v, want %v", tt.quick, got, tt.want)
		}
	}
}

// TestRestartPolicy follows a supervisor's count through deaths: a long
// life resets the backoff, a serving agent resets the give-up count, and
// the fifth agent in a row that never served makes it give up.
func TestRestartPolicy(t *testing.T) {
	t.Parallel()
	var p restartPolicy
	var rec supervisorFile
	long, now := time.Now().Add(-time.Hour), time.Now()
	step := func(what string, ready bool, started time.Time, wantDelay time.Duration) {
		t.Helper()
		p.died(&rec, what, ready, started)
		d, err := p.nextStart(&rec, "agents")
		if err != nil || d != wantDelay {
			t.Fatalf("after %s: next start in %v (%v), want %v", what, d, err, wantDelay)
		}
	}
	p.serving()
	step("a death after an hour", true, long, 0)
	step("a quick death", true, now, 0)
	step("a second quick death", true, now, 100*time.Millisecond)
	step("a death after an hour again", true, long, 0)
	for i := range maxUnready - 1 {
		step("a death before serving", false, now, restartDelay(i+1))
	}
	p.startFailed()
	if _, err := p.nextStart(&rec, "agents"); err == nil || rec.Stopped != err.Error() || rec.Restarts != 4+maxUnready-1 ||
		rec.LastReason != "a death before serving" {
		t.Fatalf("after %d agents in a row never served: %v, record %+v; want it to give up, saying so in the record", maxUnready, err, rec)
	}
	p.serving()
	if d, err := p.nextStart(&rec, "agents"); err != nil || !p.served {
		t.Errorf("after an agent served again: next start in %v (%v), want no give-up", d, err)
	}
}

func TestExitReason(t *testing.T) {
	t.Parallel()
	killed := exec.Command("sleep", "60")
	must(t, "start a process", killed.Start())
	must(t, "kill it", killed.Process.Signal(syscall.SIGKILL))
	killedErr := killed.Wait()
	exited := exec.Command(os.Args[0], "-test.run=^$")
	exited.Env = append(os.Environ(), "RAMP_LOCAL_TEST_APP=exit")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"killed", killedErr, "was killed (signal: killed)"},
		{"exited", exited.Run(), "exited (exit status 3)"},
		{"clean exit", nil, "exited (exit status 0)"},
		{"wait failed", os.ErrProcessDone, "ended (os: process already finished)"},
	}
	for _, tt := range tests {
		if got := exitReason(tt.err); got != tt.want {
			t.Errorf("%s: exitReason(%v) = %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}
