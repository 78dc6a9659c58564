package cli_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
	"github.com/ramp-deploy/ramp/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with what the tests got")

// Commits of the repository the fake GitHub serves (ghubtest.Repo).
const (
	ghOldSHA   = "abc1234aaaabbbbccccddddeeeeffff000011112" // deployed first
	ghHeadSHA  = "def5678aaaabbbbccccddddeeeeffff000011112" // the change rolled out; the head of PR #42
	ghOtherSHA = "1111111aaaabbbbccccddddeeeeffff000011112" // the head of PR #43
	ghMainSHA  = "0a1b2c3aaaabbbbccccddddeeeeffff000011112" // GITHUB_SHA of an issue_comment run
	ghRunURL   = "https://github.com/acme/shop/actions/runs/77"
)

// stepTimeout bounds one ramp invocation.
const stepTimeout = time.Minute

// ghJob is a GitHub Actions job running ramp steps against the local
// provider (the test binary as agent and sample app) and a fake GitHub API.
type ghJob struct {
	fake   *ghubtest.Fake
	dir    string // the job's temporary directory
	listen string // the service's address
	base   map[string]string
	steps  int
}

// ghStep is what one ramp step did.
type ghStep struct {
	code                    int
	stdout, stderr          string
	outputs, summary, state string // GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE
}

// newGHJob sets up a job for service web of acme/shop, with inputs as the
// action passes them; its steps deploy revision v<n> of the sample app
// canary 50% then 100%, checked by an HTTP probe every 200ms (whose answers
// may take up to 30s: a loaded machine is no failure). The local provider
// is stopped when the test ends.
func newGHJob(t *testing.T) *ghJob {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	j := &ghJob{fake: ghubtest.New(t), dir: t.TempDir(), listen: freePort(t)}
	j.base = map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": ghubtest.Repo, "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_API_URL": j.fake.URL(), "GITHUB_RUN_ID": "77", "GITHUB_ACTOR": "carol", "GITHUB_EVENT_NAME": "push",
		"INPUT_PROVIDER": "local", "INPUT_SERVICE": "web", "INPUT_STATE-DIR": filepath.Join(j.dir, "state"),
		"INPUT_LISTEN": j.listen, "INPUT_IMAGE": fmt.Sprintf("'%s' sample-app", exe), "INPUT_STEPS": "50,100",
		"INPUT_INTERVAL": "200ms", "INPUT_MIN-REQUESTS": "0", "INPUT_MAX-ERROR-RATE": "0", "INPUT_PROBE-PATH": "/",
		"INPUT_PROBE-MAX-LATENCY": "30s", "INPUT_ENVIRONMENT": "production", "INPUT_GITHUB-TOKEN": ghubtest.Token,
	}
	t.Cleanup(func() { // t.Context() is already done here
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		defer cancel()
		if code, _, stderr := rampCtx(ctx, j.base, "down"); code != 0 {
			t.Errorf("ramp down: exit %d: %s", code, stderr)
		}
	})
	return j
}

