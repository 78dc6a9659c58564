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
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

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

// middleware records the call, checks the token and applies the failures
// asked for.
func (f *Fake) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		call := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			call += "?" + r.URL.RawQuery
		}
		f.calls = append(f.calls, call)
		auth := r.Header.Get("Authorization")
		authed := auth == "Bearer "+Token || auth == "token "+Token
		if !authed {
			f.unauthed++
		}
		code, failing := f.fail[Family(r.URL.Path)]
		if !failing {
			code, failing = f.fail[AllFamilies]
		}
		echo := f.echoAuth
		f.mu.Unlock()
		switch {
		case !authed && auth == "":
			writeError(w, http.StatusUnauthorized, "Requires authentication")
		case !authed:
			writeError(w, http.StatusUnauthorized, BadCredentials)
		case failing:
			msg := http.StatusText(code)
			switch code {
			case http.StatusForbidden:
				msg = NotAccessible
			case http.StatusNotFound:
				msg = NotFound
			}
			if echo {
				msg += " (you sent " + auth + ")"
			}
			writeError(w, code, msg)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// inRepo answers 404 for any repository but the one served.
func (f *Fake) inRepo(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		repo := f.repo
		f.mu.Unlock()
		if !strings.EqualFold(r.PathValue("o")+"/"+r.PathValue("r"), repo) {
			notFound(w)
			return
		}
		h(w, r)
	})
}

const docs = "https://docs.github.com/rest"

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": docs})
}

func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound, NotFound) }

// invalid answers 422 Validation Failed with one error, as GitHub does.
func invalid(w http.ResponseWriter, resource, field, code, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           ValidationFailed,
		"errors":            []map[string]string{{"resource": resource, "field": field, "code": code, "message": msg}},
		"documentation_url": docs,
	})
}

// decode reads a JSON object body, answering 400 as GitHub does when it is
// not one.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// tooLong reports whether s has more than n characters.
func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

var shaPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// validURL reports whether s is empty or an absolute http(s) URL.
func validURL(s string) bool {
	return s == "" || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

var commitStates = []string{"error", "failure", "pending", "success"}

func (f *Fake) createStatus(w http.ResponseWriter, r *http.Request) {
	var s github.RepoStatus
	if !decode(w, r, &s) {
		return
	}
	sha := r.PathValue("sha")
	switch {
	case !shaPattern.MatchString(sha):
		invalid(w, "Status", "sha", "custom", "No commit found for SHA: "+sha)
		return
	case s.State == nil:
		invalid(w, "Status", "state", "missing_field", "state is missing")
		return
	case !slices.Contains(commitStates, s.GetState()):
		invalid(w, "Status", "state", "invalid", fmt.Sprintf("state is not included in the list: %q", s.GetState()))
		return
	case tooLong(s.GetDescription(), MaxDescription):
		invalid(w, "Status", "description", "custom", "description is too long (maximum is 140 characters)")
		return
	case !validURL(s.GetTargetURL()):
		invalid(w, "Status", "target_url", "custom", "target_url must use http(s) scheme")
		return
	}
	context := s.GetContext()
	if context == "" {
		context = "default"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, old := range f.statuses {
		if old.SHA == sha && old.Context == context {
			n++
		}
	}
	if n >= MaxStatuses {
		invalid(w, "Status", "", "custom", "This SHA and context has reached the maximum number of statuses.")
		return
	}
	f.statuses = append(f.statuses, Status{SHA: sha, State: s.GetState(), Context: context,
		Description: s.GetDescription(), TargetURL: s.GetTargetURL()})
	f.seq++
	s.ID, s.Context = github.Ptr(f.seq), github.Ptr(context)
	s.CreatedAt = &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
	writeJSON(w, http.StatusCreated, s)
}

func (f *Fake) createDeployment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		github.DeploymentRequest
		Payload json.RawMessage `json:"payload"`
	}
	if !decode(w, r, &req) {
		return
	}
	payload, ok := payloadOf(req.Payload)
	switch {
	case req.GetRef() == "":
		invalid(w, "Deployment", "ref", "missing_field", "ref is missing")
		return
	case !ok:
		invalid(w, "Deployment", "payload", "invalid", "payload must be a JSON object or a string holding one")
		return
	case req.Task != nil && req.GetTask() == "":
		invalid(w, "Deployment", "task", "invalid", "task can't be blank")
		return
	}
	env := req.GetEnvironment()
	if env == "" {
		env = "production"
	}
	task := req.GetTask()
	if task == "" {
		task = "deploy"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.RequiredContexts == nil { // GitHub checks every context on the ref
		for _, s := range f.latestStatuses(req.GetRef()) {
			if s.State != "success" {
				writeError(w, http.StatusConflict, fmt.Sprintf("Conflict: Commit status checks failed for %s.", req.GetRef()))
				return
			}
		}
	}
	f.nextID++
	d := &deployment{Deployment: Deployment{ID: f.nextID, Ref: req.GetRef(), Task: task, Environment: env,
		Desc: req.GetDescription(), AutoMerge: req.AutoMerge, RequiredContexts: req.RequiredContexts, Payload: payload},
		production: req.ProductionEnvironment == nil && env == "production" || req.GetProductionEnvironment(),
		transient:  req.GetTransientEnvironment()}
	f.deployments = append(f.deployments, d)
	writeJSON(w, http.StatusCreated, deploymentJSON(d))
}

// payloadOf reads a deployment payload: absent, an object, or a string
// holding a JSON object (or empty).
func payloadOf(raw json.RawMessage) (map[string]any, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		return m, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	if s == "" {
		return nil, true
	}
	return m, json.Unmarshal([]byte(s), &m) == nil
}

// latestStatuses returns the latest status of each context on sha.
func (f *Fake) latestStatuses(sha string) map[string]Status {
	latest := map[string]Status{}
	for _, s := range f.statuses {
		if s.SHA == sha {
			latest[s.Context] = s
		}
	}
	return latest
}

func deploymentJSON(d *deployment) *github.Deployment {
	gd := &github.Deployment{ID: github.Ptr(d.ID), SHA: github.Ptr(d.Ref), Ref: github.Ptr(d.Ref), Task: github.Ptr(d.Task),
		Environment: github.Ptr(d.Environment), Description: github.Ptr(d.Desc)}
	if d.Payload != nil {
		gd.Payload, _ = json.Marshal(d.Payload) // decoded from JSON: it encodes
	} else {
		gd.Payload = json.RawMessage(`{}`) // a deployment created without one
	}
	return gd
}

// page returns the part of n items that per_page and page ask for.
func page(q map[string][]string, n int) (from, to int) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	per, err := strconv.Atoi(get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	p, err := strconv.Atoi(get("page"))
	if err != nil || p <= 0 {
		p = 1
	}
	from = min((p-1)*per, n)
	return from, min(from+per, n)
}

func (f *Fake) listDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []*github.Deployment
	for _, d := range slices.Backward(f.deployments) { // newest first
		if (q.Get("environment") == "" || q.Get("environment") == d.Environment) &&
			(q.Get("sha") == "" || q.Get("sha") == d.Ref) && (q.Get("ref") == "" || q.Get("ref") == d.Ref) &&
			(q.Get("task") == "" || q.Get("task") == d.Task) {
			all = append(all, deploymentJSON(d))
		}
	}
	from, to := page(q, len(all))
	writeJSON(w, http.StatusOK, append([]*github.Deployment{}, all[from:to]...))
}

