package ghub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v75/github"
)

// testToken is the token the fake expects; it must never show up in a
// warning or a reply.
const testToken = "ghs_S3cr3tT0kenThatMustNeverLeak0123456789"

// fakeGitHub is a stateful fake of the parts of the GitHub REST API ghub
// uses, served under /api/v3 like GitHub Enterprise Server. It records
// every call and can fail whole endpoint families.
type fakeGitHub struct {
	srv *httptest.Server

	mu          sync.Mutex
	calls       []string
	statuses    []fakeStatus
	deployments []*fakeDeployment // in creation order
	comments    []fakeComment
	reactions   []fakeReaction
	perms       map[string]string // login -> role: admin, maintain, write, triage, read
	pulls       map[int]fakePull  // number -> pull request
	fail        map[string]int    // endpoint family ("statuses", ..., "*") -> HTTP status
	leak        bool              // echo the Authorization header in error messages
	unauthed    int               // requests without the expected token
	nextID      int64             // the last deployment ID given
	seq         int64             // the last ID of anything else
}

type fakeStatus struct{ SHA, State, Context, Description, TargetURL string }

type fakeDeployment struct {
	ID                           int64
	Ref, Task, Environment, Desc string
	AutoMerge                    *bool
	RequiredContexts             *[]string
	Payload                      map[string]any
	Statuses                     []fakeDeploymentStatus
}

type fakeDeploymentStatus struct{ State, Description, LogURL, EnvironmentURL string }

type fakeComment struct {
	Issue int
	Body  string
}

type fakeReaction struct {
	Comment int64
	Content string
}

type fakePull struct{ Head, HeadRepo, BaseRepo string }

// newFakeGitHub starts the fake; it stops with the test.
func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{perms: map[string]string{}, pulls: map[int]fakePull{}, fail: map[string]int{}, nextID: 1000}
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
		mux.Handle(pattern, h)
	}
	f.srv = httptest.NewServer(http.StripPrefix("/api/v3", f.middleware(mux)))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns the real go-github client pointed at the fake the way
// GITHUB_API_URL points it at a GitHub Enterprise Server.
func (f *fakeGitHub) client(t *testing.T) *github.Client {
	t.Helper()
	c, err := NewClient(nil, testToken, f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// middleware records the call and applies the failures asked for.
func (f *fakeGitHub) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		call := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			call += "?" + r.URL.RawQuery
		}
		f.calls = append(f.calls, call)
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+testToken {
			f.unauthed++
		}
		code, ok := f.fail[family(r.URL.Path)]
		if !ok {
			code, ok = f.fail["*"]
		}
		leak := f.leak
		f.mu.Unlock()
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		msg := "Resource not accessible by integration"
		if code >= 500 {
			msg = "Service Unavailable"
		}
		if leak {
			msg += " (you sent " + auth + ")"
		}
		writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	})
}

// family names the endpoint family of a path: /repos/o/r/<family>/...
func family(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return false
	}
	return true
}

func (f *fakeGitHub) createStatus(w http.ResponseWriter, r *http.Request) {
	var s github.RepoStatus
	if !decode(w, r, &s) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, fakeStatus{SHA: r.PathValue("sha"), State: s.GetState(), Context: s.GetContext(),
		Description: s.GetDescription(), TargetURL: s.GetTargetURL()})
	f.seq++
	s.ID = github.Ptr(f.seq)
	writeJSON(w, http.StatusCreated, s)
}

func (f *fakeGitHub) createDeployment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		github.DeploymentRequest
		Payload map[string]any `json:"payload"`
	}
	if !decode(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	d := &fakeDeployment{ID: f.nextID, Ref: req.GetRef(), Task: req.GetTask(), Environment: req.GetEnvironment(),
		Desc: req.GetDescription(), AutoMerge: req.AutoMerge, RequiredContexts: req.RequiredContexts, Payload: req.Payload}
	f.deployments = append(f.deployments, d)
	writeJSON(w, http.StatusCreated, f.deploymentJSON(d))
}

func (f *fakeGitHub) deploymentJSON(d *fakeDeployment) *github.Deployment {
	return &github.Deployment{ID: github.Ptr(d.ID), SHA: github.Ptr(d.Ref), Ref: github.Ptr(d.Ref),
		Environment: github.Ptr(d.Environment), Description: github.Ptr(d.Desc)}
}