// run runs ramp with args as one step of the job, with the runner's files
// of its own; env adds to the job's variables (an empty value removes one).
// It checks that the token shows nowhere but in ::add-mask:: commands.
func (j *ghJob) run(t *testing.T, env map[string]string, args ...string) ghStep {
	t.Helper()
	j.steps++
	dir := filepath.Join(j.dir, fmt.Sprintf("step%d", j.steps))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := maps.Clone(j.base)
	vars["GITHUB_OUTPUT"], vars["GITHUB_STEP_SUMMARY"], vars["GITHUB_STATE"] =
		filepath.Join(dir, "output"), filepath.Join(dir, "summary"), filepath.Join(dir, "state")
	for k, v := range env {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	var s ghStep
	s.code, s.stdout, s.stderr = rampCtx(ctx, vars, args...)
	s.outputs, s.summary, s.state = readOptional(t, vars["GITHUB_OUTPUT"]), readOptional(t, vars["GITHUB_STEP_SUMMARY"]),
		readOptional(t, vars["GITHUB_STATE"])
	if vars["INPUT_GITHUB-TOKEN"] != "" && !strings.Contains(s.stdout, "::add-mask::"+ghubtest.Token+"\n") {
		t.Errorf("ramp %s did not mask the token:\n%s", strings.Join(args, " "), s.stdout)
	}
	noToken(t, map[string]string{"stdout": unmasked(s.stdout), "stderr": unmasked(s.stderr), "the outputs": s.outputs,
		"the job summary": s.summary, "the state": s.state})
	return s
}

// deploy runs `ramp deploy` of revision v<version> built from commit sha;
// env adds to the step's variables.
func (j *ghJob) deploy(t *testing.T, sha string, version int, env map[string]string, args ...string) ghStep {
	t.Helper()
	vars := map[string]string{"GITHUB_SHA": sha, "INPUT_REVISION": fmt.Sprintf("v%d", version),
		"INPUT_ENV": fmt.Sprintf("SAMPLE_VERSION=v%d", version)}
	maps.Copy(vars, env)
	return j.run(t, vars, append([]string{"deploy"}, args...)...)
}

// firstDeploy deploys v1 from ghOldSHA without GitHub reporting, so that
// the fake records only what the test is about.
func (j *ghJob) firstDeploy(t *testing.T) {
	t.Helper()
	if s := j.deploy(t, ghOldSHA, 1, map[string]string{"INPUT_GITHUB-TOKEN": ""}); s.code != cli.ExitOK {
		t.Fatalf("first deploy: exit %d\n%s\n%s", s.code, s.stdout, s.stderr)
	}
}

// status returns the service's status as `ramp status --output=json` shows it.
func (j *ghJob) status(t *testing.T) providers.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	code, stdout, stderr := rampCtx(ctx, j.base, "status", "--output=json")
	if code != cli.ExitOK {
		t.Fatalf("ramp status: exit %d: %s", code, stderr)
	}
	var st providers.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("ramp status --output=json: %v\n%s", err, stdout)
	}
	return st
}

// snapshot returns what the fake recorded, checking that every call
// carried the token and that the token shows in nothing GitHub was sent.
func (j *ghJob) snapshot(t *testing.T) ghubtest.State {
	t.Helper()
	s := j.fake.Snapshot()
	if s.Unauthed != 0 {
		t.Errorf("%d calls without the token", s.Unauthed)
	}
	sent, err := json.Marshal(struct {
		S []ghubtest.Status
		D []ghubtest.Deployment
		C []ghubtest.Comment
	}{s.Statuses, s.Deployments, s.Comments})
	if err != nil {
		t.Fatal(err)
	}
	noToken(t, map[string]string{"what GitHub was sent": string(sent)})
	return s
}

func readOptional(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// unmasked drops the ::add-mask:: commands, the one place a secret may
// show: the runner consumes them.
func unmasked(log string) string {
	var keep []string
	for line := range strings.SplitSeq(log, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// noToken fails the test if the token, or its secret part, shows in any of
// the texts.
func noToken(t *testing.T, texts map[string]string) {
	t.Helper()
	secret := strings.TrimPrefix(ghubtest.Token, "ghs_")
	for name, text := range texts {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the token:\n%s", name, text)
		}
	}
}

// parseOutputs reads a GITHUB_OUTPUT (or GITHUB_STATE) file: name<<DELIM
// blocks, each value closed by its own delimiter. A later value of a name
// wins, as on the runner.
func parseOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if file == "" {
		return out
	}
	lines := strings.Split(strings.TrimSuffix(file, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok || name == "" || !strings.HasPrefix(delim, "ghadelimiter_") {
			t.Fatalf("line %d of the outputs is not name<<ghadelimiter_...: %q\n%s", i+1, lines[i], file)
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("output %s is not closed by %s:\n%s", name, delim, file)
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}

// warnings returns the `ramp: warning:` lines of stderr, without the prefix.
func warnings(stderr string) []string {
	var out []string
	for line := range strings.SplitSeq(stderr, "\n") {
		if w, ok := strings.CutPrefix(line, "ramp: warning: "); ok {
			out = append(out, w)
		}
	}
	return out
}

// durationRE matches a duration as ramp prints it: 203ms, 1.5s, 1m30s.
const durationRE = `(?:\d+(?:\.\d+)?(?:ns|µs|ms|s|m|h))+`

// timingRules replace what changes from run to run with placeholders.
var timingRules = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`ghadelimiter_[0-9a-f]+`), "ghadelimiter_RANDOM"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\b\d{8}-\d{6}-[0-9a-f]{4}\b`), "ROLLOUT-ID"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})`), "TIME"},
	// The verdict line ends with how long the rollout took.
	{regexp.MustCompile(`(?m) · ` + durationRE + `$`), " · DURATION"},
	// The last column of the steps table is how long each step took.
	{regexp.MustCompile(`(?m)^(\|.*\| )` + durationRE + `((?: \([^)|]*\))? \|)$`), "${1}DURATION${2}"},
	// Whether the traffic is a chart or one line depends on whether a
	// weight was held a second, which a loaded machine decides: either
	// becomes TRAFFIC (report's own tests pin both).
	{regexp.MustCompile("(?s)```mermaid\n[^\n]*\nxychart-beta\n  title \"Traffic to [^`]*```"), "TRAFFIC"},
	{regexp.MustCompile(`(?m)^Traffic: .* in ` + durationRE + `\.$`), "TRAFFIC"},
	// The comparison chart's samples depend on how long the rollout took.
	{regexp.MustCompile(`x-axis "elapsed \(s\)" 0 --> \d+`), `x-axis "elapsed (s)" 0 --> N`},
	{regexp.MustCompile(`(?m)^  line \[[0-9, ]*\]$`), "  line [SAMPLES]"},
}

