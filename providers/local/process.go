package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

const (
	// killWait bounds the wait for a killed process to be gone.
	killWait = 5 * time.Second
	// adoptedPoll is how often the agent checks that a process it adopted
	// from an earlier agent still runs.
	adoptedPoll = 250 * time.Millisecond
	// tailBytes bounds the log tail quoted in a not-ready error.
	tailBytes = 2048
	// healthTimeout bounds one health check.
	healthTimeout = 2 * time.Second
)

// process is one running revision process, started by this agent or
// adopted from an earlier one.
type process struct {
	pid     int
	exited  chan struct{} // closed once the process is gone
	exitErr error         // why it ended; set before exited is closed
}

// procSpec says how to start a revision process.
type procSpec struct {
	image   string
	dir     string
	env     []string
	port    int
	logPath string
}

// startProcess starts the revision's command with a clean environment
// (versionEnv, see env.go), its env and PORT, its output appended to the
// log file. It returns the process and the log offset its
// output starts at.
func startProcess(spec procSpec) (*process, int64, error) {
	argv, err := splitCommand(spec.image)
	if err != nil {
		return nil, 0, fmt.Errorf("start %q: %w: %w", spec.image, providers.ErrInvalid, err)
	}
	logf, err := os.OpenFile(spec.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open revision log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- ramp: %s starting %q on port %d\n", time.Now().Format(time.RFC3339), spec.image, spec.port)
	var offset int64
	if fi, err := logf.Stat(); err == nil {
		offset = fi.Size()
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = spec.dir
	cmd.Env = append(append(versionEnv(), spec.env...), "PORT="+strconv.Itoa(spec.port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %q: %w: %w", spec.image, providers.ErrNotReady, err)
	}
	p := &process{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		if p.exitErr == nil {
			p.exitErr = errors.New("exit status 0")
		}
		close(p.exited)
	}()
	return p, offset, nil
}

// adoptProcess watches a process an earlier agent started.
func adoptProcess(pid int) *process {
	p := &process{pid: pid, exited: make(chan struct{})}
	go func() {
		t := time.NewTicker(adoptedPoll)
		defer t.Stop()
		for range t.C {
			if !processAlive(pid) {
				p.exitErr = errors.New("the process is gone")
				close(p.exited)
				return
			}
		}
	}()
	return p
}

// alive reports whether the process still runs.
func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop asks the process to stop, waits up to grace, then kills it.
func (p *process) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	if gracefulStop && terminate(p.pid) == nil {
		t := time.NewTimer(grace)
		select {
		case <-p.exited:
			t.Stop()
			return nil
		case <-t.C:
		}
	}
	if err := kill(p.pid); err != nil && p.alive() {
		return fmt.Errorf("kill process %d: %w", p.pid, err)
	}
	t := time.NewTimer(killWait)
	defer t.Stop()
	select {
	case <-p.exited:
		return nil
	case <-t.C:
		return fmt.Errorf("stop process %d: still running %v after kill", p.pid, killWait)
	}
}

// checkHealth GETs url once and returns the status code.
func checkHealth(ctx context.Context, c *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("build health check: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitReady polls url until it answers 2xx, the process exits, timeout
// passes or ctx is done. A process that does not get ready is an error
// wrapping providers.ErrNotReady with the reason and the tail of its log.
func waitReady(ctx context.Context, c *http.Client, p *process, url string, timeout time.Duration, logPath string, logStart int64) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer yet"
	delay := 10 * time.Millisecond
	for {
		code, err := checkHealth(wctx, c, url)
		switch {
		case err == nil && code >= 200 && code < 300:
			return nil
		case err == nil:
			last = fmt.Sprintf("GET %s answered %d %s", url, code, http.StatusText(code))
		case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
			last = fmt.Sprintf("GET %s: %v", url, unwrapURLError(err))
		}
		t := time.NewTimer(delay)
		select {
		case <-p.exited:
			t.Stop()
			return fmt.Errorf("%w: the process exited (%v) before %s answered 2xx%s",
				providers.ErrNotReady, p.exitErr, url, logTail(logPath, logStart))
		case <-wctx.Done():
			t.Stop()
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("wait for readiness: %w", err)
			}
			return fmt.Errorf("%w: not ready after %v; last health check: %s%s",
				providers.ErrNotReady, timeout, last, logTail(logPath, logStart))
		case <-t.C:
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// unwrapURLError drops the method and URL a *url.Error repeats.
func unwrapURLError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return err
}

// logTail returns the end of the log written since offset, formatted to
// follow an error message, or "" if there is none.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	from := max(offset, fi.Size()-tailBytes)
	buf := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(buf, from)
	buf = buf[:n]
	if from > offset {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	text := strings.TrimSpace(string(buf))
	if text == "" {
		return ""
	}
	return "; output (" + path + "):\n" + text
}
