// Package cli is ramp's command line: it reads the configuration (flags,
// RAMP_* variables, GitHub Action inputs), builds the provider, the gates and
// the reporters, runs a command and maps the outcome to an exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ramp-deploy/ramp/internal/actions"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/internal/input"
)

// Env is the process's surroundings, injected so tests never touch the real ones.
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// Dir is the working directory the configuration file (ramp.yaml) is
	// looked for in; "" is the process's.
	Dir string
}

// synced returns env with Stdout and Stderr safe for concurrent writes:
// reporters warn from goroutines of their own while the rollout prints.
func (e Env) synced() Env {
	mu := new(sync.Mutex)
	e.Stdout, e.Stderr = &lockedWriter{mu: mu, w: e.Stdout}, &lockedWriter{mu: mu, w: e.Stderr}
	return e
}

// lockedWriter serialises writes to w under a lock shared with its sibling.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// command is one subcommand.
type command struct {
	config.Command
	hidden bool
	run    func(ctx context.Context, a *app) error
}

// app is one invocation.
type app struct {
	env  Env
	vals config.Values
	cfg  config.Config
	// parseErr lists the inputs that did not parse; commands report it
	// together with their own checks.
	parseErr error
	// rt is the Actions runtime, made (and the secrets masked) once.
	rt *actions.Runtime
	// gh is the GitHub repository reported on, found (and a malformed one
	// warned about) once; see repo.
	gh *ghRepo
	// out is the run's output once made: a metric source's warnings go there.
	out *output
}

// checked returns the parse errors joined with errs, as an invalid-input
// error; a check of an input that did not parse is left out (input.Merge).
func (a *app) checked(errs ...error) error {
	if err := input.Merge(a.parseErr, errs...); err != nil {
		return withCode(ExitInvalid, a.vals.Locate(err))
	}
	return nil
}

var (
	allGroups     = []config.Group{config.GroupConfig, config.GroupTarget, config.GroupDeploy, config.GroupRollout, config.GroupGates, config.GroupMetrics, config.GroupRun, config.GroupReport}
	controlGroups = []config.Group{config.GroupConfig, config.GroupTarget, config.GroupRun, config.GroupReport}
	watchGroups   = []config.Group{config.GroupConfig, config.GroupTarget, config.GroupRollout, config.GroupGates, config.GroupMetrics, config.GroupRun, config.GroupReport}
	// resumeGroups are a control command's and the metrics source's: the
	// plan and gates come from the record, the source's settings (and
	// secrets), which the record does not keep, from this invocation.
	resumeGroups = []config.Group{config.GroupConfig, config.GroupTarget, config.GroupMetrics, config.GroupRun, config.GroupReport}
	// localGroups are those of the local provider's own commands; its
	// agent, started by ramp with every setting as a flag, reads no file.
	localGroups = []config.Group{config.GroupConfig, config.GroupTarget}
)

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{Command: config.Command{Name: "deploy", About: "Deploy a candidate beside the stable version and shift traffic to it step by step,\nchecking the gates; roll back on failure, promote when every step passes.", Groups: allGroups}, run: deploy},
		{Command: config.Command{Name: "plan", About: "Print the schedule, the time to full promotion and the worst-case time to\nrollback, and check the provider is reachable. Changes nothing.", Groups: allGroups}, run: plan},
		{Command: config.Command{Name: "validate", About: "Check the configuration without calling the provider.", Groups: allGroups}, run: validate},
		{Command: config.Command{Name: "status", About: "Show the service's revisions, traffic split and rollout.", Groups: controlGroups}, run: status},
		{Command: config.Command{Name: "repair", About: "Reconcile the rollout record with the platform: finish an interrupted transition,\nput back a split changed by hand, complete a record the platform shows finished,\nretire a candidate no record names. Prints what remains; exits 7 while drift remains.", Groups: controlGroups}, run: repair},
		{Command: config.Command{Name: "promote", About: "Promote the rollout in flight now, skipping its remaining steps.", Groups: controlGroups}, run: promote},
		{Command: config.Command{Name: "rollback", About: "Send all traffic back to the stable version; after a promotion, inside\nrollback-window, switch straight back to the previous version.", Groups: controlGroups}, run: rollback},
		{Command: config.Command{Name: "watch", About: "Check the version promoted last, while its previous version is still warm, against\nthe guardrails over the last watch-window; roll back to the previous version if one\nfails. Changes nothing otherwise: run it from a schedule instead of holding a job for the bake.", Groups: watchGroups}, run: watch},
		{Command: config.Command{Name: "pause", About: "Pause the rollout in flight at its current weight (the running deploy exits\nwith the paused code); resume or promote it later from any job.", Groups: controlGroups}, run: pause},
		{Command: config.Command{Name: "resume", About: "Continue a paused rollout from the step it stopped at.", Groups: resumeGroups}, run: resume},
		{Command: config.Command{Name: "comment", About: "Answer a pull request comment: /ramp promote|rollback|pause|resume|status [service]\n(the issue_comment event in GITHUB_EVENT_PATH); only users with write access may act.", Groups: allGroups}, run: comment},
		{Command: config.Command{Name: "post", About: "The GitHub Action's post step: finish a rollout the main step left mid-way\n(cancelled or killed) as on-cancel says, and complete the reports.", Groups: controlGroups}, run: post},
		{Command: config.Command{Name: "demo", About: "Run two canaries on this machine with the local provider and a sample app:\nv1 to v2 (promoted), then v2 to a faulty v3 (rolled back automatically).", Groups: []config.Group{config.GroupRun}}, run: demo},
		{Command: config.Command{Name: "down", About: "Stop the local provider's agent and every version it runs.", Groups: localGroups}, run: down},
		{Command: config.Command{Name: "local-upgrade", About: "Hand the local provider's sockets over to an agent run from this ramp binary,\nwith no request failing; the versions keep running.", Groups: localGroups}, run: localUpgrade},
		{Command: config.Command{Name: "local-agent", About: "Run the local provider's agent (started by ramp itself).", Groups: []config.Group{config.GroupTarget}}, hidden: true, run: localAgent},
		{Command: config.Command{Name: "local-host", About: "Run the local provider's shared agent for the services in --state-dir (started by ramp itself).", Groups: []config.Group{config.GroupTarget}}, hidden: true, run: localHost},
		{Command: config.Command{Name: "sample-app", About: "Run the demo's sample app (PORT, SAMPLE_VERSION, SAMPLE_FAIL_RATE)."}, hidden: true, run: sampleApp},
	}
}