// normalize replaces timings, ports, temporary paths and random IDs in s
// with placeholders; the service's own address becomes 127.0.0.1:LISTEN.
func (j *ghJob) normalize(s string) string {
	s = strings.ReplaceAll(s, j.dir, "$TMP")
	s = strings.ReplaceAll(s, j.listen, "127.0.0.1:LISTEN")
	for _, r := range timingRules {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run '%s' -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is right, run go test ./internal/cli -run '%s' -update:\n%s",
			path, t.Name(), diff)
	}
}

// goldenStep compares a step's outputs file and job summary with a golden
// file, once normalised.
func (j *ghJob) goldenStep(t *testing.T, name string, s ghStep) {
	t.Helper()
	golden(t, name, j.normalize("# GITHUB_OUTPUT\n"+s.outputs+"\n# GITHUB_STEP_SUMMARY\n"+s.summary))
}

func wantExit(t *testing.T, what string, s ghStep, want int) {
	t.Helper()
	if s.code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, s.code, want, s.stdout, s.stderr)
	}
}

func commitStatus(sha, state, desc string) ghubtest.Status {
	return ghubtest.Status{SHA: sha, State: state, Context: "ramp/web", Description: desc, TargetURL: ghRunURL}
}

func deploymentStatus(state, desc, envURL string) ghubtest.DeploymentStatus {
	return ghubtest.DeploymentStatus{State: state, Description: desc, LogURL: ghRunURL, EnvironmentURL: envURL}
}

// rampDeployment is a deployment ramp created for revision candidate
// replacing stable (none on a first deploy).
func rampDeployment(id int64, sha, candidate, stable string, statuses ...ghubtest.DeploymentStatus) ghubtest.Deployment {
	payload := map[string]any{"tool": "ramp", "service": "web", "strategy": "canary", "candidate": candidate}
	desc := "canary rollout of web: candidate " + candidate
	if stable != "" {
		payload["stable"] = stable
		desc += " replacing " + stable
	}
	return ghubtest.Deployment{ID: id, Ref: sha, Task: "deploy:web", Environment: "production", Desc: desc,
		AutoMerge: new(false), RequiredContexts: &[]string{}, Payload: payload,
		Statuses: append([]ghubtest.DeploymentStatus{deploymentStatus("in_progress", desc, "")}, statuses...)}
}

// seededPayload is the payload of the deployment of web the fake is seeded
// with (seedDeployment).
func seededPayload() map[string]any { return map[string]any{"tool": "ramp", "service": "web"} }

// seedDeployment seeds the fake with an earlier successful deployment of
// web at ghOldSHA, as ramp made it, and returns its ID.
func seedDeployment(f *ghubtest.Fake) int64 {
	return f.SeedDeploymentWith(ghubtest.Deployment{Environment: "production", Ref: ghOldSHA, Task: "deploy:web",
		Payload: seededPayload()}, "success")
}

// seededDeployment is the successful deployment of ghOldSHA the fake is
// seeded with, followed by the statuses ramp added.
func seededDeployment(id int64, more ...ghubtest.DeploymentStatus) ghubtest.Deployment {
	return ghubtest.Deployment{ID: id, Ref: ghOldSHA, Task: "deploy:web", Environment: "production", Desc: "seeded",
		Payload: seededPayload(), Statuses: append([]ghubtest.DeploymentStatus{{State: "success", Description: "seeded success"}}, more...)}
}

