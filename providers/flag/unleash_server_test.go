//go:build unix

package flag

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// unleashAdminToken is the admin API token the test server is started with.
const unleashAdminToken = "*:*.ramp-test-admin-token"

// unleashStartTimeout bounds the server's first start, which runs
// Unleash's database migrations (about 50 s on two loaded cores).
const unleashStartTimeout = 5 * time.Minute

// unleashDir is where the npm package unleash-server is installed:
// RAMP_UNLEASH_DIR, or /opt/ramp-unleash where .ci/run installs it.
func unleashDir() string {
	if d := os.Getenv("RAMP_UNLEASH_DIR"); d != "" {
		return d
	}
	return "/opt/ramp-unleash"
}

// unleashTools finds node, the unleash-server package and PostgreSQL's
// initdb and postgres, or skips the test naming what is missing; in CI
// (CI set) anything missing fails it.
func unleashTools(t *testing.T) (node, dir, pgbin string) {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (Debian's nodejs, 20.x)")
	}
	dir = unleashDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "unleash-server", "package.json")); err != nil {
		missing = append(missing, fmt.Sprintf("unleash-server in %s/node_modules (npm install --prefix %s unleash-server@6.10.1; or set RAMP_UNLEASH_DIR)", dir, dir))
	}
	pgbin = postgresBin()
	if pgbin == "" {
		missing = append(missing, "PostgreSQL's initdb and postgres (Debian's postgresql)")
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and these are missing: %q; .ci/run installs them", missing)
		}
		t.Skipf("this test runs a real Unleash server, and these are missing: %q; run .ci/run, or install them", missing)
	}
	return node, dir, pgbin
}

// postgresBin is the directory holding initdb and postgres: the PATH's,
// or the newest of Debian's /usr/lib/postgresql/<version>/bin.
func postgresBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// unleashServer is an Unleash server this test started, over a
// PostgreSQL cluster of its own, both on loopback ports.
type unleashServer struct {
	url string
}

// startUnleash starts PostgreSQL and Unleash for the test and stops both
// at its end, showing their logs if it failed. PostgreSQL refuses to run
// as root: as root, both run as the postgres user (or nobody).
func startUnleash(t *testing.T) unleashServer {
	t.Helper()
	node, dir, pgbin := unleashTools(t)
	cred, err := unprivileged()
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "ramp-unleash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	data := filepath.Join(tmp, "data")
	if out, err := command(cred, filepath.Join(pgbin, "initdb"), "-D", data, "-U", "unleash", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pgPort := freePort(t)
	pg := start(t, "postgres", command(cred, filepath.Join(pgbin, "postgres"), "-D", data, "-p", strconv.Itoa(pgPort), "-k", tmp,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"))
	waitFor(t, pg, "postgres", func() bool { return pgReady(pgbin, pgPort) })
	port := freePort(t)
	script := fmt.Sprintf(`require(%q).start({db: {host: "127.0.0.1", port: %d, user: "unleash", password: "unused", database: "postgres", ssl: false},
server: {host: "127.0.0.1", port: %d}}).then(() => console.log("ramp: unleash started"), (e) => { console.error(e); process.exit(1); });`,
		filepath.Join(dir, "node_modules", "unleash-server"), pgPort, port)
	cmd := command(cred, node, "-e", script)
	cmd.Env = append(os.Environ(), "INIT_ADMIN_API_TOKENS="+unleashAdminToken, "UNLEASH_TELEMETRY_DISABLED=true", "CHECK_VERSION=false",
		"LOG_LEVEL=warn", "SEND_TELEMETRY=false", "HOME="+tmp)
	cmd.Dir = tmp
	srv := unleashServer{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	un := start(t, "unleash", cmd)
	waitFor(t, un, "unleash", func() bool { return srv.healthy() })
	t.Logf("PostgreSQL and Unleash started in %s", time.Since(began).Round(100*time.Millisecond))
	return srv
}

// unprivileged is the user PostgreSQL runs as when this process is root
// (postgres, else nobody); nil otherwise.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root, and neither user postgres nor nobody exists to run PostgreSQL as")
}

// command runs name as cred's user (nil: this process's), in a process
// group of its own so that stopping it stops its children.
func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	return cmd
}

// proc is a started server process.
type proc struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

// start starts cmd, stopping it (its process group, by its ID) when the
// test ends and showing its log if the test failed.
func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, log: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.log.String())
		}
	})
	return p
}

// waitFor polls ready until it holds, failing the test when the process
// exits first or the start timeout passes.
func waitFor(t *testing.T, p *proc, name string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(unleashStartTimeout)
	for !ready() {
		select {
		case <-p.done:
			t.Fatalf("%s exited while starting: %v\n%s", name, p.cmd.ProcessState, p.log.String())
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s:\n%s", name, unleashStartTimeout, p.log.String())
		}
	}
}

// pgReady reports whether PostgreSQL accepts connections: pg_isready
// where it is installed, else a TCP connection.
func pgReady(pgbin string, port int) bool {
	if isready := filepath.Join(pgbin, "pg_isready"); fileExists(isready) {
		return exec.Command(isready, "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port)).Run() == nil
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err == nil {
		_ = c.Close()
	}
	return err == nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// healthy reports whether Unleash answers its health check.
func (s unleashServer) healthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freePort is a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is a bytes.Buffer safe for a process's output and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
