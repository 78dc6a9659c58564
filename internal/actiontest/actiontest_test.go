package actiontest

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"
)

var update = flag.Bool("update", false, "rewrite action.yml from config.Options")

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// actionMeta is action.yml as parsed, inputs in file order.
type actionMeta struct {
	Runs    map[string]string
	Inputs  []Input
	Outputs []string
}

func readAction(t *testing.T, root string) actionMeta {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("action.yml is not a mapping")
	}
	m := actionMeta{Runs: map[string]string{}}
	top := doc.Content[0].Content
	for i := 0; i+1 < len(top); i += 2 {
		key, val := top[i].Value, top[i+1]
		switch key {
		case "runs":
			if err := val.Decode(&m.Runs); err != nil {
				t.Fatalf("runs: %v", err)
			}
		case "inputs", "outputs":
			for j := 0; j+1 < len(val.Content); j += 2 {
				name := val.Content[j].Value
				if key == "outputs" {
					m.Outputs = append(m.Outputs, name)
					continue
				}
				var in struct {
					Description string `yaml:"description"`
					Default     string `yaml:"default"`
					Required    bool   `yaml:"required"`
				}
				if err := val.Content[j+1].Decode(&in); err != nil {
					t.Fatalf("input %s: %v", name, err)
				}
				m.Inputs = append(m.Inputs, Input{Name: name, Description: in.Description, Default: in.Default, Required: in.Required})
			}
		}
	}
	return m
}

// TestActionYAMLMatchesConfig is the drift test: every config option is an
// input with the same name, description and default (github-token defaults
// to the job's token), plus the action-only inputs; the outputs are exactly
// the seven the binary writes.
func TestActionYAMLMatchesConfig(t *testing.T) {
	root := repoRoot(t)
	if *update {
		if err := os.WriteFile(filepath.Join(root, "action.yml"), []byte(RenderActionYAML()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readAction(t, root)
	want := WantInputs()
	hint := "\nregenerate with: go test ./internal/actiontest -run TestActionYAMLMatchesConfig -update"
	gotNames := names(got.Inputs)
	if !slices.Equal(gotNames, names(want)) {
		t.Fatalf("action.yml inputs\n  %v\nwant\n  %v%s", gotNames, names(want), hint)
	}
	for i, w := range want {
		if g := got.Inputs[i]; g != w {
			t.Errorf("input %s: got %+v, want %+v%s", w.Name, g, w, hint)
		}
	}
	var wantOut []string
	for _, o := range Outputs {
		wantOut = append(wantOut, o.Name)
	}
	if !slices.Equal(got.Outputs, wantOut) || !slices.Equal(wantOut, []string{"result", "stable", "candidate", "weight", "url", "summary", "verdict"}) {
		t.Errorf("outputs %v, want result stable candidate weight url summary verdict", got.Outputs)
	}
	wantRuns := map[string]string{"using": "node24", "main": "action/main.js", "post": "action/post.js", "post-if": "always()"}
	for k, v := range wantRuns {
		if got.Runs[k] != v {
			t.Errorf("runs.%s = %q, want %q", k, got.Runs[k], v)
		}
	}
	for _, f := range []string{"action/main.js", "action/post.js", "action/lib.js"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("action file: %v", err)
		}
	}
	if string(must(os.ReadFile(filepath.Join(root, "action.yml")))) != RenderActionYAML() {
		t.Errorf("action.yml differs from what RenderActionYAML makes of config.Options%s", hint)
	}
}

func names(in []Input) []string {
	var s []string
	for _, i := range in {
		s = append(s, i.Name)
	}
	return s
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// syntheticWorkflow uses the action (uses: ./) with every input and reads
// every output, so actionlint checks action.yml and its callers.
func syntheticWorkflow(inputs []Input, extraWith, extraOutput string) string {
	var b strings.Builder
	b.WriteString("name: synthetic\non: push\npermissions:\n  contents: read\njobs:\n  ramp:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - id: ramp\n        uses: ./\n        with:\n")
	for _, in := range inputs {
		v := in.Default
		if v == "" {
			v = "x"
		}
		fmt.Fprintf(&b, "          %s: %s\n", in.Name, strconv.Quote(v))
	}
	if extraWith != "" {
		fmt.Fprintf(&b, "          %s: x\n", extraWith)
	}
	b.WriteString("      - env:\n")
	outs := []string{}
	for _, o := range Outputs {
		outs = append(outs, o.Name)
	}
	if extraOutput != "" {
		outs = append(outs, extraOutput)
	}
	for _, o := range outs {
		fmt.Fprintf(&b, "          OUT_%s: ${{ steps.ramp.outputs.%s }}\n", strings.ToUpper(o), o)
	}
	b.WriteString("        run: env | grep '^OUT_'\n")
	return b.String()
}

func newLinter(t *testing.T) *actionlint.Linter {
	t.Helper()
	opts := &actionlint.LinterOptions{}
	// shellcheck and pyflakes run only when installed (CI's runners have shellcheck).
	if p, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = p
	} else {
		t.Log("shellcheck not installed: scripts in run: are not checked")
	}
	if p, err := exec.LookPath("pyflakes"); err == nil {
		opts.Pyflakes = p
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lintErrors(errs []*actionlint.Error) string {
	var b bytes.Buffer
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	return b.String()
}

// TestActionlint lints every workflow in .github/workflows and a synthetic
// workflow that uses the action with every input; any error fails.
func TestActionlint(t *testing.T) {
	root := repoRoot(t)
	proj, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows found (%v)", err)
	}
	l := newLinter(t)
	for _, f := range files {
		errs, err := l.LintFile(f, proj)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(errs) > 0 {
			t.Errorf("actionlint %s:%s", filepath.Base(f), lintErrors(errs))
		}
	}
	inputs := readAction(t, root).Inputs
	synth := filepath.Join(root, ".github", "workflows", "synthetic-uses-action.yml")
	errs, err := l.Lint(synth, []byte(syntheticWorkflow(inputs, "", "")), proj)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Errorf("actionlint on a workflow using the action with every input:%s", lintErrors(errs))
	}

	// Control: actionlint really reads action.yml (an unknown input and an
	// undeclared output are errors).
	errs, err = l.Lint(synth, []byte(syntheticWorkflow(inputs, "no-such-input", "no_such_output")), proj)
	if err != nil {
		t.Fatal(err)
	}
	msgs := lintErrors(errs)
	for _, want := range []string{`"no-such-input" is not defined`, "no_such_output"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("control: want an actionlint error mentioning %s, got:%s", want, msgs)
		}
	}
}

// TestSelfTestWorkflowUsesEveryInput keeps one workflow in this repository
// calling `uses: ./` with every input, so actionlint (here and in CI) checks
// the real workflow against action.yml.
func TestSelfTestWorkflowUsesEveryInput(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	var best []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if s.Uses != "./" {
				continue
			}
			var missing []string
			for _, in := range readAction(t, root).Inputs {
				if _, ok := s.With[in.Name]; !ok {
					missing = append(missing, in.Name)
				}
			}
			if len(missing) == 0 {
				return
			}
			if best == nil || len(missing) < len(best) {
				best = missing
			}
		}
	}
	t.Fatalf("no step in ci.yml uses ./ with every input (closest misses %v)", best)
}

