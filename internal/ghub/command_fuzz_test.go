package ghub

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseCommand: any comment body is either not a command, or a valid
// command that reads back the same from its String, or a command with a
// Problem that quotes nothing unsafe from the comment (no line break, no
// @mention, no HTML).
func FuzzParseCommand(f *testing.F) {
	f.Add("/ramp promote web\nthanks")
	f.Fuzz(func(t *testing.T, body string) {
		cmd, ok := ParseCommand(body)
		line, _, _ := strings.Cut(body, "\n")
		fields := strings.Fields(line)
		isCommand := len(fields) > 0 && strings.EqualFold(fields[0], Prefix)
		if ok != isCommand {
			t.Fatalf("ParseCommand(%q) ok = %v, want %v", body, ok, isCommand)
		}
		if !ok {
			if cmd != (Command{}) {
				t.Fatalf("ParseCommand(%q) = %+v for no command", body, cmd)
			}
			return
		}
		if cmd.Problem != "" {
			if cmd.Verb != "" || cmd.Service != "" {
				t.Fatalf("ParseCommand(%q) = %+v: a problem with a verb or service", body, cmd)
			}
			if strings.ContainsAny(cmd.Problem, "\r\n@&") || strings.Contains(cmd.Problem, "<!") || strings.Contains(cmd.Problem, "</") {
				t.Fatalf("ParseCommand(%q): problem %q quotes unsafe text", body, cmd.Problem)
			}
			return
		}
		if !slices.Contains(Verbs, cmd.Verb) || (cmd.Service != "" && !ValidService(cmd.Service)) {
			t.Fatalf("ParseCommand(%q) = %+v: not a valid command", body, cmd)
		}
		again, ok := ParseCommand(cmd.String())
		if !ok || again != cmd {
			t.Fatalf("ParseCommand(%q) = %+v; its String %q reads back as %+v, %v", body, cmd, cmd.String(), again, ok)
		}
	})
}
