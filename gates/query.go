package gates

import (
	"bytes"
	"context"
	"fmt"
	"text/template"
)

// QuerySource is a metric source that answers queries written by the user
// in its own language (PromQL, a Datadog metrics query): ramp.yaml's
// checks run through it.
type QuerySource interface {
	// Value runs query, already rendered, over w and returns its one
	// value. ok is false when the result is empty or its series are stale:
	// that is no data, never a zero. A result of more than one series is
	// an error naming the query.
	Value(ctx context.Context, query string, w Window) (v float64, ok bool, err error)
	// WindowVar formats a window's length for the {{.Window}} variable in
	// the source's query language (PromQL: "60s").
	WindowVar(w Window) string
}

// QueryVars are the variables a query template may use.
type QueryVars struct {
	// Version is the revision the query is rendered for: the candidate's
	// for a check, each version's in turn for a per-version query.
	Version string
	// Candidate and Stable are both revisions' IDs (Stable empty on a
	// first deploy); Service is the service's name.
	Candidate, Stable, Service string
	// Window is the window's length in the source's query language.
	Window string
	// Instances is a regular expression matching the IDs of the
	// instances that run Version, when the provider names them (Fly's
	// machine IDs, the instance label of its built-in metrics), for a
	// selector such as instance=~"{{.Instances}}"; empty otherwise.
	Instances string
}

// ParseQuery parses a query template, failing on unknown variables only
// when it is rendered; name names it in errors.
func ParseQuery(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", name, err)
	}
	if _, err := RenderQuery(t, QueryVars{Version: "v", Candidate: "c", Stable: "s", Service: "svc", Window: "60s", Instances: "i"}); err != nil {
		return nil, err
	}
	return t, nil
}

// RenderQuery renders a parsed query template with vars.
func RenderQuery(t *template.Template, vars QueryVars) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("query %s: %w", t.Name(), err)
	}
	return b.String(), nil
}
