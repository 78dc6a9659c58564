package ghubtest

// This file holds the commit status and deployment endpoints.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/go-github/v75/github"
)

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
