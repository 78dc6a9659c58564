package ghubtest

// This file holds the fake's HTTP plumbing: authentication, failure knobs
// and the JSON helpers every handler uses.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

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