// deployment finds a deployment by the id in the path, or answers 404.
func (f *Fake) deployment(w http.ResponseWriter, r *http.Request) *deployment {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, d := range f.deployments {
		if d.ID == id {
			return d
		}
	}
	notFound(w)
	return nil
}

var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

func (f *Fake) createDeploymentStatus(w http.ResponseWriter, r *http.Request) {
	var s github.DeploymentStatusRequest
	if !decode(w, r, &s) {
		return
	}
	switch {
	case s.State == nil:
		invalid(w, "DeploymentStatus", "state", "missing_field", "state is missing")
		return
	case !slices.Contains(deploymentStates, s.GetState()):
		invalid(w, "DeploymentStatus", "state", "invalid", fmt.Sprintf("state is not included in the list: %q", s.GetState()))
		return
	case tooLong(s.GetDescription(), MaxDescription):
		invalid(w, "DeploymentStatus", "description", "custom", "description is too long (maximum is 140 characters)")
		return
	case !validURL(s.GetLogURL()) || !validURL(s.GetEnvironmentURL()):
		invalid(w, "DeploymentStatus", "environment_url", "custom", "URLs must use http(s) scheme")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.deployment(w, r)
	if d == nil {
		return
	}
	d.Statuses = append(d.Statuses, DeploymentStatus{State: s.GetState(), Description: s.GetDescription(),
		LogURL: s.GetLogURL(), EnvironmentURL: s.GetEnvironmentURL()})
	if s.GetState() == "success" && (s.AutoInactive == nil || s.GetAutoInactive()) {
		f.autoInactive(d)
	}
	f.seq++
	writeJSON(w, http.StatusCreated, &github.DeploymentStatus{ID: github.Ptr(f.seq), State: s.State,
		Description: s.Description, EnvironmentURL: s.EnvironmentURL, LogURL: s.LogURL})
}

// autoInactive does what GitHub's auto_inactive does after a success: it
// adds an inactive status to the earlier successful deployments of the
// environment, unless it is a production or transient environment.
func (f *Fake) autoInactive(cur *deployment) {
	if cur.production || cur.transient {
		return
	}
	for _, d := range f.deployments {
		if d.ID < cur.ID && d.Environment == cur.Environment && len(d.Statuses) > 0 &&
			d.Statuses[len(d.Statuses)-1].State == "success" {
			d.Statuses = append(d.Statuses, DeploymentStatus{State: "inactive"})
		}
	}
}

func (f *Fake) listDeploymentStatuses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.deployment(w, r)
	if d == nil {
		return
	}
	var all []*github.DeploymentStatus
	for _, s := range slices.Backward(d.Statuses) { // newest first
		all = append(all, &github.DeploymentStatus{State: github.Ptr(s.State), Description: github.Ptr(s.Description),
			LogURL: github.Ptr(s.LogURL), EnvironmentURL: github.Ptr(s.EnvironmentURL)})
	}
	from, to := page(q, len(all))
	writeJSON(w, http.StatusOK, append([]*github.DeploymentStatus{}, all[from:to]...))
}

