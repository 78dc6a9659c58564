package failpoint

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	got := parse("a.b=kill@3; c=sleep(250ms) ;bad;d=explode;e=sleep(x);f=wait(/tmp/go on)@2;g=wait()")
	if p := got["a.b"]; p == nil || p.action != "kill" || p.nth != 3 {
		t.Errorf("a.b = %+v, want kill on the 3rd pass", p)
	}
	if p := got["c"]; p == nil || p.action != "sleep" || p.delay != 250*time.Millisecond || p.nth != 0 {
		t.Errorf("c = %+v, want sleep 250ms on every pass", p)
	}
	if p := got["f"]; p == nil || p.action != "wait" || p.path != "/tmp/go on" || p.nth != 2 {
		t.Errorf("f = %+v, want a wait for /tmp/go on on the 2nd pass", p)
	}
	if len(got) != 3 {
		t.Errorf("parsed %d points, want 3 (malformed ones ignored): %v", len(got), got)
	}
}

// arm arms spec for the test; the tests that call it do not run in
// parallel, since the points are the process's.
func arm(t *testing.T, spec string) {
	once.Do(func() {})
	points = parse(spec)
	t.Cleanup(func() { points = nil })
}

// TestHitSleepsOnTheNthPassOnly runs in a synctest bubble: the sleep takes
// exactly its delay on the bubble's clock, whatever the machine's speed.
func TestHitSleepsOnTheNthPassOnly(t *testing.T) {
	arm(t, "p=sleep(50ms)@2")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		Hit("p")
		if d := time.Since(start); d != 0 {
			t.Errorf("the first pass slept %s", d)
		}
		start = time.Now()
		Hit("p")
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("the second pass slept %s, want 50ms", d)
		}
		Hit("unarmed")
	})
}

// TestHitWaitsForTheFile checks that a wait holds the process until its
// file exists, and no longer.
func TestHitWaitsForTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "go on")
	arm(t, "w=wait("+path+")")
	synctest.Test(t, func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			Hit("w")
		}()
		time.Sleep(time.Minute) // on the bubble's clock
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Hit returned before the file existed")
		default:
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(waitPoll)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Hit still waits once the file exists")
		}
	})
}
