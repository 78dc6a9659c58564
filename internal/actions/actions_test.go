package actions_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/actions"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// parseFileCommands reads name<<DELIM blocks back, as the runner does.
func parseFileCommands(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func TestOutputsCannotBeForged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "output")
	rt := actions.New(env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": path}), &bytes.Buffer{})
	evil := "rolled back\n_GitHubActionsFileCommandDelimeter_\nresult<<EOF\npromoted\nEOF"
	if err := rt.SetOutputs(map[string]string{"result": "rolled_back", "summary": evil}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := parseFileCommands(t, string(raw))
	if diff := cmp.Diff(map[string]string{"result": "rolled_back", "summary": evil}, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`result<<ghadelimiter_[0-9a-f]{32}\n`).Match(raw) {
		t.Errorf("no random delimiter:\n%s", raw)
	}
}

func TestOutsideActionsNothingIsWritten(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rt := actions.New(env(nil), &out)
	rt.Mask("s3cret")
	rt.Group("step")
	rt.Annotate("error", "t", "m")
	if err := rt.SetOutputs(map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if err := rt.WriteSummary("# hi"); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || rt.Enabled() {
		t.Errorf("wrote %q outside Actions", out.String())
	}
}

func TestWorkflowCommands(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rt := actions.New(env(map[string]string{"GITHUB_ACTIONS": "true"}), &out)
	rt.Mask("two words")
	rt.Group("step 1/3: shift to 10%")
	rt.EndGroup()
	rt.Annotate("error", "ramp: rolled_back", "error-rate = 20%\n::add-mask::x")
	for range 12 {
		rt.Annotate("notice", "n", "m")
	}
	s := out.String()
	for _, want := range []string{"::add-mask::two\n", "::add-mask::words\n", "::group::step 1/3: shift to 10%25\n", "::endgroup::\n",
		"::error title=ramp%3A rolled_back::error-rate = 20%25%0A::add-mask::x\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "::notice"); n != 10 {
		t.Errorf("%d notices, want the runner's limit of 10", n)
	}
}

func TestSummaryAndStateAndDotenv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_STATE": filepath.Join(dir, "state"), "STATE_deployment": "42"}
	rt := actions.New(env(vars), &bytes.Buffer{})
	for _, md := range []string{"# first\n", "# second, replacing the first\n"} {
		if err := rt.WriteSummary(md); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(vars["GITHUB_STEP_SUMMARY"]); string(b) != "# second, replacing the first\n" {
		t.Errorf("summary = %q", b)
	}
	if err := rt.SaveState(map[string]string{"started": "true"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(vars["GITHUB_STATE"])
	if got := parseFileCommands(t, string(b)); got["started"] != "true" {
		t.Errorf("state = %v", got)
	}
	if rt.State("deployment") != "42" {
		t.Errorf("State(deployment) = %q", rt.State("deployment"))
	}
	path := filepath.Join(dir, "ramp.env")
	if err := actions.WriteDotenv(path, map[string]string{"result": "promoted", "summary": "a\nb", "weight": "100"}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if want := "RAMP_RESULT=promoted\nRAMP_SUMMARY=a b\nRAMP_WEIGHT=100\n"; string(b) != want {
		t.Errorf("dotenv = %q, want %q", b, want)
	}
}
