package actiontest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubGH plays `gh api` for release.yml's publishing scripts: it answers
// "<METHOD> <path>" from the file $STUB/resp/<that, with / ? = and space as _>
// (exit 1, as gh on an HTTP error, when there is none), applies --jq as gh
// does, and logs each call with its -f/-F fields and --input body.
const stubGH = `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = api ] || { echo "stub gh: gh $1 is not expected here" >&2; exit 9; }
shift
method=""; jq=""; input=""; fields=""; path=""; silent=""
while [ $# -gt 0 ]; do
  case "$1" in
    -X) method=$2; shift 2 ;;
    -H) shift 2 ;;
    --jq) jq=$2; shift 2 ;;
    --input) input=$2; shift 2 ;;
    -f|-F) fields="${fields:+$fields }$2"; shift 2 ;;
    --silent) silent=1; shift ;;
    --paginate) shift ;;
    -*) echo "stub gh: unknown flag $1" >&2; exit 9 ;;
    *) path=$1; shift ;;
  esac
done
if [ -z "$method" ]; then
  if [ -n "$fields$input" ]; then method=POST; else method=GET; fi
fi
body=""
if [ "$input" = - ]; then body=$(jq -c .); fi
key=$(printf '%s %s' "$method" "$path" | tr '/?= ' '____')
printf '%s\t%s\t%s\t%s\n' "$method" "$path" "$fields" "$body" >>"$STUB/log"
[ -f "$STUB/resp/$key" ] || { echo "gh: HTTP 404 ($key)" >&2; exit 1; }
if [ -n "$jq" ]; then jq -r "$jq" "$STUB/resp/$key"; elif [ -z "$silent" ]; then cat "$STUB/resp/$key"; fi
`

type ghCall struct {
	method, path, fields, body string
}

