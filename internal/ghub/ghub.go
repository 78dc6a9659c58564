// Package ghub reports rollouts to GitHub and takes commands from pull
// requests, through the go-github client.
//
// A Reporter is an engine.Sink: it turns a rollout's events into commit
// statuses on the deployed commit and into a GitHub deployment with its
// statuses, from a goroutine of its own so the engine never waits on GitHub.
// HandleComment acts on an issue_comment event carrying a `/ramp <verb>`
// command: it checks the commenter's permission, pins the pull request's
// head commit (or its merge commit, once merged), has an Executor carry the
// command out and replies.
//
// Several services may deploy to one environment (a monorepo): ramp's
// deployments carry the tool, the service and the rollout ID in their
// payload (and "deploy:<service>" as their task), and ramp only ever
// touches its own deployments of the same service. The previous deployment
// of the service is marked inactive once a rollout ends promoted (not at
// the promotion, as a bake or a rollback may still follow), and marked
// successful again if the rollout is rolled back after that.
//
// Reporting never breaks a deploy. When the token lacks a permission
// (GitHub answers 403 "Resource not accessible by integration", or 404) or
// the API is down, ghub warns once per capability, naming the permission the
// workflow must grant (`statuses: write`, `deployments: write`,
// `pull-requests: write`), stops using that capability and lets the rollout
// go on. Warnings and replies never carry the token.
package ghub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v75/github"
)

// DefaultTimeout bounds each GitHub API call when no timeout is set.
const DefaultTimeout = 5 * time.Second

// ClientTimeout bounds every request of the HTTP client NewClient makes
// when given none, as a backstop for calls made outside ghub's own
// per-call timeouts.
const ClientTimeout = 30 * time.Second

// maxDescription is GitHub's limit on a status description, in characters.
const maxDescription = 140

// NewClient returns a go-github client authenticated with token that talks
// to apiURL, the GITHUB_API_URL of the run: empty or https://api.github.com
// means github.com, anything else is a GitHub Enterprise Server (or
// data-residency) API root. hc may be nil: the client then gives up on any
// request after ClientTimeout.
func NewClient(hc *http.Client, token, apiURL string) (*github.Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: ClientTimeout}
	}
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	api := strings.TrimSuffix(apiURL, "/")
	if api == "" || api == "https://api.github.com" {
		return c, nil
	}
	ec, err := c.WithEnterpriseURLs(apiURL, apiURL)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
	}
	return ec, nil
}

// capability is one kind of GitHub write the token may or may not allow.
// Once a call fails for good the capability is off for the rest of the run,
// with one warning.
type capability struct {
	what string // "commit statuses"
	perm string // "statuses: write"

	mu  sync.Mutex
	off bool
}

// statusesCap is the capability of setting commit statuses.
func statusesCap() *capability {
	return &capability{what: "commit statuses", perm: "statuses: write"}
}

// deploymentsCap is the capability of creating deployments and statuses.
func deploymentsCap() *capability {
	return &capability{what: "deployments", perm: "deployments: write"}
}

// commentsCap is the capability of reacting to and replying on a PR.
func commentsCap() *capability {
	return &capability{what: "pull-request comments and reactions", perm: "pull-requests: write"}
}

// isOff reports whether the capability was turned off.
func (c *capability) isOff() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.off
}

// errCapabilityOff is returned for calls of a capability turned off.
var errCapabilityOff = errors.New("capability turned off after an earlier failure")

// caller makes API calls under a per-call timeout, retrying a transient
// failure once, and turns capabilities off when they fail.
type caller struct {
	timeout time.Duration
	delay   time.Duration // before the retry of a transient failure
	warn    func(string)
}

func newCaller(timeout time.Duration, warn func(string)) *caller {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if warn == nil {
		warn = func(string) {}
	}
	return &caller{timeout: timeout, delay: 500 * time.Millisecond, warn: warn}
}

// call runs fn for capability c; what names the call in a warning ("set
// the commit status"). A transient failure is tried once more. On failure
// the capability is turned off and the returned error wraps the cause.
func (k *caller) call(ctx context.Context, c *capability, what string, fn func(context.Context) error) error {
	return k.callN(ctx, c, what, 2, fn)
}

