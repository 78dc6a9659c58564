package cli

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/internal/ghub"
)

// Bounds on GitHub calls made in the command's own path.
const (
	// flushTimeout bounds the wait for the last GitHub reports before exit.
	flushTimeout = 15 * time.Second
	// cancelFlushTimeout replaces it when the run was cancelled.
	cancelFlushTimeout = 3 * time.Second
	// findTimeout bounds the search for the deployment to report on.
	findTimeout = 5 * time.Second
)

// ghRepo is the GitHub repository reported on, found once per run.
type ghRepo struct {
	client      *github.Client
	owner, name string
	on          bool  // GitHub reporting is on
	err         error // GITHUB_API_URL is malformed
}

// repoPattern is a repository as GitHub names it: owner/name, the owner
// letters, digits, '-' and '_' (Enterprise Managed Users), the name
// letters, digits, '.', '-' and '_'.
var repoPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}/[A-Za-z0-9._-]{1,100}$`)

// validRepo reports whether full is owner/name as GitHub names it.
func validRepo(full string) bool {
	_, name, _ := strings.Cut(full, "/")
	return repoPattern.MatchString(full) && name != "." && name != ".."
}

// repo returns the GitHub repository and a client for it, or on=false when
// GitHub reporting is off: no token, no GITHUB_REPOSITORY, or one that is
// not owner/name (some runners derive it from a local path), which it
// warns about once per run, since reporting must never break a deploy.
func (a *app) repo() (c *github.Client, owner, name string, on bool, err error) {
	if a.gh == nil {
		a.gh = a.findRepo()
	}
	return a.gh.client, a.gh.owner, a.gh.name, a.gh.on, a.gh.err
}

// findRepo works out what repo returns.
func (a *app) findRepo() *ghRepo {
	full := a.env.Getenv("GITHUB_REPOSITORY")
	if a.cfg.GitHub.Token == "" || full == "" {
		return &ghRepo{}
	}
	if !validRepo(full) {
		msg := fmt.Sprintf("GITHUB_REPOSITORY %q is not owner/name: GitHub reporting is off for this run", clip(full, 100))
		fmt.Fprintf(a.env.Stderr, "ramp: warning: %s\n", msg)
		a.runtime().Annotate("warning", "ramp", msg)
		return &ghRepo{}
	}
	owner, name, _ := strings.Cut(full, "/")
	c, err := ghub.NewClient(nil, a.cfg.GitHub.Token, a.env.Getenv("GITHUB_API_URL"))
	if err != nil {
		return &ghRepo{err: withCode(ExitInvalid, fmt.Errorf("GitHub API URL %q: %w", a.env.Getenv("GITHUB_API_URL"), err))}
	}
	return &ghRepo{client: c, owner: owner, name: name, on: true}
}

// clip cuts s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// attachGitHub adds the GitHub reporter (commit statuses on sha, a
// deployment) to the output when GitHub reporting is on. deployment names
// an existing deployment to report on; 0 creates one when the rollout starts.
func (o *output) attachGitHub(ctx context.Context, sha string, deployment int64) error {
	a := o.a
	c, owner, name, ok, err := a.repo()
	if err != nil || !ok || sha == "" {
		return err
	}
	if deployment == 0 && a.cfg.GitHub.Environment != "" && o.resumed {
		// Bounded: a hung GitHub API must never hold up a rollback.
		fctx, cancel := context.WithTimeout(ctx, findTimeout)
		deployment, _ = ghub.FindDeployment(fctx, c, owner, name, a.cfg.GitHub.Environment, sha, a.cfg.Target.Service)
		cancel()
	}
	r, err := ghub.New(ghub.Options{
		Client: c, Owner: owner, Repo: name, SHA: sha, Context: a.cfg.GitHub.StatusContext, Service: a.cfg.Target.Service,
		Environment: a.cfg.GitHub.Environment, DeploymentID: deployment, RunURL: runURL(a.env.Getenv),
		OnDeployment: func(id int64) {
			if err := o.rt.SaveState(map[string]string{"deployment": strconv.FormatInt(id, 10)}); err != nil {
				o.warn(err.Error())
			}
		},
		Warn: o.warn,
	})
	if err != nil {
		return fmt.Errorf("report to GitHub: %w", err)
	}
	o.extra = append(o.extra, r.Event)
	o.closers = append(o.closers, func() {
		timeout := flushTimeout
		if ctx.Err() != nil { // cancelled: the runner kills the step ~10 s after its signal
			timeout = cancelFlushTimeout
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			o.unsent = true
			o.warn(fmt.Sprintf("some GitHub reports were not sent: %v", err))
		}
	})
	o.rebuild()
	return nil
}

// warn reports a problem that does not stop the rollout: on stderr, and as
// a warning annotation on GitHub Actions.
func (o *output) warn(msg string) {
	fmt.Fprintf(o.a.env.Stderr, "ramp: warning: %s\n", msg)
	o.rt.Annotate("warning", "ramp", msg)
}

// stateDeployment is the deployment the main step created, for the post step.
func (a *app) stateDeployment() int64 {
	id, _ := strconv.ParseInt(a.env.Getenv("STATE_deployment"), 10, 64)
	return id
}
