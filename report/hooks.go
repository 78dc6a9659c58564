package report

import (
	"fmt"
	"strings"

	"github.com/ramp-deploy/ramp/engine"
)

// MaxHookCalls is the most webhook calls a summary lists.
const MaxHookCalls = 50

// hookText is a webhook call in one line, e.g. "webhook approve
// (confirm-promotion): answered 409 after 1 attempt: not yet".
func hookText(e *engine.HookCalled) string {
	a := e.Answer
	s := fmt.Sprintf("webhook %s (%s): %s", a.Hook, a.Type, a.Explain())
	if a.OK {
		s += " ok"
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// hookList renders the webhook calls, folded.
func (s *Summary) hookList(b *strings.Builder) {
	n := len(s.hooks) + s.hooksDropped
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "<details><summary>🪝 %d webhook call%s</summary>\n\n", n, map[bool]string{true: "", false: "s"}[n == 1])
	for _, h := range s.hooks {
		fmt.Fprintf(b, "- %s\n", inline(h))
	}
	if s.hooksDropped > 0 {
		fmt.Fprintf(b, "- … %d more\n", s.hooksDropped)
	}
	b.WriteString("\n</details>\n\n")
}
