// Package ghubtest is a stateful fake of the parts of the GitHub REST API
// that ramp uses: commit statuses, deployments and their statuses,
// pull-request comments and reactions, collaborator permissions and pull
// requests. It serves them over HTTP on the loopback interface, under
// /api/v3 like GitHub Enterprise Server, so that the real go-github client
// (and the ramp binary, through GITHUB_API_URL) can talk to it.
//
// The fake is strict: it answers like GitHub does to what GitHub rejects
// (an unknown state, a description over 140 characters, a missing field, a
// wrong token, an unknown repository, comment or pull request), it records
// every call, and it can fail whole endpoint families, e.g. with 403
// "Resource not accessible by integration" for a token that lacks
// `statuses: write`, or with 503 for an outage.
//
// A Fake is safe for concurrent use; it stops when its test ends.
package ghubtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v75/github"
)

// Token is the token the fake accepts (in an "Authorization: Bearer" or
// "token" header). It looks like a GitHub Actions installation token, so
// that redaction can be tested against it; it must never show up in
// anything ramp prints or sends.
const Token = "ghs_S3cr3tT0kenThatMustNeverLeak0123456789"

// Repo is the only repository the fake serves unless SetRepo says
// otherwise; every other one answers 404.
const Repo = "acme/shop"

// Endpoint families, the third segment of /repos/{owner}/{repo}/<family>/...,
// for Fail. Comments and reactions are both "issues".
const (
	FamilyStatuses      = "statuses"
	FamilyDeployments   = "deployments"
	FamilyIssues        = "issues"
	FamilyCollaborators = "collaborators"
	FamilyPulls         = "pulls"
	// AllFamilies fails every endpoint.
	AllFamilies = "*"
)

// Roles a collaborator may have, for SetPermission.
const (
	RoleAdmin    = "admin"
	RoleMaintain = "maintain"
	RoleWrite    = "write"
	RoleTriage   = "triage"
	RoleRead     = "read"
	RoleNone     = "none"
)

// The messages of GitHub's failures.
const (
	// NotAccessible is GitHub's message when the token lacks a permission.
	NotAccessible = "Resource not accessible by integration"
	// NotFound is GitHub's message for something that does not exist, or
	// that the token may not see.
	NotFound = "Not Found"
	// BadCredentials is GitHub's message for a wrong token.
	BadCredentials = "Bad credentials"
	// ValidationFailed is GitHub's message for a rejected request body.
	ValidationFailed = "Validation Failed"
)

// GitHub's limits the fake enforces.
const (
	// MaxDescription is the longest commit status or deployment status
	// description, in characters.
	MaxDescription = 140
	// MaxStatuses is the most statuses a commit may have per context.
	MaxStatuses = 1000
	// MaxCommentBody is the longest comment body, in characters.
	MaxCommentBody = 65536
)

// Status is a commit status as recorded.
type Status struct {
	SHA, State, Context, Description, TargetURL string
}

// Deployment is a deployment as recorded, with its statuses in creation
// order.
type Deployment struct {
	ID                           int64
	Ref, Task, Environment, Desc string
	AutoMerge                    *bool
	RequiredContexts             *[]string
	Payload                      map[string]any
	Statuses                     []DeploymentStatus
}

// deployment is a Deployment and what the fake knows of its environment.
type deployment struct {
	Deployment
	production, transient bool
}

// DeploymentStatus is a deployment status as recorded.
type DeploymentStatus struct {
	State, Description, LogURL, EnvironmentURL string
}

// Comment is an issue or pull-request comment created through the API.
type Comment struct {
	ID    int64
	Issue int
	User  string // the token's user: github-actions[bot]
	Body  string
}

// Reaction is a reaction to a comment.
type Reaction struct {
	Comment int64
	Content string
}

// State is what the fake recorded; Snapshot returns a copy.
type State struct {
	// Calls lists every request as "METHOD /path?query", the path without
	// the /api/v3 prefix, in the order they came in, failed ones too.
	Calls       []string
	Statuses    []Status
	Deployments []Deployment // seeded ones too, in creation order
	Comments    []Comment    // created through the API; seeded ones are not listed
	Reactions   []Reaction
	// Unauthed counts the requests without the expected token (answered
	// 401).
	Unauthed int
}

