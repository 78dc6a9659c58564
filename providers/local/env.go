package local

import (
	"os"
	"slices"
	"strings"
	"sync"
)

// The two variables a supervisor sets for its agent (see supervisorproc.go):
// its pid, which marks the agent as supervised, and the control API token.
// Declared on every platform, as the environment tests check for them.
const (
	envSupervisor = "RAMP_LOCAL_AGENT_SUPERVISOR"
	envToken      = "RAMP_LOCAL_AGENT_TOKEN"
)

// The environment of the processes the local provider starts.
//
// ramp runs as a CI step: its environment holds the job's token
// (INPUT_GITHUB-TOKEN, GITHUB_TOKEN), the runner's files and internal tokens
// (GITHUB_*, ACTIONS_*, RUNNER_*), cloud credentials and the inputs of the
// step that started it. None of that is the services' business, and the
// agent outlives the step. So the agent (the supervisor and its agent child)
// and every version start with a clean environment: only the variables
// named in baseEnv (and LC_*) of the environment ramp runs in, plus, for a
// version, the `env` the user gave and PORT; the agent also keeps the Go
// runtime settings (goRuntimeEnv), and a supervisor passes its agent the
// two variables it sets itself (envSupervisor, envToken), which the agent
// removes before it starts any version. A name that isCredential matches is
// never inherited, whatever else allows it.
//
// RUNNER_TRACKING_ID is the one RUNNER_* variable inherited: the GitHub
// Actions runner stops every process carrying its job's tracking ID when
// the job ends ("Cleaning up orphan processes"), so the agent and the
// versions live as long as the job that started them, on hosted and
// self-hosted runners alike (see README, "The local provider").

// runnerTrackingID is the variable the GitHub Actions runner finds its
// job's processes by at the end of the job.
const runnerTrackingID = "RUNNER_TRACKING_ID"

// baseEnv names what programs need to run: the search path, the user and
// home, the shell and terminal, the locale (with every LC_*), the time
// zone, the temporary directory, and on Windows the system directories.
var baseEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TMP", "TEMP",
	"SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "USERNAME",
	"APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES",
	runnerTrackingID,
}

// goRuntimeEnv names the Go runtime's settings, which the agent (a Go
// program: ramp itself) keeps; a version gets them only through `env`.
var goRuntimeEnv = []string{"GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK", "GORACE", "GOCOVERDIR"}

// ciPrefixes start the names of CI runner and ramp variables, and of
// well-known cloud credentials: never inherited.
var ciPrefixes = []string{
	"INPUT_", "GITHUB_", "ACTIONS_", "RUNNER_", "RAMP_", "STATE_",
	"AWS_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "AZURE_", "ARM_",
}

// credentialWords, anywhere in a name, mark a credential: never inherited.
var credentialWords = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "API_KEY", "APIKEY",
	"PRIVATE_KEY", "ACCESS_KEY", "AUTH"}

// isCredential reports whether the variable name belongs to the CI runner
// or to ramp (ciPrefixes, but RUNNER_TRACKING_ID), or looks like a
// credential (credentialWords). Names are compared without regard to case,
// as Windows does.
func isCredential(name string) bool {
	up := strings.ToUpper(name)
	return up != runnerTrackingID && hasPrefix(up, ciPrefixes) || hasWord(up, credentialWords)
}

// hasPrefix reports whether s starts with one of prefixes.
func hasPrefix(s string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}

// hasWord reports whether s holds one of words.
func hasWord(s string, words []string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(s, w) })
}

// testEnv holds the names KeepTestEnv added.
var testEnv struct {
	sync.RWMutex
	names []string
}

// KeepTestEnv adds names to the variables the agent and the versions
// inherit, for a test binary that re-executes itself as ramp, as the agent
// or as a sample app and steers that with variables of its own (the test
// binaries of this module call it from TestMain). A name holding a
// credentialWords word, or starting with a ciPrefixes prefix other than
// RAMP_, still never passes. ramp itself never calls it.
func KeepTestEnv(names ...string) {
	testEnv.Lock()
	defer testEnv.Unlock()
	testEnv.names = append(testEnv.names, names...)
}

// keptTestEnv returns the names KeepTestEnv added.
func keptTestEnv() []string {
	testEnv.RLock()
	defer testEnv.RUnlock()
	return slices.Clone(testEnv.names)
}

// agentEnv is the environment to start the agent with.
func agentEnv() []string { return cleanEnv(os.Environ(), true, keptTestEnv()) }

// versionEnv is the environment a version starts with, before its `env`
// and PORT.
func versionEnv() []string { return cleanEnv(os.Environ(), false, keptTestEnv()) }

// cleanEnv keeps the entries of environ ("NAME=value") that a process the
// local provider starts inherits: a name in baseEnv or starting with LC_,
// or for the agent in goRuntimeEnv, that isCredential does not match; or a
// name in extra (KeepTestEnv) that holds no credentialWords word and
// starts with no ciPrefixes prefix but RAMP_.
func cleanEnv(environ []string, agent bool, extra []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" { // Windows keeps per-drive directories as "=C:=C:\\..."
			continue
		}
		up := strings.ToUpper(name)
		allowed := slices.Contains(baseEnv, up) || strings.HasPrefix(up, "LC_") ||
			agent && slices.Contains(goRuntimeEnv, up)
		switch {
		case allowed && !isCredential(name):
			out = append(out, kv)
		case slices.Contains(extra, name) && !hasWord(up, credentialWords) &&
			(strings.HasPrefix(up, "RAMP_") || !hasPrefix(up, ciPrefixes)):
			out = append(out, kv)
		}
	}
	return out
}
