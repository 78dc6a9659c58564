// Package actions is ramp's boundary with the GitHub Actions runner (and, for
// outputs, with GitLab's dotenv reports): step outputs with random
// delimiters, masks, log groups, annotations, the job summary and the state
// handed to the action's post step. Everything goes through an injected
// getenv and writer, so tests never touch the real environment.
package actions

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"
)

// Runtime talks to the runner. Its zero value is not usable; use New.
type Runtime struct {
	getenv func(string) string
	gha    *githubactions.Action
	on     bool

	mu     sync.Mutex
	counts map[string]int // annotations per level, capped like the runner's
}

// New returns the runtime for the environment; Enabled reports whether it
// is a GitHub Actions step (GITHUB_ACTIONS=true).
func New(getenv func(string) string, stdout io.Writer) *Runtime {
	return &Runtime{
		getenv: getenv,
		gha:    githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout)),
		on:     getenv("GITHUB_ACTIONS") == "true",
		counts: map[string]int{},
	}
}

// Enabled reports whether ramp runs as a GitHub Actions step.
func (r *Runtime) Enabled() bool { return r.on }

// Mask hides value from the log, the summary and the outputs; every
// whitespace-separated word is masked, as the runner masks words.
func (r *Runtime) Mask(value string) {
	if !r.on {
		return
	}
	for _, w := range strings.Fields(value) {
		r.gha.AddMask(w)
	}
}

// Group opens a collapsible log group; EndGroup closes it.
func (r *Runtime) Group(title string) {
	if r.on {
		r.gha.Group(title) // go-githubactions escapes command data
	}
}

// EndGroup closes the open log group.
func (r *Runtime) EndGroup() {
	if r.on {
		r.gha.EndGroup()
	}
}

// maxAnnotations is the runner's limit per level and step; more are dropped.
const maxAnnotations = 10

// Annotate writes an error, warning or notice annotation with a title.
func (r *Runtime) Annotate(level, title, msg string) {
	if !r.on {
		return
	}
	r.mu.Lock()
	r.counts[level]++
	n := r.counts[level]
	r.mu.Unlock()
	if n > maxAnnotations {
		return
	}
	fields := githubactions.CommandProperties{"title": title}
	a := r.gha.WithFieldsMap(fields)
	switch level {
	case "error":
		a.Errorf("%s", msg)
	case "warning":
		a.Warningf("%s", msg)
	default:
		a.Noticef("%s", msg)
	}
}

// SetOutputs appends the outputs to GITHUB_OUTPUT, each value behind a
// random delimiter so that no value can forge another output.
func (r *Runtime) SetOutputs(kv map[string]string) error {
	path := r.getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	return appendFile(path, heredocs(kv))
}

// SaveState hands values to the action's post step (STATE_<name>).
func (r *Runtime) SaveState(kv map[string]string) error {
	path := r.getenv("GITHUB_STATE")
	if path == "" {
		return nil
	}
	return appendFile(path, heredocs(kv))
}

// State reads a value saved by the main step, in the post step.
func (r *Runtime) State(name string) string { return r.getenv("STATE_" + name) }

// heredocs renders name<<DELIM blocks in name order.
func heredocs(kv map[string]string) string {
	var b strings.Builder
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d := delimiter(kv[k])
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", k, d, kv[k], d)
	}
	return b.String()
}

// delimiter returns a random ghadelimiter_ token that does not occur in v.
func delimiter(v string) string {
	for {
		buf := make([]byte, 16)
		_, _ = rand.Read(buf) // crypto/rand.Read never fails
		d := "ghadelimiter_" + hex.EncodeToString(buf)
		if !strings.Contains(v, d) {
			return d
		}
	}
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	_, werr := f.WriteString(s)
	return errors.Join(werr, f.Close())
}

// WriteSummary replaces this step's job summary with md, which the runner
// shows even when the step is cancelled later. It is a no-op outside Actions.
func (r *Runtime) WriteSummary(md string) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write the job summary: %w", err)
	}
	return nil
}

var dotenvKey = regexp.MustCompile(`[^A-Za-z0-9_]`)

// WriteDotenv writes outputs as KEY=value lines for GitLab's dotenv report:
// keys upper-cased with RAMP_ in front, values on one line.
func WriteDotenv(path string, kv map[string]string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		key := "RAMP_" + strings.ToUpper(dotenvKey.ReplaceAllString(k, "_"))
		v := strings.NewReplacer("\r", " ", "\n", " ").Replace(kv[k])
		fmt.Fprintf(&b, "%s=%s\n", key, v)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write dotenv %s: %w", path, err)
	}
	return nil
}
