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
