package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// The files the agent keeps in its state directory, beside one
// <revision>.log per revision.
const (
	stateFileName = "state.json"
	agentFileName = "agent.json"
	agentLogName  = "agent.log"
)

// stateFile is what state.json holds: enough for a later agent to adopt the
// revisions still running and for any process to read the rollout record.
type stateFile struct {
	Service       string             `json:"service"`
	NextRevision  int                `json:"next_revision"`
	Weight        int                `json:"weight"`
	Routing       *providers.Routing `json:"routing,omitempty"`
	Stable        *revState          `json:"stable,omitempty"`
	Candidate     *revState          `json:"candidate,omitempty"`
	Previous      *revState          `json:"previous,omitempty"`
	PreviousUntil time.Time          `json:"previous_until,omitzero"`
	Rollout       providers.Rollout  `json:"rollout"`
}

// revState is one running revision in state.json. Its environment is not
// kept, since it may hold secrets.
type revState struct {
	ID    string `json:"id"`
	Image string `json:"image"`
	// Port and PID are the first replica's, as a state written before
	// replicas holds them (and read by it).
	Port       int    `json:"port"`
	PID        int    `json:"pid"`
	HealthPath string `json:"health_path"`
	// Timeout is the longest the revision may take to start answering a
	// request (the timeout setting); zero is no limit.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Replicas are the running processes; Want how many the revision runs
	// at full strength. A state without them has one, at Port and PID.
	Replicas []replicaState `json:"replicas,omitempty"`
	Want     int            `json:"want,omitempty"`
	// Dir and ReadyTimeout start more replicas; EnvSet says the revision
	// had an environment, which is not kept.
	Dir          string        `json:"dir,omitempty"`
	ReadyTimeout time.Duration `json:"ready_timeout,omitempty"`
	EnvSet       bool          `json:"env_set,omitempty"`
}

// replicaState is one running replica of a revision in state.json.
type replicaState struct {
	Port int `json:"port"`
	PID  int `json:"pid"`
}

// running lists the replicas rs records: Replicas, or for a state written
// before replicas, the one process at Port and PID.
func (rs *revState) running() []replicaState {
	if len(rs.Replicas) > 0 || rs.Port == 0 {
		return rs.Replicas
	}
	return []replicaState{{Port: rs.Port, PID: rs.PID}}
}

// agentInfo is what agent.json holds: how to reach the running agent.
type agentInfo struct {
	// Control is the host:port of the control API.
	Control string `json:"control"`
	// PID is the agent's process ID.
	PID int `json:"pid"`
	// Proxy is the URL the service is served on.
	Proxy string `json:"proxy"`
	// Token authenticates calls to the control API; agent.json is readable
	// by its owner only.
	Token string `json:"token"`
	// Metrics is the URL of the Prometheus metrics; empty when off.
	Metrics string `json:"metrics,omitempty"`
}

// readState reads dir/state.json; a missing file is an empty state. A file
// that is not a state (unparsable, or JSON null) is an error naming the
// file and the repair: nothing it held may be silently dropped.
func readState(dir string) (stateFile, error) {
	var st stateFile
	path := filepath.Join(dir, stateFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	err = json.Unmarshal(b, &st)
	if err == nil && bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		err = errors.New("it holds null, not a state")
	}
	if err != nil {
		return stateFile{}, fmt.Errorf("parse state %s: %w; repair: restore it, or start over with no revisions "+
			"and no rollout record by moving it aside (revisions it named keep running until stopped): mv %q %q",
			path, err, path, path+".corrupt")
	}
	return st, nil
}

// readAgentInfo reads dir/agent.json; a missing file is an error matching
// os.ErrNotExist.
func readAgentInfo(dir string) (agentInfo, error) {
	var info agentInfo
	path := filepath.Join(dir, agentFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return info, fmt.Errorf("read agent file: %w", err)
	}
	err = json.Unmarshal(b, &info)
	if err == nil && info.Control == "" {
		err = errors.New("it names no control address")
	}
	if err != nil {
		return agentInfo{}, fmt.Errorf("parse agent file %s: %w; repair: stop the local agent if one still runs for "+
			"the service (kill the pid in %s if that file exists, else the pid on the last \"agent for\" line of %s), "+
			"then remove the file: rm %q; the next ramp command starts a new agent",
			path, err, filepath.Join(dir, "supervisor.json"), filepath.Join(dir, agentLogName), path)
	}
	return info, nil
}

// writeJSONAtomic writes v as JSON to path through a temporary file and a
// rename, so readers see the old or the new content, never a mix.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("replace %s: %w", filepath.Base(path), err)
	}
	return nil
}

// offlineStatus is the status while no agent runs: the revisions, weight and
// record state.json holds, none of them served, and a warning saying so.
func offlineStatus(dir string) (providers.Status, error) {
	saved, err := readState(dir)
	if err != nil {
		return providers.Status{}, fmt.Errorf("read status: %w", err)
	}
	st := providers.Status{Rollout: saved.Rollout, Weight: saved.Weight, Routing: saved.Routing}
	var names []string
	for _, r := range []struct {
		rs  *revState
		dst **providers.Revision
	}{{saved.Stable, &st.Stable}, {saved.Candidate, &st.Candidate}, {saved.Previous, &st.Previous}} {
		if r.rs != nil {
			*r.dst = &providers.Revision{ID: r.rs.ID, Image: r.rs.Image}
			names = append(names, r.rs.ID)
		}
	}
	if st.Candidate == nil {
		st.Weight, st.Routing = 0, nil
	}
	if len(names) > 0 {
		st.Warnings = append(st.Warnings, fmt.Sprintf("no local agent is running, so nothing serves the service; its state lists %s: "+
			"the next ramp command (ramp repair, resume, deploy ...) starts the agent, which re-adopts the revisions still running",
			strings.Join(names, ", ")))
	}
	st.Warnings = append(st.Warnings, supervisorWarnings(dir)...)
	return st, nil
}

// persistLocked writes state.json; a.mu must be held.
func (a *Agent) persistLocked() error {
	st := stateFile{
		Service:       a.cfg.Service,
		NextRevision:  a.nextRev,
		Weight:        a.weight,
		Routing:       a.routing,
		Stable:        a.stable.state(),
		Candidate:     a.candidate.state(),
		Previous:      a.previous.state(),
		PreviousUntil: a.previousUntil,
		Rollout:       a.rollout,
	}
	if err := writeJSONAtomic(filepath.Join(a.cfg.StateDir, stateFileName), st); err != nil {
		return fmt.Errorf("persist state: %w", err)
	}
	return nil
}

// state returns r as recorded in state.json; nil for nil.
func (r *revision) state() *revState {
	if r == nil {
		return nil
	}
	rs := &revState{ID: r.id, Image: r.image, HealthPath: r.healthPath, Timeout: r.timeout, Want: r.want, Dir: r.dir,
		ReadyTimeout: r.readyTimeout, EnvSet: len(r.env) > 0 || r.envLost}
	for _, rp := range r.replicas {
		rs.Replicas = append(rs.Replicas, replicaState{Port: rp.port, PID: rp.proc.pid})
	}
	if len(rs.Replicas) > 0 {
		rs.Port, rs.PID = rs.Replicas[0].Port, rs.Replicas[0].PID
	}
	return rs
}
