//go:build unix

package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// hostChild is one host process the supervisor started.
type hostChild struct {
	pid      int
	proc     *os.Process
	link     net.Conn
	exe      string
	started  time.Time
	ready    bool // it said it serves
	exiting  bool // it said it stops on its own
	timedOut bool // started by an upgrade, it did not serve in time
}

// hostEvent is a message from a host, with the files it carries, or, with
// exited set, its end.
type hostEvent struct {
	c      *hostChild
	msg    hostMsg
	files  []*os.File
	exited bool
	err    error
}

// spawn starts a host from exe on the supervisor's listeners, telling it
// which services to restore. Its messages and its end arrive on s.events.
func (s *hostSupervisor) spawn(exe string) (*hostChild, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("start the shared agent: %w", err)
	}
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, fmt.Errorf("start the shared agent: %w", err)
	}
	cmd := exec.Command(exe, HostCommand, "--state-dir="+s.dir)
	// A clean environment (see env.go) and the two variables a supervisor
	// passes on.
	cmd.Env = append(agentEnv(), envSupervisor+"="+strconv.Itoa(os.Getpid()), envToken+"="+s.token)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{theirs, s.control} // fdHostLink, fdHostControl
	start := hostStart{Services: []heldService{}, Upgrade: true}
	for _, k := range s.services {
		start.Services = append(start.Services, k.heldService)
		cmd.ExtraFiles = append(cmd.ExtraFiles, k.files...) // from fdHostFirst on
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start the shared agent %s: %w", exe, err)
	}
	c := &hostChild{pid: cmd.Process.Pid, proc: cmd.Process, link: conn, exe: exe, started: time.Now()}
	b, _ := json.Marshal(start)
	go func() { // a long list may not fit the socket's buffer before the host reads it
		conn.SetWriteDeadline(time.Now().Add(agentStartTimeout))
		if _, err := conn.Write(append(b, '\n')); err != nil {
			s.log.Printf("tell shared agent pid %d its services: %v; killing it", c.pid, err)
			cmd.Process.Kill()
		}
	}()
	read := make(chan struct{})
	go func() {
		defer close(read)
		r := &linkReader{conn: conn.(*net.UnixConn)}
		defer r.close()
		for {
			m, files, err := r.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					s.log.Printf("link to shared agent pid %d: %v", c.pid, err)
				}
				return
			}
			s.events <- hostEvent{c: c, msg: m, files: files}
		}
	}()
	go func() {
		err := cmd.Wait()
		select { // read what it said last; a process holding the link cannot stall this
		case <-read:
		case <-time.After(time.Second):
		}
		conn.Close()
		<-read
		s.events <- hostEvent{c: c, exited: true, err: err}
	}()
	return c, nil
}

// linkReader reads the host's messages on the supervisor's side, with the
// descriptors that come with them.
type linkReader struct {
	conn  *net.UnixConn
	buf   []byte
	files []*os.File // received, not yet claimed by a message
}

// next returns the next message and the files it carries.
func (r *linkReader) next() (hostMsg, []*os.File, error) {
	p := make([]byte, 32<<10)
	oob := make([]byte, syscall.CmsgSpace(64*4))
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			var m hostMsg
			err := json.Unmarshal(r.buf[:i], &m)
			r.buf = r.buf[i+1:]
			if err != nil {
				return m, nil, fmt.Errorf("read from the shared agent: %w", err)
			}
			if m.Files > len(r.files) {
				return m, nil, fmt.Errorf("read from the shared agent: %s of %s came with %d listeners, want %d", m.Op, m.Service, len(r.files), m.Files)
			}
			files := r.files[:m.Files:m.Files]
			r.files = r.files[m.Files:]
			return m, files, nil
		}
		n, oobn, _, _, err := r.conn.ReadMsgUnix(p, oob)
		if n > 0 { // on an error n may be negative
			r.buf = append(r.buf, p[:n]...)
		}
		if oobn > 0 {
			r.files = append(r.files, parseRights(oob[:oobn])...)
		}
		if err != nil {
			return hostMsg{}, nil, err
		}
	}
}

// close closes the files no message claimed.
func (r *linkReader) close() {
	for _, f := range r.files {
		f.Close()
	}
	r.files = nil
}

// parseRights returns the descriptors in the ancillary data b as files.
// Go's ReadMsgUnix makes them close-on-exec.
func parseRights(b []byte) []*os.File {
	msgs, err := syscall.ParseSocketControlMessage(b)
	if err != nil {
		return nil
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "listener-from-host"))
		}
	}
	return files
}

// closeAll closes files.
func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// hostLockName names the file in the host's directory that its supervisor
// holds locked (flock) while it runs.
const hostLockName = "host.lock"

// lockHostDir locks dir/host.lock, so that of the deploys that start a
// shared agent at once only one runs it: another waits until the one that
// holds the lock serves, then fails with providers.ErrConflict, after
// which its deploy finds that one through host.json and joins it. It also
// fails so if host.json names a shared agent that answers (one run without
// a supervisor, or whose supervisor is gone).
func lockHostDir(ctx context.Context, dir string) (*os.File, error) {
	path := filepath.Join(dir, hostLockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shared agent: %w", err)
	}
	deadline := time.Now().Add(agentStartTimeout)
	for {
		lerr := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err := refuseSecondHost(ctx, dir); err != nil {
			f.Close()
			return nil, err
		}
		switch {
		case lerr == nil:
			return f, nil
		case !errors.Is(lerr, syscall.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("shared agent: lock %s: %w", path, lerr)
		case time.Now().After(deadline):
			f.Close()
			return nil, fmt.Errorf("shared agent: another process holds %s but no shared agent answers for %s after %v: %w",
				path, dir, agentStartTimeout, providers.ErrConflict)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
