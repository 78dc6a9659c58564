package ghub

import (
	"fmt"
	"regexp"
	"strings"
)

// Verb is what a `/ramp` command asks for.
type Verb string

// The verbs of `/ramp` commands.
const (
	// VerbPromote promotes the rollout in flight at once.
	VerbPromote Verb = "promote"
	// VerbRollback sends all the traffic back to the stable revision.
	VerbRollback Verb = "rollback"
	// VerbPause holds the rollout at its current weight.
	VerbPause Verb = "pause"
	// VerbResume continues a paused rollout.
	VerbResume Verb = "resume"
	// VerbStatus reports the rollout's state and changes nothing.
	VerbStatus Verb = "status"
)

// words is the verb as words in a sentence: "roll back".
func (v Verb) words() string {
	if v == VerbRollback {
		return "roll back"
	}
	return string(v)
}

// Verbs lists every verb, in the order the help shows them.
var Verbs = []Verb{VerbPromote, VerbRollback, VerbPause, VerbResume, VerbStatus}

// Prefix starts every command.
const Prefix = "/ramp"

// Command is a `/ramp <verb> [service]` command parsed from a comment. Its
// fields hold no comment text but the checked verb and service name, so
// they are safe to log.
type Command struct {
	// Verb is the verb asked for; empty when Problem is set.
	Verb Verb
	// Service names the service, if the comment named one.
	Service string
	// Problem says why a comment that starts with /ramp is not a valid
	// command (an unknown verb, a bad service name); the reply explains it
	// with Help.
	Problem string
	// Commit is the SHA the command was authorised against, set by
	// HandleComment before Run: the pull request's head, or the merge
	// commit of a merged pull request when the rollout was deployed from
	// it. An Executor should refuse to act if the rollout's commit changed
	// since.
	Commit string
}

// String renders the command as typed, e.g. "/ramp rollback web".
func (c Command) String() string {
	s := Prefix + " " + string(c.Verb)
	if c.Service != "" {
		s += " " + c.Service
	}
	return s
}

// serviceName is what a service named in a command may look like: one
// path segment of letters, digits and ._- (no slash), so that a service
// name can never lead a state directory or a file name elsewhere. ".." is
// refused on top of that (see ValidService).
var serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidService reports whether s is acceptable as a service name in a
// command (and so in the list of services commands may name).
func ValidService(s string) bool {
	return serviceName.MatchString(s) && !strings.Contains(s, "..")
}

// ParseCommand reads a command from the first line of a comment body. Only
// a comment whose first line starts with "/ramp" is a command; the verb is
// matched without regard to case. A comment that starts with "/ramp" but
// does not name a known verb (or names a malformed service) gives a command
// with a Problem to reply, and true.
func ParseCommand(body string) (Command, bool) {
	line, _, _ := strings.Cut(body, "\n")
	fields := strings.Fields(line)
	if len(fields) == 0 || !strings.EqualFold(fields[0], Prefix) {
		return Command{}, false
	}
	if len(fields) == 1 {
		return Command{Problem: "the command names no verb"}, true
	}
	verb := Verb(strings.ToLower(fields[1]))
	known := false
	for _, v := range Verbs {
		known = known || v == verb
	}
	switch {
	case !known:
		return Command{Problem: "unknown verb " + code(safeWord(fields[1]))}, true
	case len(fields) > 3:
		return Command{Problem: "too many words: a command is `/ramp <verb> [service]`"}, true
	case len(fields) == 3 && !ValidService(fields[2]):
		return Command{Problem: "malformed service name " + code(safeWord(fields[2]))}, true
	}
	cmd := Command{Verb: verb}
	if len(fields) == 3 {
		cmd.Service = fields[2]
	}
	return cmd, true
}

// safeWord keeps the letters, digits and ._/- of a word from a comment,
// replacing anything else, so that it can be shown and logged safely.
func safeWord(s string) string {
	s = clip(s, 40)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._/-…", r):
			return r
		}
		return '?'
	}, s)
}

// Help is the Markdown help the reply to an invalid command carries.
func Help() string {
	var b strings.Builder
	b.WriteString("Commands, typed at the start of a pull-request comment by someone with write access:\n\n")
	for _, v := range Verbs {
		fmt.Fprintf(&b, "- `%s %s [service]`: %s\n", Prefix, v, verbHelp[v])
	}
	return b.String()
}

var verbHelp = map[Verb]string{
	VerbPromote:  "promote the rollout in flight at once, skipping its remaining steps",
	VerbRollback: "send all the traffic back to the stable revision",
	VerbPause:    "hold the rollout at its current weight",
	VerbResume:   "continue a paused rollout",
	VerbStatus:   "show where the rollout stands",
}
