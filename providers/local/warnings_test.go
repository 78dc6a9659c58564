package local

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRestartWarning(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 17, 40, 1, 0, time.UTC)
	tests := []struct {
		name string
		rec  supervisorFile
		want string
	}{
		{name: "no restart", rec: supervisorFile{PID: 1}},
		{
			name: "restarted and re-adopted",
			rec: supervisorFile{Restarts: 2, LastRestart: at, LastReason: "agent pid 4242 was killed (signal: killed)",
				Readopted: "it re-adopted revisions v1 (stable)"},
			want: "the local agent restarted 2 time(s), last at 2026-11-29T17:40:01Z after agent pid 4242 was killed (signal: killed); it re-adopted revisions v1 (stable)",
		},
		{
			name: "restart still starting",
			rec:  supervisorFile{Restarts: 1, LastRestart: at, LastReason: "agent pid 7 exited (exit status 2)"},
			want: "the local agent restarted 1 time(s), last at 2026-11-29T17:40:01Z after agent pid 7 exited (exit status 2); it had not served yet when this was written",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := restartWarning(tt.rec); got != tt.want {
				t.Errorf("restartWarning() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAdoption(t *testing.T) {
	t.Parallel()
	rev := func(id string) *revision { return &revision{id: id} }
	listed := func(ids ...string) stateFile {
		var st stateFile
		for i, id := range ids {
			if id != "" {
				*[]**revState{&st.Stable, &st.Candidate, &st.Previous}[i] = &revState{ID: id}
			}
		}
		return st
	}
	tests := []struct {
		name                        string
		stable, candidate, previous *revision
		weight                      int
		listed                      stateFile
		want                        string
	}{
		{name: "nothing listed", want: "there was no revision to re-adopt"},
		{
			name: "canary", stable: rev("v1"), candidate: rev("v2"), weight: 10, listed: listed("v1", "v2"),
			want: "it re-adopted revisions v1 (stable), v2 (candidate, 10% of the traffic)",
		},
		{
			name: "one lost", stable: rev("v2"), listed: listed("v2", "", "v1"),
			want: "it re-adopted revisions v2 (stable); it forgot v1, which no longer answered",
		},
		{name: "all lost", listed: listed("v1", "v2"), want: "it re-adopted no revision; it forgot v1, v2, which no longer answered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &Agent{stable: tt.stable, candidate: tt.candidate, previous: tt.previous, weight: tt.weight}
			if got := a.adoption(tt.listed); got != tt.want {
				t.Errorf("adoption() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSupervisorWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sup  *supervisorFile
		want []string
	}{
		{name: "no supervisor file"},
		{name: "supervisor running", sup: &supervisorFile{PID: 42, Restarts: 3}},
		{
			name: "supervisor gave up",
			sup:  &supervisorFile{PID: 42, Stopped: "gave up after 5 agents in a row exited before serving"},
			want: []string{"the local agent's supervisor (pid 42) stopped: gave up after 5 agents in a row exited before serving"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.sup != nil {
				must(t, "write supervisor.json", writeJSONAtomic(filepath.Join(dir, supervisorFileName), tt.sup))
			}
			if diff := cmp.Diff(tt.want, supervisorWarnings(dir)); diff != "" {
				t.Errorf("supervisorWarnings() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
