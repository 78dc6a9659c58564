//go:build unix

package cli_test

import (
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/cli"
	"github.com/ramp-deploy/ramp/providers"
)

// TestRollingDeployOfTheBinary deploys v2 over v1 with --strategy rolling
// on three local replicas, under load: one batch at a time, every request
// answered, and v2 on every replica at the end.
func TestRollingDeployOfTheBinary(t *testing.T) {
	t.Parallel()
	s := newServiceWith(t, map[string]string{"RAMP_REPLICAS": "3"})
	out := s.must(cli.ExitOK, deployArgs("v2", "--strategy=rolling", "--max-surge=1", "--max-unavailable=0")...)
	var batches []int
	for _, e := range events(out) {
		if e.Type == "shifted" {
			batches = append(batches, e.Instances)
		}
	}
	if len(batches) != 3 || batches[0] != 1 || batches[1] != 2 || batches[2] != 3 {
		t.Errorf("shifted events with instances %v, want 1, 2, 3:\n%s", batches, out)
	}
	o := s.status()
	if revID(o.st.Stable) != "v2" || o.st.Candidate != nil || o.st.Instances == nil || *o.st.Instances != (providers.Instances{Stable: 3}) {
		t.Errorf("after the rolling deploy: stable %q, candidate %v, instances %+v; want v2 on 3 replicas", revID(o.st.Stable), o.st.Candidate, o.st.Instances)
	}
	o.mustAgree(t)
	s.finish()
}

// TestRollingRefusedWithoutInstances: a provider that runs no fixed set of
// instances refuses strategy rolling before any call, naming canary and
// linear.
func TestRollingRefusedWithoutInstances(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"RAMP_PROVIDER": "cloudrun", "RAMP_SERVICE": "web", "RAMP_PROJECT": "p", "RAMP_REGION": "europe-west1"}
	code, out, stderr := ramp(t, vars, "validate", "--strategy=rolling")
	if code != cli.ExitInvalid || !strings.Contains(out+stderr, `input "strategy"`) || !strings.Contains(out+stderr, "canary or linear") {
		t.Errorf("validate --strategy=rolling on cloudrun: exit %d, want %d naming strategy and canary or linear:\n%s%s", code, cli.ExitInvalid, out, stderr)
	}
}