// withoutRolloutIDs checks that each deployment ramp created names its
// rollout in its payload, and removes the IDs, which change every run.
func withoutRolloutIDs(t *testing.T, ds []ghubtest.Deployment) []ghubtest.Deployment {
	t.Helper()
	for _, d := range ds {
		if d.Desc == "seeded" {
			continue
		}
		if id, _ := d.Payload["rollout_id"].(string); id == "" {
			t.Errorf("deployment %d names no rollout: payload %v", d.ID, d.Payload)
		}
		delete(d.Payload, "rollout_id")
	}
	return ds
}

func repoCall(method, path string) string { return method + " /repos/acme/shop/" + path }

// TestGitHubPromotedRollout runs two deploys as two GitHub Actions jobs: a
// first deploy, then a canary of the next commit. Each sets commit statuses
// on its commit and a deployment in production; the second retires the
// first deployment. The outputs file and the job summary match the golden
// file.
func TestGitHubPromotedRollout(t *testing.T) {
	t.Parallel()
	j := newGHJob(t)
	first := j.deploy(t, ghOldSHA, 1, nil)
	wantExit(t, "first deploy", first, cli.ExitOK)
	second := j.deploy(t, ghHeadSHA, 2, nil)
	wantExit(t, "second deploy", second, cli.ExitOK)

	service := "http://" + j.listen
	got := j.snapshot(t)
	wantStatuses := []ghubtest.Status{
		commitStatus(ghOldSHA, "pending", "canary rollout of web started: candidate v1"),
		commitStatus(ghOldSHA, "pending", "canary 0% — probe 100% ok"),
		commitStatus(ghOldSHA, "success", "canary promoted v1 to 100%"),
		commitStatus(ghHeadSHA, "pending", "canary rollout of web started: candidate v2"),
		commitStatus(ghHeadSHA, "pending", "canary 50% — shifted from 0%"),
		commitStatus(ghHeadSHA, "pending", "canary 50% — probe 100% ok"),
		commitStatus(ghHeadSHA, "success", "canary promoted v2 to 100%"),
	}
	if diff := cmp.Diff(wantStatuses, got.Statuses); diff != "" {
		t.Errorf("commit statuses (-want +got):\n%s", diff)
	}
	wantDeployments := []ghubtest.Deployment{
		rampDeployment(1001, ghOldSHA, "v1", "",
			deploymentStatus("success", "canary promoted v1 to 100%", service),
			ghubtest.DeploymentStatus{State: "inactive", Description: "superseded by deployment 1002 of def5678"}),
		rampDeployment(1002, ghHeadSHA, "v2", "v1",
			deploymentStatus("success", "canary promoted v2 to 100%", service)),
	}
	if diff := cmp.Diff(wantDeployments, withoutRolloutIDs(t, got.Deployments)); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		// The first deploy: no earlier deployment to retire.
		repoCall("POST", "statuses/"+ghOldSHA),
		repoCall("POST", "deployments"),
		repoCall("POST", "deployments/1001/statuses"),
		repoCall("POST", "statuses/"+ghOldSHA),
		repoCall("POST", "statuses/"+ghOldSHA),
		repoCall("POST", "deployments/1001/statuses"),
		repoCall("GET", "deployments?environment=production&per_page=50"),
		// The canary: it retires the first deployment.
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "deployments"),
		repoCall("POST", "deployments/1002/statuses"),
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "deployments/1002/statuses"),
		repoCall("GET", "deployments?environment=production&per_page=50"),
		repoCall("GET", "deployments/1001/statuses?per_page=1"),
		repoCall("POST", "deployments/1001/statuses"),
	}
	if diff := cmp.Diff(wantCalls, got.Calls); diff != "" {
		t.Errorf("GitHub API calls (-want +got):\n%s", diff)
	}
	if len(got.Comments) != 0 || len(got.Reactions) != 0 {
		t.Errorf("comments %v, reactions %v; want none", got.Comments, got.Reactions)
	}

	for _, tc := range []struct {
		name       string
		step       ghStep
		outputs    map[string]string
		deployment string
	}{
		{"first deploy", first, map[string]string{"result": "promoted", "stable": "v1", "candidate": "v1", "weight": "100",
			"url": service, "summary": "promoted: every step passed", "verdict": "none"}, "1001"},
		{"second deploy", second, map[string]string{"result": "promoted", "stable": "v2", "candidate": "v2", "weight": "100",
			"url": service, "summary": "promoted: every step passed", "verdict": "none"}, "1002"},
	} {
		if diff := cmp.Diff(tc.outputs, parseOutputs(t, tc.step.outputs)); diff != "" {
			t.Errorf("%s: outputs (-want +got):\n%s", tc.name, diff)
		}
		// The post step reads the deployment and the outcome from the state.
		state := parseOutputs(t, tc.step.state)
		if state["deployment"] != tc.deployment || state["finished"] != "promoted" || state["rollout"] == "" {
			t.Errorf("%s: state %v, want deployment %s, finished promoted and the rollout's ID", tc.name, state, tc.deployment)
		}
		if len(warnings(tc.step.stderr)) != 0 {
			t.Errorf("%s: warnings %q", tc.name, warnings(tc.step.stderr))
		}
	}
	if !strings.Contains(second.stdout, "::notice title=ramp%3A promoted::promoted: every step passed\n") {
		t.Errorf("no promoted notice in the log:\n%s", second.stdout)
	}
	j.goldenStep(t, "github_promoted.golden", second)
}

