package crashtest

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/providertest"
)

// TestProcKillStopsTheProcess kills a deploy at call k, before or after
// it, and checks that exactly the calls before the stop (and the stopped
// one, after) reached the platform, and none since.
func TestProcKillStopsTheProcess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		k     int
		when  When
		calls int // calls the platform logs, Observe aside
	}{
		{1, Before, 0},
		{1, After, 1},
		{3, Before, 2},
		{3, After, 3},
		{5, After, 5},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%d", c.when, c.k), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := providertest.NewPlatform("http://svc", "v1")
				p.SetTraffic(100)
				proc := NewProc(providertest.Fake{P: p})
				proc.Stop(c.k, c.when, nil)
				plan, err := Scenarios[0].plan(time.Second)
				if err != nil {
					t.Fatal(err)
				}
				e := &engine.Engine{Provider: proc, Service: "web", Retry: engine.DefaultBackoff}
				_, ended := drive(func() engine.Result {
					return e.Deploy(t.Context(), plan, providers.Artifact{Image: "app:v2", Revision: "v2"}, providers.Rollout{ID: "r1"})
				})
				time.Sleep(time.Hour) // anything still running would call now
				if stopped, _ := proc.Stopped(); ended || !stopped {
					t.Fatalf("ended %v, stopped %v: want a killed process", ended, stopped)
				}
				if got := len(p.Calls()); got != c.calls {
					t.Errorf("the platform saw %d calls, want %d: %q", got, c.calls, p.Calls())
				}
				if n := len(proc.Calls()); n != c.k {
					t.Errorf("the process made %d calls, want %d", n, c.k)
				}
			})
		})
	}
}

// TestProcCommandAtTheStop runs a command at the stop instead of a kill:
// the process goes on, and taps made by the command are not counted.
func TestProcCommandAtTheStop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1").Stepwise()
		proc := NewProc(providertest.Fake{P: p})
		p.OnCall("Record", func() { proc.Tap("Record") })
		ran := false
		proc.Stop(2, Before, func() {
			ran = true
			if _, err := (providertest.Fake{P: p}).Apply(t.Context(), providers.Transition{Action: providers.ActionRecord,
				Record: providers.Rollout{ID: "other", Version: 0}}); err != nil {
				t.Errorf("the command's write: %v", err)
			}
		})
		_, err := proc.Apply(t.Context(), providers.Transition{Action: providers.ActionRecord, Record: providers.Rollout{ID: "mine"}})
		if !ran {
			t.Fatal("the command did not run at the tap")
		}
		if err == nil || !strings.Contains(err.Error(), "changed since it was read") {
			t.Errorf("the process's write after the command: %v, want it refused as stale", err)
		}
		if got := proc.Calls(); len(got) != 2 || !got[1].Tap {
			t.Errorf("calls %+v, want the Apply and its one tap", got)
		}
	})
}

// TestProcDeadStaysDead calls a killed process's provider again, as a
// deferred cleanup would: the call is recorded as late, ends its
// goroutine, and never reaches the platform.
func TestProcDeadStaysDead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := providertest.NewPlatform("http://svc", "v1")
		proc := NewProc(providertest.Fake{P: p})
		proc.Stop(1, After, nil)
		for range 2 {
			done := make(chan struct{})
			go func() {
				defer close(done)
				proc.Status(t.Context())
				t.Error("a call of a killed process returned")
			}()
			<-done
		}
		if got := p.Calls(); len(got) != 1 {
			t.Errorf("the platform saw %q, want the one call before the kill", got)
		}
		if got := proc.Late(); len(got) != 1 || got[0] != "Status" {
			t.Errorf("Late() = %q, want the one call after the kill", got)
		}
	})
}