// CallsPerFamily counts the calls per endpoint family.
func (s State) CallsPerFamily() map[string]int {
	n := map[string]int{}
	for _, c := range s.Calls {
		_, path, _ := strings.Cut(c, " ")
		path, _, _ = strings.Cut(path, "?")
		n[Family(path)]++
	}
	return n
}

// String lists the calls, for test failures.
func (s State) String() string {
	return fmt.Sprintf("%d calls:\n%s", len(s.Calls), strings.Join(s.Calls, "\n"))
}

// pull is a pull request as the fake serves it.
type pull struct {
	Head        string // head commit SHA
	HeadRepo    string // owner/name the head branch lives in; empty: a deleted fork
	BaseRepo    string // owner/name of the base branch
	Merged      bool
	MergeCommit string // merge_commit_sha: the merge, squash or rebase commit, or the test merge of an open one
}

// Fake is the fake GitHub API. Create it with New.
type Fake struct {
	srv *httptest.Server

	mu          sync.Mutex
	repo        string
	calls       []string
	statuses    []Status
	deployments []*deployment
	comments    []Comment
	seeded      map[int64]Comment // seeded comments by ID
	reactions   []Reaction
	perms       map[string]string
	pulls       map[int]pull
	issues      map[int]bool
	fail        map[string]int
	echoAuth    bool
	unauthed    int
	nextID      int64 // the last deployment ID given
	seq         int64 // the last ID of anything else
}

// New starts a fake that serves Repo and accepts Token; it stops when the
// test ends.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{repo: Repo, perms: map[string]string{}, pulls: map[int]pull{}, issues: map[int]bool{},
		seeded: map[int64]Comment{}, fail: map[string]int{}, nextID: 1000, seq: 5000}
	mux := http.NewServeMux()
	routes := map[string]http.HandlerFunc{
		"POST /repos/{o}/{r}/statuses/{sha}":                 f.createStatus,
		"POST /repos/{o}/{r}/deployments":                    f.createDeployment,
		"GET /repos/{o}/{r}/deployments":                     f.listDeployments,
		"POST /repos/{o}/{r}/deployments/{id}/statuses":      f.createDeploymentStatus,
		"GET /repos/{o}/{r}/deployments/{id}/statuses":       f.listDeploymentStatuses,
		"POST /repos/{o}/{r}/issues/{n}/comments":            f.createComment,
		"POST /repos/{o}/{r}/issues/comments/{id}/reactions": f.createReaction,
		"GET /repos/{o}/{r}/collaborators/{user}/permission": f.permission,
		"GET /repos/{o}/{r}/pulls/{n}":                       f.getPull,
	}
	for pattern, h := range routes {
		mux.Handle(pattern, f.inRepo(h))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { notFound(w) })
	f.srv = httptest.NewServer(http.StripPrefix("/api/v3", f.middleware(mux)))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API root, as GITHUB_API_URL gives it on GitHub Enterprise
// Server: http://127.0.0.1:<port>/api/v3.
func (f *Fake) URL() string { return f.srv.URL + "/api/v3" }

// Token is the token the fake accepts.
func (f *Fake) Token() string { return Token }

// Client returns a go-github client authenticated with Token and pointed at
// the fake.
func (f *Fake) Client() *github.Client {
	c, err := github.NewClient(nil).WithAuthToken(Token).WithEnterpriseURLs(f.URL(), f.URL())
	if err != nil {
		panic(fmt.Sprintf("ghubtest: %v", err)) // the URL is always valid
	}
	return c
}

// SetRepo makes the fake serve the repository full ("owner/name") instead
// of Repo.
func (f *Fake) SetRepo(full string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repo = full
}

// SetPermission gives user a role (RoleAdmin ... RoleNone) on the
// repository; users not set have none.
func (f *Fake) SetPermission(user, role string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := rolePermissions[role]; !ok {
		panic(fmt.Sprintf("ghubtest: unknown role %q", role))
	}
	f.perms[user] = role
}