// callN is call with at most attempts tries (1 for a call that must not
// be repeated, like creating a deployment).
func (k *caller) callN(ctx context.Context, c *capability, what string, attempts int, fn func(context.Context) error) error {
	if c.isOff() {
		return errCapabilityOff
	}
	err := k.try(ctx, attempts, fn)
	if err == nil {
		return nil
	}
	c.mu.Lock()
	first := !c.off
	c.off = true
	c.mu.Unlock()
	if first && ctx.Err() == nil { // not when the caller gave up
		k.warn(offWarning(c, what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// try runs fn with the timeout, again after a transient failure, up to
// attempts times.
func (k *caller) try(ctx context.Context, attempts int, fn func(context.Context) error) error {
	var err error
	for attempt := range max(attempts, 1) {
		if attempt > 0 {
			t := time.NewTimer(k.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(err, ctx.Err())
			case <-t.C:
			}
		}
		cctx, cancel := context.WithTimeout(ctx, k.timeout)
		err = fn(cctx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// read runs a read fn with the timeout, again after a transient failure,
// outside any capability: its caller decides what a failure means.
func (k *caller) read(ctx context.Context, fn func(context.Context) error) error {
	return k.try(ctx, 2, fn)
}

// offWarning explains why capability c is now off.
func offWarning(c *capability, what string, err error) string {
	code, msg := httpStatus(err)
	var why string
	switch {
	case code == http.StatusForbidden || code == http.StatusNotFound:
		why = fmt.Sprintf("GitHub answered %d %s: the token needs `%s` (add it to the workflow's `permissions:`)", code, msg, c.perm)
	case code != 0 && !transient(err):
		why = fmt.Sprintf("GitHub answered %d %s", code, msg)
	default:
		why = fmt.Sprintf("the GitHub API is unavailable (%s)", describeErr(err))
	}
	return redact(fmt.Sprintf("GitHub %s are off for this run: could not %s: %s. The rollout goes on.", c.what, what, why))
}

// httpStatus returns the HTTP status and GitHub's message of an API error,
// or 0 when err carries no response.
func httpStatus(err error) (int, string) {
	if e, ok := errors.AsType[*github.ErrorResponse](err); ok && e.Response != nil {
		return e.Response.StatusCode, e.Message
	}
	if e, ok := errors.AsType[*github.RateLimitError](err); ok && e.Response != nil {
		return e.Response.StatusCode, "rate limit exceeded"
	}
	if e, ok := errors.AsType[*github.AbuseRateLimitError](err); ok && e.Response != nil {
		return e.Response.StatusCode, "secondary rate limit exceeded"
	}
	return 0, ""
}

// transient reports whether a failure may pass: the API is down, slow,
// unreachable or rate-limiting.
func transient(err error) bool {
	if _, ok := errors.AsType[*github.RateLimitError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*github.AbuseRateLimitError](err); ok {
		return true
	}
	code, _ := httpStatus(err)
	return code == 0 || code == http.StatusTooManyRequests || code >= 500
}

// describeErr says what went wrong without the request URL.
func describeErr(err error) string {
	if code, msg := httpStatus(err); code != 0 {
		return strings.TrimSpace(fmt.Sprintf("%d %s", code, msg))
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return err.Error()
}

// tokenPattern matches GitHub tokens and authorisation header values.
var tokenPattern = regexp.MustCompile(`(?i)(gh[pousr]_[A-Za-z0-9_]{8,}|github_pat_[A-Za-z0-9_]{8,}|(bearer|token|basic)\s+[A-Za-z0-9_.=:/+-]{8,})`)

// redact masks anything that looks like a GitHub token.
func redact(s string) string { return tokenPattern.ReplaceAllString(s, "***") }

// redactedError masks tokens in an error's text; it wraps the error.
type redactedError struct{ err error }

func (e redactedError) Error() string { return redact(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// redactErr wraps err so that its text shows no token; nil stays nil.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{err}
}

// clip cuts s to at most n characters, marking the cut with an ellipsis.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// code renders untrusted text as a Markdown code span on one line.
func code(s string) string { return codeN(s, 100) }

// codeN is code for text of up to n characters.
func codeN(s string, n int) string {
	return "`" + strings.NewReplacer("`", "'", "\r", " ", "\n", " ").Replace(clip(s, n)) + "`"
}

// short abbreviates a commit SHA.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