// Run runs ramp with args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	env = env.synced()
	err := run(ctx, args, env)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(env.Stderr, "ramp: %s\n", indentJoined(err))
	}
	return Code(err)
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return withCode(ExitInvalid, errors.New("no command given"))
		}
		return nil
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(env.Stdout, "ramp", Version)
		return nil
	}
	i := slices.IndexFunc(commands(), func(c command) bool { return c.Name == args[0] })
	if i < 0 {
		return withCode(ExitInvalid, fmt.Errorf("unknown command %q; run ramp --help", args[0]))
	}
	cmd := commands()[i]
	vals, err := config.LoadIn(env.Dir, cmd.Command, args[1:], env.Getenv, env.Stdout)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	cfg, err := config.Parse(vals)
	// Parse errors are joined with the command's own checks, so every bad
	// input is listed at once.
	return cmd.run(ctx, &app{env: env, vals: vals, cfg: cfg, parseErr: err})
}

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

func usage(w io.Writer) {
	fmt.Fprint(w, "ramp ships a new version of a service with zero downtime: it deploys the\ncandidate beside the stable version, shifts traffic in steps, checks health\nbetween steps and rolls back on its own.\n\nUsage: ramp <command> [options]\n\nCommands:\n")
	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(w, "  %-13s %s\n", c.Name, strings.SplitN(c.About, "\n", 2)[0])
		}
	}
	fmt.Fprint(w, "\nEvery option is also read from RAMP_<NAME>, from GitHub Action inputs and\nfrom ramp.yaml (see --config).\nRun ramp <command> --help for its options and their defaults.\n\nExit codes: 0 promoted/ok, 1 error, 2 invalid input, 3 rolled back,\n4 provider error, 5 paused, 6 cancelled, 7 drift (status, repair).\n")
}

// indentJoined prints a joined error one problem per line.
func indentJoined(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "\n  ")
}
