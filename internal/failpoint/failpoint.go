// Package failpoint lets end-to-end tests stop or slow a ramp process at a
// named point, the way a crash or a slow network would, without changing
// how ramp behaves otherwise. Points are armed by the RAMP_FAILPOINTS
// variable, read once:
//
//	RAMP_FAILPOINTS="local.apply.after=kill@3;local.apply.before=sleep(1s)"
//
// arms two points: the third time the process passes "local.apply.after" it
// kills itself (SIGKILL: no deferred cleanup runs, as with kill -9), and
// every pass of "local.apply.before" sleeps one second. An action without
// @n fires on every pass. With RAMP_FAILPOINTS unset, Hit does nothing.
//
// The action wait(path) holds the process at the point until a file exists
// at path (which must hold no ';' or '@'): a test creates it once it has
// done what must happen while the process is held, so that no test depends
// on how fast the machine runs.
package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// waitPoll spaces the looks of a wait action for its file.
const waitPoll = 10 * time.Millisecond

// point is one armed failpoint.
type point struct {
	action string        // "kill", "sleep" or "wait"
	delay  time.Duration // for sleep
	path   string        // for wait
	nth    int           // fire on this pass only; 0 fires on every pass
	passes int
}

var (
	once   sync.Once
	mu     sync.Mutex
	points map[string]*point
)

// Hit passes the failpoint called name, firing its action if armed.
func Hit(name string) {
	once.Do(func() { points = parse(os.Getenv("RAMP_FAILPOINTS")) })
	if len(points) == 0 {
		return
	}
	mu.Lock()
	p := points[name]
	fire := false
	if p != nil {
		p.passes++
		fire = p.nth == 0 || p.passes == p.nth
	}
	mu.Unlock()
	if !fire {
		return
	}
	switch p.action {
	case "kill":
		fmt.Fprintf(os.Stderr, "ramp: failpoint %s: killing the process\n", name)
		killSelf()
	case "sleep":
		time.Sleep(p.delay)
	case "wait":
		for {
			if _, err := os.Stat(p.path); err == nil {
				return
			}
			time.Sleep(waitPoll)
		}
	}
}

// parse reads "name=action[@n];..."; malformed entries are ignored, since
// a test that mistypes one sees its effect missing.
func parse(spec string) map[string]*point {
	out := map[string]*point{}
	for _, entry := range strings.Split(spec, ";") {
		name, action, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok {
			continue
		}
		p := &point{}
		if a, n, ok := strings.Cut(action, "@"); ok {
			p.nth, _ = strconv.Atoi(n)
			action = a
		}
		switch {
		case action == "kill":
			p.action = "kill"
		case strings.HasPrefix(action, "sleep(") && strings.HasSuffix(action, ")"):
			d, err := time.ParseDuration(strings.TrimSuffix(strings.TrimPrefix(action, "sleep("), ")"))
			if err != nil {
				continue
			}
			p.action, p.delay = "sleep", d
		case strings.HasPrefix(action, "wait(") && strings.HasSuffix(action, ")") && len(action) > len("wait()"):
			p.action, p.path = "wait", strings.TrimSuffix(strings.TrimPrefix(action, "wait("), ")")
		default:
			continue
		}
		out[name] = p
	}
	return out
}