// TestGitHubRolledBackRollout deploys a candidate that fails its probe: the
// commit status and the deployment end in failure, the earlier deployment
// stays active, and the step exits 3.
func TestGitHubRolledBackRollout(t *testing.T) {
	t.Parallel()
	j := newGHJob(t)
	j.firstDeploy(t)
	previous := seedDeployment(j.fake)
	s := j.deploy(t, ghHeadSHA, 2, map[string]string{"INPUT_ENV": "SAMPLE_VERSION=v2,SAMPLE_FAIL_RATE=1"})
	wantExit(t, "faulty deploy", s, cli.ExitRolledBack)

	const (
		failed = "probe = 0% (threshold ≥ 100%, 5 samples over 200ms): 5 of 5 probes failed; last: status 500, want 200"
		// GitHub takes 140 characters; ramp cuts the rest.
		verdict = "canary rolled back from 50%: probe failed 2 times in a row (failure-threshold 2): " +
			"0% (threshold ≥ 100%, 5 samples over 200ms): 5 of 5 probe…"
	)
	got := j.snapshot(t)
	wantStatuses := []ghubtest.Status{
		commitStatus(ghHeadSHA, "pending", "canary rollout of web started: candidate v2"),
		commitStatus(ghHeadSHA, "pending", "canary 50% — shifted from 0%"),
		commitStatus(ghHeadSHA, "pending", "canary 50% — holding: "+failed),
		commitStatus(ghHeadSHA, "failure", verdict),
	}
	if diff := cmp.Diff(wantStatuses, got.Statuses); diff != "" {
		t.Errorf("commit statuses (-want +got):\n%s", diff)
	}
	wantDeployments := []ghubtest.Deployment{
		seededDeployment(previous), // still the active one
		rampDeployment(previous+1, ghHeadSHA, "v2", "v1", deploymentStatus("failure", verdict, "")),
	}
	if diff := cmp.Diff(wantDeployments, withoutRolloutIDs(t, got.Deployments)); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "deployments"),
		repoCall("POST", "deployments/1002/statuses"),
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "statuses/"+ghHeadSHA),
		repoCall("POST", "deployments/1002/statuses"),
	}
	if diff := cmp.Diff(wantCalls, got.Calls); diff != "" {
		t.Errorf("GitHub API calls (-want +got):\n%s", diff)
	}
	wantOutputs := map[string]string{"result": "rolled_back", "stable": "v1", "candidate": "v2", "weight": "0",
		"url": "http://" + j.listen, "summary": "rolled_back: probe failed 2 times in a row (failure-threshold 2): " + strings.TrimPrefix(failed, "probe = "),
		"verdict": "none"}
	if diff := cmp.Diff(wantOutputs, parseOutputs(t, s.outputs)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !strings.Contains(s.stdout, "::error title=ramp%3A rolled_back::rolled_back: probe failed 2 times in a row") {
		t.Errorf("no rolled_back error annotation in the log:\n%s", s.stdout)
	}
	if w := warnings(s.stderr); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	j.goldenStep(t, "github_rolled_back.golden", s)
}