// SetPull makes pull request n exist with the given head commit, head
// repository and base repository ("owner/name"); an empty headRepo or
// baseRepo means Repo.
func (f *Fake) SetPull(n int, headSHA, headRepo, baseRepo string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if headRepo == "" {
		headRepo = f.repo
	}
	if baseRepo == "" {
		baseRepo = f.repo
	}
	f.pulls[n] = pull{Head: headSHA, HeadRepo: headRepo, BaseRepo: baseRepo}
	f.issues[n] = true
}

// SetMerged marks pull request n, which SetPull made, as merged (and
// closed) into mergeSHA, its merge_commit_sha: the merge, squash or last
// rebased commit on the base branch.
func (f *Fake) SetMerged(n int, mergeSHA string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pulls[n]
	if !ok {
		panic(fmt.Sprintf("ghubtest: SetMerged(%d) before SetPull", n))
	}
	p.Merged, p.MergeCommit = true, mergeSHA
	f.pulls[n] = p
}

// SetMergeCommit sets the merge_commit_sha of pull request n, which SetPull
// made, without merging it: on an open pull request GitHub reports there
// the test merge commit it made, which is on no branch.
func (f *Fake) SetMergeCommit(n int, sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pulls[n]
	if !ok {
		panic(fmt.Sprintf("ghubtest: SetMergeCommit(%d) before SetPull", n))
	}
	p.MergeCommit = sha
	f.pulls[n] = p
}

// SeedComment makes comment id by user exist on issue or pull request n,
// as the comment an issue_comment event carries, so that it can be
// reacted to. Seeded comments are not listed in State.Comments.
func (f *Fake) SeedComment(n int, id int64, user, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seeded[id] = Comment{ID: id, Issue: n, User: user, Body: body}
	f.issues[n] = true
}

// SeedDeployment adds an earlier deployment of ref to env, with task
// "deploy", no payload and statuses in the given states (described
// "seeded <state>"), and returns its ID.
func (f *Fake) SeedDeployment(env, ref string, states ...string) int64 {
	return f.SeedDeploymentWith(Deployment{Environment: env, Ref: ref}, states...)
}

// SeedDeploymentWith adds an earlier deployment like d (its Ref,
// Environment, Task and Payload; an empty Task is "deploy", an empty
// Environment "production"; the other fields are ignored), described
// "seeded", with statuses in the given states (described "seeded
// <state>"), and returns its ID.
func (f *Fake) SeedDeploymentWith(d Deployment, states ...string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	if d.Task == "" {
		d.Task = "deploy"
	}
	if d.Environment == "" {
		d.Environment = "production"
	}
	seeded := &deployment{Deployment: Deployment{ID: f.nextID, Ref: d.Ref, Task: d.Task, Environment: d.Environment,
		Desc: "seeded", Payload: d.Payload}, production: d.Environment == "production"}
	for _, s := range states {
		seeded.Statuses = append(seeded.Statuses, DeploymentStatus{State: s, Description: "seeded " + s})
	}
	f.deployments = append(f.deployments, seeded)
	return seeded.ID
}

// Fail makes every call to an endpoint family (FamilyStatuses, ...,
// AllFamilies) answer code: 403 and 404 as GitHub does for a token without
// the permission, 5xx as an outage. Code 0 clears the failure.
func (f *Fake) Fail(family string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == 0 {
		delete(f.fail, family)
		return
	}
	f.fail[family] = code
}

// Outage makes every endpoint answer 503 Service Unavailable.
func (f *Fake) Outage() { f.Fail(AllFamilies, http.StatusServiceUnavailable) }

// EchoAuth makes failures quote the request's Authorization header in
// their message, as a misbehaving proxy might, to test that the token is
// redacted from warnings.
func (f *Fake) EchoAuth(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.echoAuth = on
}

// Snapshot returns a copy of what the fake recorded.
func (f *Fake) Snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := State{Calls: slices.Clone(f.calls), Statuses: slices.Clone(f.statuses), Comments: slices.Clone(f.comments),
		Reactions: slices.Clone(f.reactions), Unauthed: f.unauthed}
	for _, d := range f.deployments {
		c := d.Deployment
		c.Statuses = slices.Clone(d.Statuses)
		s.Deployments = append(s.Deployments, c)
	}
	return s
}

// Family names the endpoint family of an API path: /repos/o/r/<family>/...
func Family(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 4 || parts[0] != "repos" {
		return ""
	}
	return parts[3]
}