// runPublishStep runs the named step of release.yml's publish job as the
// runner does (bash -eo pipefail) in a directory holding dist/, with gh
// stubbed by resp ("METHOD path" -> answer). It returns the gh calls made,
// what the step wrote to GITHUB_OUTPUT and its error.
func runPublishStep(t *testing.T, stepName string, dist map[string]string, resp map[string]string, env ...string) ([]ghCall, string, string, error) {
	t.Helper()
	for _, tool := range []string{"bash", "jq", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	var script string
	for _, s := range readWorkflow(t, "release.yml").Jobs["publish"].Steps {
		if s.Name == stepName {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatalf("release.yml: no publish step %q", stepName)
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	for _, d := range []string{filepath.Join(stub, "resp"), filepath.Join(stub, "bin"), filepath.Join(dir, "dist")} {
		must(0, os.MkdirAll(d, 0o755))
	}
	must(0, os.WriteFile(filepath.Join(stub, "bin", "gh"), []byte(stubGH), 0o755))
	must(0, os.WriteFile(filepath.Join(stub, "log"), nil, 0o644))
	for k, v := range resp {
		name := strings.NewReplacer("/", "_", "?", "_", "=", "_", " ", "_").Replace(k)
		must(0, os.WriteFile(filepath.Join(stub, "resp", name), []byte(v), 0o644))
	}
	for name, content := range dist {
		must(0, os.WriteFile(filepath.Join(dir, "dist", name), []byte(content), 0o644))
	}
	out := filepath.Join(dir, "output")
	must(0, os.WriteFile(out, nil, 0o644))
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + filepath.Join(stub, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"STUB=" + stub, "GITHUB_REPOSITORY=o/r", "GITHUB_SHA=" + srcCommit, "GITHUB_OUTPUT=" + out, "VERSION=v1.2.3",
	}, env...)
	stdout, err := cmd.CombinedOutput()
	var calls []ghCall
	for _, line := range strings.Split(string(must(os.ReadFile(filepath.Join(stub, "log")))), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 4 {
			calls = append(calls, ghCall{f[0], f[1], f[2], f[3]})
		}
	}
	return calls, string(must(os.ReadFile(out))), string(stdout), err
}

const srcCommit = "5555555555555555555555555555555555555555"

func checksumsJSON(bin string) string {
	sum := sha256.Sum256([]byte(bin))
	return `{"commit":"` + srcCommit + `","release":"v1.2.3","releases":{"v1.2.3":{"ramp_linux_amd64":"` + hex.EncodeToString(sum[:]) + `"}}}` + "\n"
}

// TestReleaseTagsACommitOfChecksumsOnTheSource runs the publishing step that
// makes the release commit: one commit whose parent is the tested and built
// source commit and whose tree is that commit's plus action/checksums.json
// (exactly the built checksums.json), tagged vX.Y.Z. A re-run accepts its
// own earlier tag and refuses any other.
func TestReleaseTagsACommitOfChecksumsOnTheSource(t *testing.T) {
	t.Parallel()
	const step = "Commit action/checksums.json on the source commit and tag it"
	sums := checksumsJSON("bin")
	dist := map[string]string{"checksums.json": sums}
	fresh := map[string]string{
		"GET repos/o/r/git/commits/" + srcCommit: `{"sha":"` + srcCommit + `","tree":{"sha":"tree0"}}`,
		"POST repos/o/r/git/trees":               `{"sha":"tree1"}`,
		"POST repos/o/r/git/commits":             `{"sha":"commit1"}`,
		"POST repos/o/r/git/refs":                `{"ref":"refs/tags/v1.2.3"}`,
	}
	calls, output, log, err := runPublishStep(t, step, dist, fresh)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	var tree struct {
		BaseTree string `json:"base_tree"`
		Tree     []map[string]string
	}
	var commit struct {
		Tree    string
		Parents []string
	}
	for _, c := range calls {
		switch c.method + " " + c.path {
		case "POST repos/o/r/git/trees":
			must(0, json.Unmarshal([]byte(c.body), &tree))
		case "POST repos/o/r/git/commits":
			must(0, json.Unmarshal([]byte(c.body), &commit))
		case "POST repos/o/r/git/refs":
			if c.fields != "ref=refs/tags/v1.2.3 sha=commit1" {
				t.Errorf("tag created with %q, want ref=refs/tags/v1.2.3 sha=commit1", c.fields)
			}
		}
	}
	if tree.BaseTree != "tree0" || len(tree.Tree) != 1 || tree.Tree[0]["path"] != "action/checksums.json" ||
		tree.Tree[0]["mode"] != "100644" || tree.Tree[0]["type"] != "blob" || tree.Tree[0]["content"] != sums {
		t.Errorf("tree: want the source commit's tree plus action/checksums.json = dist/checksums.json, got %+v", tree)
	}
	if commit.Tree != "tree1" || len(commit.Parents) != 1 || commit.Parents[0] != srcCommit {
		t.Errorf("commit: want tree1 on parent %s, got %+v", srcCommit, commit)
	}
	if !strings.Contains(output, "commit=commit1\n") {
		t.Errorf("GITHUB_OUTPUT %q lacks commit=commit1", output)
	}

	// A re-run: the tag is there, made by the first run from the same source and checksums.
	rerun := map[string]string{
		"GET repos/o/r/git/commits/" + srcCommit:                   fresh["GET repos/o/r/git/commits/"+srcCommit],
		"POST repos/o/r/git/trees":                                 `{"sha":"tree1"}`,
		"POST repos/o/r/git/commits":                               `{"sha":"commit2"}`,
		"GET repos/o/r/git/ref/tags/v1.2.3":                        `{"object":{"type":"commit","sha":"commit1"}}`,
		"GET repos/o/r/git/commits/commit1":                        `{"parents":[{"sha":"` + srcCommit + `"}]}`,
		"GET repos/o/r/contents/action/checksums.json?ref=commit1": sums,
	}
	_, output, log, err = runPublishStep(t, step, dist, rerun)
	if err != nil || !strings.Contains(output, "commit=commit1\n") {
		t.Errorf("re-run: want the first run's commit1, got %q, %v\n%s", output, err, log)
	}
	for what, change := range map[string][2]string{
		"other checksums": {"GET repos/o/r/contents/action/checksums.json?ref=commit1", checksumsJSON("other")},
		"other parent":    {"GET repos/o/r/git/commits/commit1", `{"parents":[{"sha":"6666666666666666666666666666666666666666"}]}`},
		"annotated tag":   {"GET repos/o/r/git/ref/tags/v1.2.3", `{"object":{"type":"tag","sha":"t1"}}`},
	} {
		r := map[string]string{}
		for k, v := range rerun {
			r[k] = v
		}
		r[change[0]] = change[1]
		_, output, log, err = runPublishStep(t, step, dist, r)
		if err == nil || !strings.Contains(log, "::error::tag v1.2.3 exists") || output != "" {
			t.Errorf("tag there with %s: want a refusal, got %v, output %q\n%s", what, err, output, log)
		}
	}
}

// TestReleaseMovesTheMajorTagToTheReleaseCommit: vX moves to the commit that
// holds action/checksums.json (not to the source commit), and only for the
// newest vX.Y.Z.
func TestReleaseMovesTheMajorTagToTheReleaseCommit(t *testing.T) {
	t.Parallel()
	const step = "Move the major tag"
	refs := func(tags ...string) string {
		var b []string
		for _, t := range tags {
			b = append(b, `{"ref":"refs/tags/`+t+`"}`)
		}
		return "[" + strings.Join(b, ",") + "]"
	}
	resp := map[string]string{
		"GET repos/o/r/git/matching-refs/tags/v1.": refs("v1.1.0", "v1.2.3", "v1.2.3-rc.1", "v1.10.0-rc.1"),
		"GET repos/o/r/git/ref/tags/v1":            `{"object":{"type":"commit","sha":"old"}}`,
		"PATCH repos/o/r/git/refs/tags/v1":         `{}`,
	}
	calls, _, log, err := runPublishStep(t, step, nil, resp, "COMMIT=commit1")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	last := calls[len(calls)-1]
	if last.method != "PATCH" || last.fields != "sha=commit1 force=true" {
		t.Errorf("want v1 moved to commit1 with force, got %+v\n%s", last, log)
	}

	delete(resp, "GET repos/o/r/git/ref/tags/v1")
	resp["POST repos/o/r/git/refs"] = `{}`
	calls, _, log, err = runPublishStep(t, step, nil, resp, "COMMIT=commit1")
	if last := calls[len(calls)-1]; err != nil || last.method != "POST" || last.fields != "ref=refs/tags/v1 sha=commit1" {
		t.Errorf("no v1 yet: want it created at commit1, got %+v, %v\n%s", last, err, log)
	}

	resp["GET repos/o/r/git/matching-refs/tags/v1."] = refs("v1.2.3", "v1.10.0")
	calls, _, log, err = runPublishStep(t, step, nil, resp, "COMMIT=commit1")
	if err != nil || len(calls) != 1 || !strings.Contains(log, "v1 stays: v1.10.0 is newer than v1.2.3") {
		t.Errorf("an older release must not move v1: %v, calls %+v\n%s", err, calls, log)
	}
}

// TestReleaseChecksTheArtifact: the publishing job refuses an artifact whose
// binaries do not match its checksums.txt and checksums.json, or whose
// checksums.json is not this version's, built from this commit.
func TestReleaseChecksTheArtifact(t *testing.T) {
	t.Parallel()
	const step = "Check the artifact"
	sum := sha256.Sum256([]byte("bin"))
	good := map[string]string{
		"ramp_linux_amd64": "bin",
		"checksums.txt":    hex.EncodeToString(sum[:]) + "  ramp_linux_amd64\n",
		"checksums.json":   checksumsJSON("bin"),
	}
	if _, _, log, err := runPublishStep(t, step, good, nil); err != nil {
		t.Fatalf("a good artifact is refused: %v\n%s", err, log)
	}
	bad := map[string][2]string{
		"tampered binary":      {"ramp_linux_amd64", "evil"},
		"json of another bin":  {"checksums.json", checksumsJSON("other")},
		"json of another tag":  {"checksums.json", strings.ReplaceAll(checksumsJSON("bin"), "v1.2.3", "v1.2.4")},
		"json of other commit": {"checksums.json", strings.ReplaceAll(checksumsJSON("bin"), srcCommit, strings.Repeat("6", 40))},
		"extra binary":         {"ramp_linux_arm64", "bin"},
	}
	for what, change := range bad {
		d := map[string]string{}
		for k, v := range good {
			d[k] = v
		}
		d[change[0]] = change[1]
		if change[0] == "ramp_linux_arm64" {
			d["checksums.txt"] += hex.EncodeToString(sum[:]) + "  ramp_linux_arm64\n"
		}
		if _, _, log, err := runPublishStep(t, step, d, nil); err == nil {
			t.Errorf("%s: the artifact passes the check\n%s", what, log)
		}
	}
}
