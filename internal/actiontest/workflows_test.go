package actiontest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// ownAction is this project's own action: the example workflows use it as a
// user would (by release tag; README.md says how to pin it by commit). Every
// other action is third-party and must be pinned.
const ownAction = "ramp-deploy/ramp"

var (
	pinnedUses     = regexp.MustCompile(`^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/[^@]+)?@([0-9a-f]{40})$`)
	versionComment = regexp.MustCompile(`^# v\d+\.\d+\.\d+$`)
)

// use is one `uses:` of a workflow: its value, the comment on its line, where.
type use struct {
	value, comment, where string
}

// workflowUses lists every `uses:` of a workflow (job-level reusable
// workflows and steps), with the line comment of each.
func workflowUses(t *testing.T, name string, data []byte) []use {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []use
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "uses" && v.Kind == yaml.ScalarNode {
					out = append(out, use{v.Value, strings.TrimSpace(v.LineComment), fmt.Sprintf("%s:%d", name, v.Line)})
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return out
}

// unpinned says what is wrong with a third-party `uses:`, or "" when it is
// pinned by a full commit SHA with its version in a comment.
func unpinned(u use) string {
	switch {
	case strings.HasPrefix(u.value, "./"):
		return ""
	case strings.HasPrefix(u.value, "docker://"):
		if !strings.Contains(u.value, "@sha256:") {
			return "a docker:// action must be pinned by digest (@sha256:...)"
		}
		return ""
	case strings.HasPrefix(u.value, ownAction+"@"):
		return ""
	}
	if !pinnedUses.MatchString(u.value) {
		return "not pinned by a full 40-hex commit SHA"
	}
	if !versionComment.MatchString(u.comment) {
		return fmt.Sprintf("pinned, but the comment %q is not the version it stands for (# vX.Y.Z)", u.comment)
	}
	return ""
}

func workflowFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "workflows", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows found (%v)", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[filepath.Base(f)] = must(os.ReadFile(f))
	}
	return out
}

// TestThirdPartyActionsArePinned: every `uses:` of a third-party action in
// the workflows names a full commit SHA with its version in a comment
// (`uses: actions/checkout@<40 hex> # v7.0.1`), and one action is pinned to
// one commit and version everywhere.
func TestThirdPartyActionsArePinned(t *testing.T) {
	seen := map[string]use{} // owner/repo -> first use
	n := 0
	for name, data := range workflowFiles(t) {
		for _, u := range workflowUses(t, name, data) {
			if why := unpinned(u); why != "" {
				t.Errorf("%s: uses: %s %s: %s", u.where, u.value, u.comment, why)
				continue
			}
			m := pinnedUses.FindStringSubmatch(u.value)
			if m == nil {
				continue
			}
			n++
			key := m[1] + m[2]
			if first, ok := seen[key]; ok && (first.value != u.value || first.comment != u.comment) {
				t.Errorf("%s: %s %s, but %s has %s %s: pin one commit everywhere", u.where, u.value, u.comment, first.where, first.value, first.comment)
			}
			seen[key] = u
		}
	}
	if n == 0 {
		t.Error("no pinned third-party action found: the walk finds nothing")
	}

	// Control: the check refuses what it must.
	bad := map[string]string{
		"actions/checkout@v4":                                        "",
		"actions/checkout@11bd71901bbe5b1630ce":                      "# v4.2.2",
		"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683":  "",
		"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 ": "# v4",
		"docker://alpine:3":                                          "",
	}
	for v, c := range bad {
		if unpinned(use{strings.TrimSpace(v), c, "control"}) == "" {
			t.Errorf("control: uses: %s %s passes the check", v, c)
		}
	}
	if why := unpinned(use{"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "# v4.2.2", "control"}); why != "" {
		t.Errorf("control: a pinned use is refused: %s", why)
	}
	uses := workflowUses(t, "control.yml", []byte("jobs:\n  a:\n    uses: o/r/.github/workflows/w.yml@main\n  b:\n    steps:\n      - uses: o/r@v1 # v1.0.0\n"))
	if len(uses) != 2 || uses[1].comment != "# v1.0.0" {
		t.Errorf("control: workflowUses found %+v", uses)
	}
}

// job is what the release checks read of a workflow job.
type job struct {
	Permissions map[string]string `yaml:"permissions"`
	Needs       yaml.Node         `yaml:"needs"`
	Environment yaml.Node         `yaml:"environment"`
	Env         map[string]string `yaml:"env"`
	Steps       []step            `yaml:"steps"`
}

type step struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

type workflow struct {
	Permissions yaml.Node      `yaml:"permissions"`
	Jobs        map[string]job `yaml:"jobs"`
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	var wf workflow
	if err := yaml.Unmarshal(workflowFiles(t)[name], &wf); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return wf
}

func (j job) needs() []string {
	var s []string
	if j.Needs.Kind == yaml.ScalarNode {
		return []string{j.Needs.Value}
	}
	_ = j.Needs.Decode(&s)
	return s
}

func (j job) writes() []string {
	var w []string
	for k, v := range j.Permissions {
		if v == "write" {
			w = append(w, k)
		}
	}
	slices.Sort(w)
	return w
}

// TestReleaseWorkflowSplitsPermissions: release.yml grants nothing at the
// top; the jobs that test and build have read permission only; publishing
// is alone in one job with contents, id-token and attestations write, after
// every other job, with no checkout and no step that runs the repository's
// code; it attests before it tags, and tags before it releases.
func TestReleaseWorkflowSplitsPermissions(t *testing.T) {
	wf := readWorkflow(t, "release.yml")
	if wf.Permissions.Kind != yaml.MappingNode || len(wf.Permissions.Content) != 0 {
		t.Errorf("release.yml: top-level permissions must be {} (each job says what it needs)")
	}
	var publishers []string
	for name, j := range wf.Jobs {
		if j.Permissions == nil {
			t.Errorf("job %s: no permissions of its own", name)
		}
		runsTests := false
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "go test") || strings.Contains(s.Run, "node --test") {
				runsTests = true
			}
		}
		w := j.writes()
		if runsTests && len(w) > 0 {
			t.Errorf("job %s runs the tests with write permission %v", name, w)
		}
		if len(w) > 0 {
			publishers = append(publishers, name)
		}
	}
	if len(publishers) != 1 {
		t.Fatalf("jobs with a write permission: %v, want exactly one (publishing alone)", publishers)
	}
	name := publishers[0]
	pub := wf.Jobs[name]
	if got, want := pub.writes(), []string{"attestations", "contents", "id-token"}; !slices.Equal(got, want) {
		t.Errorf("job %s writes %v, want %v", name, got, want)
	}
	for other := range wf.Jobs {
		if other != name && !slices.Contains(pub.needs(), other) {
			t.Errorf("job %s does not need %s: it could publish what was not tested or built", name, other)
		}
	}
	order := map[string]int{}
	for i, s := range pub.Steps {
		switch {
		case strings.HasPrefix(s.Uses, "actions/checkout@"), strings.HasPrefix(s.Uses, "actions/setup-go@"), strings.HasPrefix(s.Uses, "./"):
			t.Errorf("job %s step %d uses %s: the publishing job runs no code from the repository", name, i, s.Uses)
		case strings.HasPrefix(s.Uses, "actions/attest-build-provenance@"):
			order["attest"] = i
			if s.With["subject-path"] != "dist/ramp_*" {
				t.Errorf("attestation subject-path %q, want dist/ramp_*", s.With["subject-path"])
			}
		}
		for _, bad := range []string{"go ", "node ", "npm ", "make", "scripts/", "./"} {
			if strings.Contains(s.Run, bad) {
				t.Errorf("job %s step %q runs %q: the publishing job runs no code from the repository", name, s.Name, bad)
			}
		}
		if strings.Contains(s.Run, "git/refs") && order["tag"] == 0 {
			order["tag"] = i
		}
		if strings.Contains(s.Run, "gh release create") {
			order["release"] = i
		}
	}
	if !(order["attest"] > 0 && order["attest"] < order["tag"] && order["tag"] < order["release"]) {
		t.Errorf("job %s: want attest < tag < release, got step indexes %v", name, order)
	}
}

