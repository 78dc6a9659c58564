// Package launchdarkly is a stateful fake of the part of LaunchDarkly's
// REST API (https://app.launchdarkly.com/api/v2) that ramp's flag provider
// calls, for tests: boolean flags in projects with environments, read with
// GET /api/v2/flags/{project}/{key}?env=, and changed with PATCH of the
// same path, either as a semantic patch (Content-Type
// application/json; domain-model=launchdarkly.semanticpatch: turnFlagOn,
// turnFlagOff, updateFallthroughVariationOrRollout) or as a JSON Patch
// (RFC 6902 add, replace, remove and test on customProperties and
// description). Every change bumps the flag's _version.
//
// It refuses what LaunchDarkly refuses: a request without the access
// token (401), an unknown project, flag or environment (404), a semantic
// patch with no instructions, an unknown instruction kind, rollout weights
// naming unknown variations or not adding up to 100000, or no
// environmentKey (400, nothing applied), a patch in another media type
// (415), and a JSON Patch whose test fails (409, nothing applied).
package launchdarkly

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// SemanticPatch is the media type of a semantic patch.
const SemanticPatch = "application/json; domain-model=launchdarkly.semanticpatch"

// World is the fake's state: flags by project and key.
type World struct {
	token string
	mu    sync.Mutex
	envs  map[string][]string         // project -> environment keys
	flags map[string]map[string]*Flag // project -> key -> flag
	// onWrite, if set, runs before each PATCH is applied.
	onWrite func(write string)
	writes  int
}

// Flag is a flag as the fake keeps it (and the API shows it).
type Flag struct {
	Key              string                    `json:"key"`
	Name             string                    `json:"name"`
	Kind             string                    `json:"kind"`
	Description      string                    `json:"description"`
	Version          int                       `json:"_version"`
	Variations       []Variation               `json:"variations"`
	Environments     map[string]*Environment   `json:"environments"`
	CustomProperties map[string]CustomProperty `json:"customProperties"`
}

// Variation is one value of a flag.
type Variation struct {
	ID    string `json:"_id"`
	Value any    `json:"value"`
}

// Environment is a flag's settings in one environment.
type Environment struct {
	On           bool        `json:"on"`
	OffVariation int         `json:"offVariation"`
	Fallthrough  Fallthrough `json:"fallthrough"`
	Version      int         `json:"_version"`
}

// Fallthrough is the default rule.
type Fallthrough struct {
	Variation *int     `json:"variation,omitempty"`
	Rollout   *Rollout `json:"rollout,omitempty"`
}

// Rollout weighs variations in thousandths of a percent.
type Rollout struct {
	Variations []Weighted `json:"variations"`
}

// Weighted is one variation's weight.
type Weighted struct {
	Variation int `json:"variation"`
	Weight    int `json:"weight"`
}

// CustomProperty is a custom property of a flag.
type CustomProperty struct {
	Name  string   `json:"name"`
	Value []string `json:"value"`
}

// New is an empty world that takes token.
func New(token string) *World {
	return &World{token: token, envs: map[string][]string{}, flags: map[string]map[string]*Flag{}}
}

// AddFlag adds a boolean flag to project (created with envs if new),
// off in every environment, its default rule serving false.
func (w *World) AddFlag(project, key string, envs ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.envs[project]; !ok {
		w.envs[project] = envs
		w.flags[project] = map[string]*Flag{}
	}
	f := &Flag{Key: key, Name: key, Kind: "boolean", Version: 1, Environments: map[string]*Environment{}, CustomProperties: map[string]CustomProperty{},
		Variations: []Variation{{ID: key + "-true-id", Value: true}, {ID: key + "-false-id", Value: false}}}
	for _, e := range w.envs[project] {
		off := 1
		f.Environments[e] = &Environment{OffVariation: 1, Fallthrough: Fallthrough{Variation: &off}, Version: 1}
	}
	w.flags[project][key] = f
}