func (f *fakeGitHub) listDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	f.mu.Lock()
	defer f.mu.Unlock()
	list := []*github.Deployment{}
	for _, d := range slices.Backward(f.deployments) { // newest first
		if (q.Get("environment") == "" || q.Get("environment") == d.Environment) && (q.Get("sha") == "" || q.Get("sha") == d.Ref) &&
			(per == 0 || len(list) < per) {
			list = append(list, f.deploymentJSON(d))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// deployment finds a deployment by the id in the path, or answers 404.
func (f *fakeGitHub) deployment(w http.ResponseWriter, r *http.Request) *fakeDeployment {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, d := range f.deployments {
		if d.ID == id {
			return d
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	return nil
}

func (f *fakeGitHub) createDeploymentStatus(w http.ResponseWriter, r *http.Request) {
	var s github.DeploymentStatusRequest
	if !decode(w, r, &s) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.deployment(w, r)
	if d == nil {
		return
	}
	d.Statuses = append(d.Statuses, fakeDeploymentStatus{State: s.GetState(), Description: s.GetDescription(),
		LogURL: s.GetLogURL(), EnvironmentURL: s.GetEnvironmentURL()})
	f.seq++
	writeJSON(w, http.StatusCreated, &github.DeploymentStatus{ID: github.Ptr(f.seq), State: s.State})
}

func (f *fakeGitHub) listDeploymentStatuses(w http.ResponseWriter, r *http.Request) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.deployment(w, r)
	if d == nil {
		return
	}
	list := []*github.DeploymentStatus{}
	for _, s := range slices.Backward(d.Statuses) {
		if per == 0 || len(list) < per {
			list = append(list, &github.DeploymentStatus{State: github.Ptr(s.State), Description: github.Ptr(s.Description)})
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (f *fakeGitHub) createComment(w http.ResponseWriter, r *http.Request) {
	var c github.IssueComment
	if !decode(w, r, &c) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.comments = append(f.comments, fakeComment{Issue: n, Body: c.GetBody()})
	f.seq++
	c.ID = github.Ptr(f.seq)
	writeJSON(w, http.StatusCreated, c)
}

func (f *fakeGitHub) createReaction(w http.ResponseWriter, r *http.Request) {
	var re github.Reaction
	if !decode(w, r, &re) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !slices.Contains([]string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}, re.GetContent()) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	code := http.StatusCreated
	if slices.Contains(f.reactions, fakeReaction{id, re.GetContent()}) {
		code = http.StatusOK // already there
	} else {
		f.reactions = append(f.reactions, fakeReaction{id, re.GetContent()})
	}
	writeJSON(w, code, &github.Reaction{ID: github.Ptr(id), Content: re.Content})
}

// rolePermissions maps a role to the legacy permission and the booleans
// GitHub returns for it.
var rolePermissions = map[string]struct {
	legacy string
	perms  map[string]bool
}{
	"admin":    {"admin", map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}},
	"maintain": {"write", map[string]bool{"maintain": true, "push": true, "triage": true, "pull": true}},
	"write":    {"write", map[string]bool{"push": true, "triage": true, "pull": true}},
	"triage":   {"read", map[string]bool{"triage": true, "pull": true}},
	"read":     {"read", map[string]bool{"pull": true}},
	"none":     {"none", map[string]bool{}},
}

func (f *fakeGitHub) permission(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	f.mu.Lock()
	role, ok := f.perms[user]
	f.mu.Unlock()
	if !ok {
		role = "none"
	}
	p := rolePermissions[role]
	perms := map[string]bool{"admin": false, "maintain": false, "push": false, "triage": false, "pull": false}
	for k, v := range p.perms {
		perms[k] = v
	}
	writeJSON(w, http.StatusOK, &github.RepositoryPermissionLevel{Permission: github.Ptr(p.legacy), RoleName: github.Ptr(role),
		User: &github.User{Login: github.Ptr(user), Permissions: perms}})
}

func (f *fakeGitHub) getPull(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	f.mu.Lock()
	p, ok := f.pulls[n]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, &github.PullRequest{Number: github.Ptr(n),
		Head: &github.PullRequestBranch{SHA: github.Ptr(p.Head), Repo: &github.Repository{FullName: github.Ptr(p.HeadRepo)}},
		Base: &github.PullRequestBranch{SHA: github.Ptr("0000000000000000000000000000000000000000"),
			Repo: &github.Repository{FullName: github.Ptr(p.BaseRepo)}}})
}

// seedDeployment adds an earlier deployment with the given statuses.
func (f *fakeGitHub) seedDeployment(env, ref string, states ...string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	d := &fakeDeployment{ID: f.nextID, Ref: ref, Task: "deploy", Environment: env, Desc: "seeded"}
	for _, s := range states {
		d.Statuses = append(d.Statuses, fakeDeploymentStatus{State: s, Description: "seeded " + s})
	}
	f.deployments = append(f.deployments, d)
	return d.ID
}

// snapshot returns copies of what the fake recorded.
func (f *fakeGitHub) snapshot() fakeState {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := fakeState{Calls: slices.Clone(f.calls), Statuses: slices.Clone(f.statuses), Comments: slices.Clone(f.comments),
		Reactions: slices.Clone(f.reactions), Unauthed: f.unauthed}
	for _, d := range f.deployments {
		c := *d
		c.Statuses = slices.Clone(d.Statuses)
		s.Deployments = append(s.Deployments, c)
	}
	return s
}

// fakeState is what the fake recorded.
type fakeState struct {
	Calls       []string
	Statuses    []fakeStatus
	Deployments []fakeDeployment
	Comments    []fakeComment
	Reactions   []fakeReaction
	Unauthed    int
}

// configure changes the fake's settings (perms, pulls, fail, leak).
func (f *fakeGitHub) configure(set func(*fakeGitHub)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set(f)
}

func (s fakeState) String() string {
	return fmt.Sprintf("%d calls:\n%s", len(s.Calls), strings.Join(s.Calls, "\n"))
}