// TestCheckoutsPersistNoCredentials: no actions/checkout in the workflows
// leaves the job's token in .git/config for later steps.
func TestCheckoutsPersistNoCredentials(t *testing.T) {
	n := 0
	for name := range workflowFiles(t) {
		for jn, j := range readWorkflow(t, name).Jobs {
			for i, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "actions/checkout@") {
					continue
				}
				n++
				if s.With["persist-credentials"] != "false" {
					t.Errorf("%s job %s step %d: actions/checkout without persist-credentials: false", name, jn, i)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no actions/checkout found")
	}
}

// TestRunScriptsInterpolateNoExpressions: release.yml's scripts read inputs
// and step outputs from the environment, never as ${{ }} pasted into the
// script (where a crafted version string would be code).
func TestRunScriptsInterpolateNoExpressions(t *testing.T) {
	for jn, j := range readWorkflow(t, "release.yml").Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "${{") {
				t.Errorf("release.yml job %s step %q: ${{ }} inside run:", jn, s.Name)
			}
		}
	}
}

// TestPRCommandsPreFilterAndEnvironment: the example PR-comment workflow
// runs only for an OWNER, MEMBER or COLLABORATOR's comment, in an environment
// (whose protection rules then apply), before any credential is minted.
func TestPRCommandsPreFilterAndEnvironment(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			If          string    `yaml:"if"`
			Environment yaml.Node `yaml:"environment"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(workflowFiles(t)["example-pr-commands.yml"], &wf); err != nil {
		t.Fatal(err)
	}
	for name, j := range wf.Jobs {
		cond := strings.Join(strings.Fields(j.If), " ")
		want := `contains(fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]'), github.event.comment.author_association)`
		if !strings.Contains(cond, want) {
			t.Errorf("job %s: if: %q lacks the author_association pre-filter %s", name, cond, want)
		}
		env := j.Environment.Value
		if j.Environment.Kind == yaml.MappingNode {
			var e struct{ Name string }
			_ = j.Environment.Decode(&e)
			env = e.Name
		}
		if env == "" {
			t.Errorf("job %s runs in no environment: its protection rules cannot apply", name)
		}
	}
}
