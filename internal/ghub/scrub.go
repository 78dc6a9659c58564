package ghub

import "regexp"

// A pull-request reply is read by anyone who can read the pull request, so
// it says nothing about the machine ramp runs on: scrub removes file paths,
// process IDs and network addresses from the text the Executor and the
// errors supply (a local agent's state directory, its pid and control
// address, a lease holder, loopback URLs). Public URLs by host name, such
// as a Cloud Run service's, stay.

// localURL matches a URL whose host is an IP address or localhost.
const localURL = `(?i:\b[a-z][a-z0-9+.-]*://(?:\[[0-9a-f.]*:[0-9a-f:.]*\]|\d{1,3}(?:\.\d{1,3}){3}|localhost)(?::\d+)?[^\s:,` + "`" + `"'<>)\]]*)`

// scrubRules replace, in order, what a reply must not show.
var scrubRules = []struct {
	re   *regexp.Regexp
	with string
}{
	// A Markdown link to a local URL keeps its text.
	{regexp.MustCompile(`\[([^\]\n]*)\]\(` + localURL + `\)`), "${1} (a local address)"},
	{regexp.MustCompile(localURL), "a local address"},
	// An IP address (v4, or v6 in brackets), with or without a port, and
	// localhost with a port.
	{regexp.MustCompile(`(?i)(?:\[[0-9a-f.]*:[0-9a-f:.]*\]|\b\d{1,3}(?:\.\d{1,3}){3}\b)(?::\d{1,5}\b)?|\blocalhost:\d{1,5}\b`), "a local address"},
	// A process: "pid 4242", "pid 4242 on runner-7", "PID=4242".
	{regexp.MustCompile(`(?i)\bpid[ :=#]*\d+(?: on [A-Za-z0-9._-]+)?`), "a process"},
	// An absolute Unix path of two segments or more after a space, a
	// bracket, a quote or '=' (so not a URL's path, nor a `/ramp` command in
	// a code span, nor a health path such as /healthz).
	{regexp.MustCompile(`(^|[\s(\[{"'=,])/[A-Za-z0-9._~+@-]+/[^\s:;,)\]}"'` + "`" + `]*`), "${1}a path"},
	// An absolute Windows path.
	{regexp.MustCompile(`\b[A-Za-z]:\\[^\s:;,)\]}"'` + "`" + `]*`), "a path"},
}

// scrub removes file paths, process IDs and local addresses from s.
func scrub(s string) string {
	for _, r := range scrubRules {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}