// TestNodeShim runs the JavaScript shim's unit tests (node:test).
func TestNodeShim(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the shim's tests (node --test action/) are skipped")
	}
	dir := filepath.Join(repoRoot(t), "action")
	tests, _ := filepath.Glob(filepath.Join(dir, "*.test.js"))
	if len(tests) == 0 {
		t.Fatal("no action/*.test.js")
	}
	// A test that hangs fails after two minutes, named, instead of holding CI.
	cmd := exec.Command(node, append([]string{"--test", "--test-timeout=120000"}, tests...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test: %s", lastLines(string(out), 8))
}

// TestShimFilesAreSmall keeps the shim reviewable: each file under 200 lines,
// Node's standard library only.
func TestShimFilesAreSmall(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "action", "*.js"))
	for _, f := range files {
		src := string(must(os.ReadFile(f)))
		if n := strings.Count(src, "\n"); n >= 200 {
			t.Errorf("%s has %d lines, keep it under 200", filepath.Base(f), n)
		}
		for _, line := range strings.Split(src, "\n") {
			i := strings.Index(line, "require('")
			if i < 0 {
				continue
			}
			mod := strings.SplitN(line[i+len("require('"):], "'", 2)[0]
			std := []string{"crypto", "fs", "http", "https", "os", "path", "child_process", "node:test", "node:assert/strict"}
			if !strings.HasPrefix(mod, "./") && !slices.Contains(std, mod) {
				t.Errorf("%s requires %q: the shim uses Node's standard library only", filepath.Base(f), mod)
			}
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