// Percent is the share of the default rule serving true in env (0 while
// the flag is off), in thousandths of a percent.
func (w *World) Percent(project, key, env string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flags[project][key]
	if f == nil || f.Environments[env] == nil || !f.Environments[env].On {
		return 0
	}
	ft := f.Environments[env].Fallthrough
	switch {
	case ft.Rollout != nil:
		for _, v := range ft.Rollout.Variations {
			if f.Variations[v.Variation].Value == true {
				return v.Weight
			}
		}
	case ft.Variation != nil && f.Variations[*ft.Variation].Value == true:
		return 100000
	}
	return 0
}

// OnWrite runs f before each PATCH the fake applies, from the calling
// goroutine, naming it ("semantic patch" or "json patch"): to stop a
// process between its writes, say.
func (w *World) OnWrite(f func(write string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onWrite = f
}

// Writes counts the PATCHes applied.
func (w *World) Writes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// apiError is LaunchDarkly's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func reply(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func refuse(rw http.ResponseWriter, status int, code, format string, args ...any) {
	reply(rw, status, apiError{Code: code, Message: fmt.Sprintf(format, args...)})
}

// ServeHTTP serves the API.
func (w *World) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != w.token || w.token == "" {
		refuse(rw, http.StatusUnauthorized, "unauthorized", "Invalid account ID header")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v2/flags/")
	project, key, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || project == "" || key == "" || strings.Contains(key, "/") {
		refuse(rw, http.StatusNotFound, "not_found", "Unknown resource %s", r.URL.Path)
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.get(rw, r, project, key)
	case http.MethodPatch:
		w.patch(rw, r, project, key)
	default:
		refuse(rw, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed")
	}
}

// find is the flag, or writes the 404 LaunchDarkly answers.
func (w *World) find(rw http.ResponseWriter, project, key string) *Flag {
	if _, ok := w.envs[project]; !ok {
		refuse(rw, http.StatusNotFound, "not_found", "Unknown project key %s", project)
		return nil
	}
	f := w.flags[project][key]
	if f == nil {
		refuse(rw, http.StatusNotFound, "not_found", "Unknown flag key %s", key)
	}
	return f
}

func (w *World) get(rw http.ResponseWriter, r *http.Request, project, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.find(rw, project, key)
	if f == nil {
		return
	}
	out := *f
	if env := r.URL.Query().Get("env"); env != "" {
		e, ok := f.Environments[env]
		if !ok {
			refuse(rw, http.StatusNotFound, "not_found", "Unknown environment key %s", env)
			return
		}
		out.Environments = map[string]*Environment{env: e}
	}
	reply(rw, http.StatusOK, out)
}

func (w *World) patch(rw http.ResponseWriter, r *http.Request, project, key string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		refuse(rw, http.StatusBadRequest, "invalid_request", "read body: %v", err)
		return
	}
	w.mu.Lock()
	hook := w.onWrite
	w.mu.Unlock()
	if hook != nil {
		write := "json patch"
		if strings.Contains(r.Header.Get("Content-Type"), "semanticpatch") {
			write = "semantic patch"
		}
		hook(write)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.find(rw, project, key)
	if f == nil {
		return
	}
	ct := strings.ReplaceAll(strings.ToLower(r.Header.Get("Content-Type")), " ", "")
	var next *Flag
	var status int
	var msg string
	switch {
	case ct == strings.ReplaceAll(SemanticPatch, " ", ""):
		next, status, msg = semantic(f, body)
	case ct == "application/json" || strings.HasPrefix(ct, "application/json;charset"):
		next, status, msg = jsonPatch(f, body)
	default:
		refuse(rw, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Content-Type %q", r.Header.Get("Content-Type"))
		return
	}
	if next == nil {
		code := map[int]string{http.StatusBadRequest: "invalid_request", http.StatusConflict: "conflict", http.StatusNotFound: "not_found"}[status]
		refuse(rw, status, code, "%s", msg)
		return
	}
	next.Version = f.Version + 1
	w.flags[project][key] = next
	w.writes++
	reply(rw, http.StatusOK, next)
}
