//go:build linux || darwin

package cli_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/ramp-deploy/ramp/internal/cli"
)

// deployOn runs a deploy of version as a separate process with its
// standard output (and error) on a pseudo-terminal when tty is set, else
// on pipes, and returns its exit code and everything it wrote.
func (s *service) deployOn(tty bool, version string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	args := []string{"deploy", "--revision=" + version, "--env=SAMPLE_VERSION=" + version, "--steps=50,100", "--interval=500ms"}
	cmd := exec.CommandContext(ctx, s.exe, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	for k, v := range s.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	if !tty {
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return cmd.ProcessState.ExitCode(), out.String() + errText(err)
	}
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		s.t.Fatalf("start the deploy on a pseudo-terminal: %v", err)
	}
	defer term.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&out, term) // ends with EIO once the deploy and its children closed the terminal
	}()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-ctx.Done():
		s.t.Fatalf("the pseudo-terminal was not closed within %s; read so far:\n%q", procTimeout, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String() + errText(err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "\n(" + err.Error() + ")"
}

// TestStatusLineOnATerminal: a deploy whose standard output is a terminal
// keeps a status line rewritten in place during its hold; piped, the same
// deploy writes plain lines without a control character.
func TestStatusLineOnATerminal(t *testing.T) {
	t.Parallel()
	s := newService(t)
	defer s.finish()

	code, out := s.deployOn(true, "v2")
	if code != cli.ExitOK {
		t.Fatalf("deploy on a terminal: exit %d, want %d:\n%q", code, cli.ExitOK, out)
	}
	// The line is erased and written again in place: a carriage return
	// and an erase-line sequence, then the step, its weight and countdowns.
	live := "\r\x1b[Kstep 2 of 3 · analyse at 50% · "
	if !strings.Contains(out, live) {
		t.Errorf("the terminal shows no status line %q:\n%q", live, out)
	}
	for _, want := range []string{"left in the hold", "next check in", "step 2/3 done in", "verdict: promoted"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, out)
		}
	}

	code, out = s.deployOn(false, "v3")
	if code != cli.ExitOK {
		t.Fatalf("piped deploy: exit %d, want %d:\n%s", code, cli.ExitOK, out)
	}
	if i := strings.IndexAny(out, "\r\x1b"); i >= 0 {
		t.Errorf("piped output has a control character at byte %d:\n%q", i, out)
	}
	for _, want := range []string{"step 2/3: analyse at 50% for 500ms", "verdict: promoted"} {
		if !strings.Contains(out, want) {
			t.Errorf("piped output lacks %q:\n%s", want, out)
		}
	}
}
