package ghub

import (
	"errors"
	"testing"

	"github.com/ramp-deploy/ramp/providers"
)

// localErr is what the local provider says when it cannot reach its agent:
// a state directory, a pid and loopback addresses.
const localErr = `read the rollout of "web": reach the local agent at 127.0.0.1:43121 (pid 4242, from ` +
	`/home/runner/work/shop/shop/.ramp/local/web/agent.json): Get "http://127.0.0.1:43121/v1/ping": dial tcp 127.0.0.1:43121: connect: connection refused`

// localSummary is `ramp status` of a local service driven by a process.
const localSummary = "```\nservice    web http://127.0.0.1:8080\nstable     v1 (http://127.0.0.1:41001)\n" +
	"driven by  pid 4242 on fv-az123-456, lease until 2026-01-01T00:00:00Z (live)\n```\n\n" +
	"**Links:** [service](http://[::1]:8080/) · [docs](https://web-abc123-ew.a.run.app/)"

// TestCommentScope checks which services a command may name and that a
// reply shows no file path, process ID or local address, whatever the
// Executor or an error says.
func TestCommentScope(t *testing.T) {
	t.Parallel()
	cases := []commentCase{{
		name: "a service the workflow does not manage", fixture: "writer-rollback.json", body: "/ramp status other-svc", role: "write",
		want: Outcome{Disposition: Refused, Reason: "`other-svc` is not a service this workflow manages; " +
			"commands may name `web`, `api` (the input `services` lists the services they may name)"},
		reactions: []string{"eyes", "-1"},
		calls:     []string{reaction, permission, reaction, reply},
		reply:     []string{"👎 `/ramp status other-svc` from @alice was refused: `other-svc` is not a service this workflow manages"},
		edit:      func(o *CommentOptions) { o.Services = []string{"api"} },
	}, {
		name: "a service listed in services", fixture: "writer-rollback.json", body: "/ramp status api", role: "write",
		executor:  script{before: RolloutInfo{Service: "api", Phase: providers.PhasePaused, Weight: 5}},
		want:      Outcome{Disposition: Done},
		reactions: []string{"eyes", "rocket"},
		execCalls: []string{"rollout api"},
		reply:     []string{"🚀 `/ramp status api` from @alice: done.", "**State of `api`:** paused · 5% to the candidate"},
		edit:      func(o *CommentOptions) { o.Services = []string{"api", "worker"} },
	}, {
		name: "a failure naming a path, a pid and addresses", fixture: "writer-rollback.json", role: "write",
		executor:  script{runErr: errors.New(localErr)},
		want:      Outcome{Disposition: Failed, Reason: "could not roll back"},
		reactions: []string{"eyes", "-1"},
		execCalls: []string{"rollout web", "run rollback web at def5678 by alice"},
		reply: []string{"failed: could not roll back.", "**Error:** `rollback: read the rollout of \"web\": reach the local agent at " +
			"a local address (a process, from a path): Get \"a local address\": dial tcp a local address: connect: connection refused`",
			"[Workflow run](https://github.com/acme/shop/actions/runs/77)"},
		absent: []string{"127.0.0.1", "4242", "/home/runner", "agent.json", "43121"},
		err:    "pid 4242", // the error itself, for the log, keeps them
	}, {
		name: "a status naming addresses and a lease holder", fixture: "writer-rollback.json", body: "/ramp status", role: "write",
		executor:  script{before: RolloutInfo{Service: "web", Phase: providers.PhaseProgressing, Weight: 10, Summary: localSummary}},
		want:      Outcome{Disposition: Done},
		reactions: []string{"eyes", "rocket"},
		execCalls: []string{"rollout web"},
		reply: []string{"service    web a local address\nstable     v1 (a local address)\ndriven by  a process, lease until",
			"**Links:** service (a local address) · [docs](https://web-abc123-ew.a.run.app/)"},
		absent: []string{"127.0.0.1", "::1", "4242", "fv-az123", "8080", "41001"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCommentCase(t, tc)
		})
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"agent at 127.0.0.1:8080 answered", "agent at a local address answered"},
		{"dial tcp [::1]:9000: refused", "dial tcp a local address: refused"},
		{"Get http://localhost:3000/healthz: EOF", "Get a local address: EOF"},
		{"see [the service](http://10.0.0.7:8080/) now", "see the service (a local address) now"},
		{"on localhost:5000", "on a local address"},
		{"(pid 4242, from /var/lib/ramp/web/agent.json)", "(a process, from a path)"},
		{"driven by pid 77 on runner-7, lease", "driven by a process, lease"},
		{"open C:\\ramp\\state\\agent.json: denied", "open a path: denied"},
		{"state-dir=/home/me/.ramp/web", "state-dir=a path"},
		// What stays: public URLs, commands, health paths, versions, SHAs.
		{"[run](https://github.com/acme/shop/actions/runs/77)", "[run](https://github.com/acme/shop/actions/runs/77)"},
		{"probe GET https://web-abc-ew.a.run.app/healthz expect 200", "probe GET https://web-abc-ew.a.run.app/healthz expect 200"},
		{"type `/ramp status web` at /healthz", "type `/ramp status web` at /healthz"},
		{"ramp v1.24.1 deployed def5678 at 50%", "ramp v1.24.1 deployed def5678 at 50%"},
		{"| 1 | shift to 50% | 50% |", "| 1 | shift to 50% | 50% |"},
	}
	for _, c := range cases {
		if got := scrub(c.in); got != c.want {
			t.Errorf("scrub(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
