package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// supervisorFileName is the supervisor's record in the state directory.
const supervisorFileName = "supervisor.json"

// supervisorFile is what supervisor.json holds: who supervises the agent
// and what happened to it.
type supervisorFile struct {
	// PID is the supervisor's process ID.
	PID int `json:"pid"`
	// Executable is the program the supervisor starts the agent from.
	Executable string `json:"executable"`
	// Agent is the process ID of the agent serving, once it serves.
	Agent int `json:"agent_pid,omitempty"`
	// Started is when the supervisor started.
	Started time.Time `json:"started"`
	// Restarts counts the agents started after one died unasked.
	Restarts int `json:"restarts,omitempty"`
	// LastRestart and LastReason say when the last one died and how.
	LastRestart time.Time `json:"last_restart,omitzero"`
	LastReason  string    `json:"last_reason,omitempty"`
	// Readopted says what the agent started then re-adopted, once it serves.
	Readopted string `json:"readopted,omitempty"`
	// Upgrades counts the hand-overs to an agent from a new executable.
	Upgrades    int       `json:"upgrades,omitempty"`
	LastUpgrade time.Time `json:"last_upgrade,omitzero"`
	// Stopped says why the supervisor stopped without being asked to.
	Stopped string `json:"stopped,omitempty"`
}

// readSupervisorFile reads dir/supervisor.json; a missing file is an error
// matching os.ErrNotExist.
func readSupervisorFile(dir string) (supervisorFile, error) {
	var rec supervisorFile
	b, err := os.ReadFile(filepath.Join(dir, supervisorFileName))
	if err != nil {
		return rec, fmt.Errorf("read supervisor file: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("parse supervisor file %s: %w", filepath.Join(dir, supervisorFileName), err)
	}
	return rec, nil
}

// warnings returns what a reader of the agent's status should know: that
// it (or the shared agent it runs in) restarted after it died, or that its
// supervisor is gone.
func (a *Agent) warnings() []string {
	if a.hostWarnings != nil {
		return a.hostWarnings()
	}
	s := a.ho.sup
	if s == nil {
		return nil
	}
	var out []string
	if rec, err := readSupervisorFile(a.cfg.StateDir); err == nil {
		if w := restartWarning(rec); w != "" {
			out = append(out, w)
		}
	}
	if t := s.orphanedAt(); !t.IsZero() {
		out = append(out, fmt.Sprintf("the local agent's supervisor (pid %d) is gone since %s: if this agent dies, nothing restarts it until the next ramp command",
			s.pid, t.UTC().Format(time.RFC3339)))
	}
	return out
}

// restartWarning describes the restarts rec records; "" if none.
func restartWarning(rec supervisorFile) string {
	if rec.Restarts == 0 {
		return ""
	}
	adopted := rec.Readopted
	if adopted == "" {
		adopted = "it had not served yet when this was written"
	}
	return fmt.Sprintf("the local agent restarted %d time(s), last at %s after %s; %s",
		rec.Restarts, rec.LastRestart.UTC().Format(time.RFC3339), rec.LastReason, adopted)
}

// adoption says which of the revisions listed in state.json the agent
// re-adopted and which were no longer running.
func (a *Agent) adoption(listed stateFile) string {
	a.mu.Lock()
	running := map[string]*revision{"stable": a.stable, "candidate": a.candidate, "previous": a.previous}
	weight := a.weight
	a.mu.Unlock()
	var got, lost []string
	for _, r := range []struct {
		role string
		rs   *revState
	}{{"stable", listed.Stable}, {"candidate", listed.Candidate}, {"previous", listed.Previous}} {
		switch rev := running[r.role]; {
		case r.rs == nil:
		case rev == nil || rev.id != r.rs.ID:
			lost = append(lost, r.rs.ID)
		case r.role == "candidate":
			got = append(got, fmt.Sprintf("%s (candidate, %d%% of the traffic)", rev.id, weight))
		default:
			got = append(got, fmt.Sprintf("%s (%s)", rev.id, r.role))
		}
	}
	var b strings.Builder
	switch {
	case len(got) > 0:
		fmt.Fprintf(&b, "it re-adopted revisions %s", strings.Join(got, ", "))
	case len(lost) == 0:
		b.WriteString("there was no revision to re-adopt")
	default:
		b.WriteString("it re-adopted no revision")
	}
	if len(lost) > 0 {
		fmt.Fprintf(&b, "; it forgot %s, which no longer answered", strings.Join(lost, ", "))
	}
	return b.String()
}

// hostSupervisorFileName names the record of the shared agent's
// supervisor (hostsup.go) in the host's directory, as supervisor.json is a
// service agent's: its pid, the host's, and the restarts.
const hostSupervisorFileName = "host-supervisor.json"

// hostSupervisorWarnings says, for the status of a service with
// shared-agent read while no agent answers, that the supervisor of the
// shared agent in dir stopped starting it and why; nil if it did not.
func hostSupervisorWarnings(dir string) []string {
	var rec supervisorFile
	b, err := os.ReadFile(filepath.Join(dir, hostSupervisorFileName))
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.Stopped == "" {
		return nil
	}
	return []string{fmt.Sprintf("the shared local agent's supervisor (pid %d) stopped: %s; the next ramp command that starts the agent (ramp repair, resume, deploy ...) starts it again",
		rec.PID, rec.Stopped)}
}

// supervisorWarnings says, for a status read while no agent answers, that
// the supervisor stopped restarting the agent and why; nil if it did not.
func supervisorWarnings(dir string) []string {
	rec, err := readSupervisorFile(dir)
	if err != nil || rec.Stopped == "" {
		return nil
	}
	return []string{fmt.Sprintf("the local agent's supervisor (pid %d) stopped: %s", rec.PID, rec.Stopped)}
}