func (f *Fake) createComment(w http.ResponseWriter, r *http.Request) {
	var c github.IssueComment
	if !decode(w, r, &c) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	switch {
	case c.Body == nil:
		invalid(w, "IssueComment", "body", "missing_field", "body is missing")
		return
	case strings.TrimSpace(c.GetBody()) == "":
		invalid(w, "IssueComment", "body", "custom", "body can't be blank")
		return
	case tooLong(c.GetBody(), MaxCommentBody):
		invalid(w, "IssueComment", "body", "custom", "Body is too long (maximum is 65536 characters)")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.issues[n] {
		notFound(w)
		return
	}
	f.seq++
	com := Comment{ID: f.seq, Issue: n, User: "github-actions[bot]", Body: c.GetBody()}
	f.comments = append(f.comments, com)
	writeJSON(w, http.StatusCreated, &github.IssueComment{ID: github.Ptr(com.ID), Body: github.Ptr(com.Body),
		User: &github.User{Login: github.Ptr(com.User), Type: github.Ptr("Bot")}})
}

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

func (f *Fake) createReaction(w http.ResponseWriter, r *http.Request) {
	var re github.Reaction
	if !decode(w, r, &re) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !slices.Contains(reactionContents, re.GetContent()) {
		invalid(w, "Reaction", "content", "invalid", fmt.Sprintf("content is not included in the list: %q", re.GetContent()))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, known := f.seeded[id]
	known = known || slices.ContainsFunc(f.comments, func(c Comment) bool { return c.ID == id })
	if !known {
		notFound(w)
		return
	}
	code := http.StatusCreated
	if slices.Contains(f.reactions, Reaction{id, re.GetContent()}) {
		code = http.StatusOK // already there
	} else {
		f.reactions = append(f.reactions, Reaction{id, re.GetContent()})
	}
	writeJSON(w, code, &github.Reaction{ID: github.Ptr(id), Content: re.Content})
}

// rolePermissions maps a role to the legacy permission and the booleans
// GitHub returns for it.
var rolePermissions = map[string]struct {
	legacy string
	perms  map[string]bool
}{
	RoleAdmin:    {"admin", map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}},
	RoleMaintain: {"write", map[string]bool{"maintain": true, "push": true, "triage": true, "pull": true}},
	RoleWrite:    {"write", map[string]bool{"push": true, "triage": true, "pull": true}},
	RoleTriage:   {"read", map[string]bool{"triage": true, "pull": true}},
	RoleRead:     {"read", map[string]bool{"pull": true}},
	RoleNone:     {"none", map[string]bool{}},
}

func (f *Fake) permission(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	f.mu.Lock()
	role, ok := f.perms[user]
	f.mu.Unlock()
	if !ok {
		role = RoleNone
	}
	p := rolePermissions[role]
	perms := map[string]bool{"admin": false, "maintain": false, "push": false, "triage": false, "pull": false}
	for k, v := range p.perms {
		perms[k] = v
	}
	writeJSON(w, http.StatusOK, &github.RepositoryPermissionLevel{Permission: github.Ptr(p.legacy), RoleName: github.Ptr(role),
		User: &github.User{Login: github.Ptr(user), Permissions: perms}})
}

func (f *Fake) getPull(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	f.mu.Lock()
	p, ok := f.pulls[n]
	f.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	head := &github.PullRequestBranch{SHA: github.Ptr(p.Head)}
	if p.HeadRepo != "" {
		head.Repo = &github.Repository{FullName: github.Ptr(p.HeadRepo)}
	}
	state := "open"
	if p.Merged {
		state = "closed"
	}
	pr := &github.PullRequest{Number: github.Ptr(n), State: github.Ptr(state), Head: head, Merged: github.Ptr(p.Merged),
		Base: &github.PullRequestBranch{SHA: github.Ptr("0000000000000000000000000000000000000000"),
			Repo: &github.Repository{FullName: github.Ptr(p.BaseRepo)}}}
	if p.MergeCommit != "" {
		pr.MergeCommitSHA = github.Ptr(p.MergeCommit)
	}
	writeJSON(w, http.StatusOK, pr)
}
