package crashtest

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// stats sums the cases of one suite.
type stats struct {
	mu sync.Mutex
	// kills and commands are the distinct stop points reached, by
	// "scenario k when".
	kills, commands map[string]bool
	runs, unreached int
	accepted        map[Mode]int
	drift           map[string]int
	recovery        map[string]int
}

func newStats() *stats {
	return &stats{kills: map[string]bool{}, commands: map[string]bool{}, accepted: map[Mode]int{},
		drift: map[string]int{}, recovery: map[string]int{}}
}

// add counts one case.
func (s *stats) add(o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs++
	point := fmt.Sprintf("%s %d %s", o.c.Scenario.Name, o.c.K, o.c.When)
	switch {
	case o.c.Mode == Uninterrupted:
	case !o.stopped:
		s.unreached++
	case o.c.Mode == Kill:
		s.kills[point] = true
	default:
		s.commands[point] = true
		if o.decided != "" {
			s.accepted[o.c.Mode]++
		}
	}
	for _, d := range o.drift {
		s.drift[string(d.Kind)]++
	}
	s.recovery[strings.Join(append([]string{"status"}, o.recovery...), "+")]++
}

// report logs the summary and fails the suite when it reached too few
// distinct kill points.
func (s *stats) report(t *testing.T, suite Suite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := suite.MinStopPoints
	if want == 0 {
		want = 30
	}
	t.Logf("crash points of %s: %d distinct kill points, %d distinct points with a command from another process "+
		"(accepted: %s); %d runs, %d stops not reached (the run ended first)",
		suite.Provider, len(s.kills), len(s.commands), counts(s.accepted), s.runs, s.unreached)
	t.Logf("status after the stop showed drift %s; recoveries run: %s", counts(s.drift), counts(s.recovery))
	if len(s.kills) < want && os.Getenv("CRASHTEST_CASE") == "" {
		t.Errorf("%s: %d distinct kill points, want at least %d", suite.Provider, len(s.kills), want)
	}
}

// counts renders a tally sorted by key, e.g. "{a: 2, b: 1}".
func counts[K ~string](m map[K]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