// TestGitHubReportingNeverBreaksADeploy runs canaries while GitHub refuses
// or fails: ramp warns once per capability, naming the permission the
// workflow must grant, and the exit code is the rollout's.
func TestGitHubReportingNeverBreaksADeploy(t *testing.T) {
	t.Parallel()
	const (
		noStatuses = "GitHub commit statuses are off for this run: could not set the commit status: " +
			"GitHub answered 403 Resource not accessible by integration: the token needs `statuses: write` " +
			"(add it to the workflow's `permissions:`). The rollout goes on."
		noDeployments = "GitHub deployments are off for this run: could not create the deployment: " +
			"GitHub answered 403 Resource not accessible by integration: the token needs `deployments: write` " +
			"(add it to the workflow's `permissions:`). The rollout goes on."
		statusesDown = "GitHub commit statuses are off for this run: could not set the commit status: " +
			"the GitHub API is unavailable (503 Service Unavailable). The rollout goes on."
		deploymentsDown = "GitHub deployments are off for this run: could not create the deployment: " +
			"the GitHub API is unavailable (503 Service Unavailable). The rollout goes on."
	)
	cases := []struct {
		name     string
		family   string // fails
		code     int    // with this HTTP status
		echo     bool   // the answer quotes the Authorization header
		faulty   bool   // the candidate fails its probe
		exit     int
		result   string
		warnings []string
		calls    map[string]int // per endpoint family
		statuses int            // commit statuses recorded
		promoted bool           // the deployment was recorded as promoted
	}{{
		name: "a token without statuses: write", family: ghubtest.FamilyStatuses, code: 403,
		exit: cli.ExitOK, result: "promoted", warnings: []string{noStatuses},
		calls: map[string]int{"statuses": 1, "deployments": 6}, promoted: true,
	}, {
		name: "a proxy that quotes the token", family: ghubtest.FamilyStatuses, code: 403, echo: true,
		exit: cli.ExitOK, result: "promoted",
		warnings: []string{strings.Replace(noStatuses, "integration:", "integration (you sent ***):", 1)},
		calls:    map[string]int{"statuses": 1, "deployments": 6}, promoted: true,
	}, {
		name: "a token without deployments: write", family: ghubtest.FamilyDeployments, code: 403,
		exit: cli.ExitOK, result: "promoted", warnings: []string{noDeployments},
		calls: map[string]int{"statuses": 4, "deployments": 1}, statuses: 4,
	}, {
		name: "GitHub down during a rollback", family: ghubtest.AllFamilies, code: 503, faulty: true,
		exit: cli.ExitRolledBack, result: "rolled_back", warnings: []string{statusesDown, deploymentsDown},
		calls: map[string]int{"statuses": 2, "deployments": 1}, // a status is tried twice; a deployment is never created twice
	}, {
		name: "GitHub down during a promotion", family: ghubtest.AllFamilies, code: 503,
		exit: cli.ExitOK, result: "promoted", warnings: []string{statusesDown, deploymentsDown},
		calls: map[string]int{"statuses": 2, "deployments": 1},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := newGHJob(t)
			j.firstDeploy(t)
			previous := seedDeployment(j.fake)
			j.fake.Fail(tc.family, tc.code)
			j.fake.EchoAuth(tc.echo)
			env := map[string]string{}
			if tc.faulty {
				env["INPUT_ENV"] = "SAMPLE_VERSION=v2,SAMPLE_FAIL_RATE=1"
			}
			s := j.deploy(t, ghHeadSHA, 2, env)
			wantExit(t, "deploy", s, tc.exit)
			if got := parseOutputs(t, s.outputs)["result"]; got != tc.result {
				t.Errorf("result output %q, want %q", got, tc.result)
			}
			if diff := cmp.Diff(tc.warnings, warnings(s.stderr)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\nstderr:\n%s", diff, s.stderr)
			}
			if n := strings.Count(s.stdout, "::warning title=ramp::"); n != len(tc.warnings) {
				t.Errorf("%d warning annotations, want %d:\n%s", n, len(tc.warnings), s.stdout)
			}
			got := j.snapshot(t)
			if diff := cmp.Diff(tc.calls, got.CallsPerFamily()); diff != "" {
				t.Errorf("calls per endpoint family (-want +got):\n%s\n%s", diff, got)
			}
			if len(got.Statuses) != tc.statuses {
				t.Errorf("%d commit statuses recorded, want %d: %v", len(got.Statuses), tc.statuses, got.Statuses)
			}
			if tc.promoted {
				want := []ghubtest.Deployment{
					seededDeployment(previous, ghubtest.DeploymentStatus{State: "inactive", Description: "superseded by deployment 1002 of def5678"}),
					rampDeployment(previous+1, ghHeadSHA, "v2", "v1", deploymentStatus("success", "canary promoted v2 to 100%", "http://"+j.listen)),
				}
				if diff := cmp.Diff(want, withoutRolloutIDs(t, got.Deployments)); diff != "" {
					t.Errorf("deployments (-want +got):\n%s", diff)
				}
			}
		})
	}
}
