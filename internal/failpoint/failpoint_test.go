package failpoint

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	got := parse("a.b=kill@3; c=sleep(250ms) ;bad;d=explode;e=sleep(x)")
	if p := got["a.b"]; p == nil || p.action != "kill" || p.nth != 3 {
		t.Errorf("a.b = %+v, want kill on the 3rd pass", p)
	}
	if p := got["c"]; p == nil || p.action != "sleep" || p.delay != 250*time.Millisecond || p.nth != 0 {
		t.Errorf("c = %+v, want sleep 250ms on every pass", p)
	}
	if len(got) != 2 {
		t.Errorf("parsed %d points, want 2 (malformed ones ignored): %v", len(got), got)
	}
}

func TestHitSleepsOnTheNthPassOnly(t *testing.T) {
	once.Do(func() {})
	points = parse("p=sleep(50ms)@2")
	defer func() { points = nil }()
	start := time.Now()
	Hit("p")
	if time.Since(start) >= 50*time.Millisecond {
		t.Error("the first pass slept")
	}
	start = time.Now()
	Hit("p")
	if time.Since(start) < 50*time.Millisecond {
		t.Error("the second pass did not sleep")
	}
	Hit("unarmed")
}
