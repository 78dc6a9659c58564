package fly

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// ratio is the weight, in whole percent, that c routable candidate
// machines beside s routable stable ones give.
func ratio(c, s int) int {
	if c+s == 0 {
		return 0
	}
	return int(math.Round(100 * float64(c) / float64(c+s)))
}

// layout is how many of a process group's m candidate and n stable
// machines are routable for the candidate to take w percent: the largest
// number of routable machines whose ratio is exactly w (in whole percent),
// keeping as many stable machines as it can. ok is false when no layout
// gives w.
func layout(w, n, m int) (c, s int, ok bool) {
	switch {
	case w <= 0:
		return 0, n, true
	case w >= 100:
		return m, 0, m > 0
	}
	best := -1
	for ci := 1; ci <= m; ci++ {
		for si := 1; si <= n; si++ {
			if ratio(ci, si) == w && (ci+si > best || (ci+si == best && si > s)) {
				c, s, best = ci, si, ci+si
			}
		}
	}
	return c, s, best > 0
}

// expressible lists the weights between 0 and 100 (exclusive) that m
// candidate and n stable machines can give, ascending.
func expressible(n, m int) []int {
	var out []int
	for ci := 1; ci <= m; ci++ {
		for si := 1; si <= n; si++ {
			out = append(out, ratio(ci, si))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// group is the machines of one process group that the fly-proxy routes
// to, by role.
type group struct {
	name              string
	stable, candidate []Machine
}

// groupsOf sorts the stable and candidate machines that have services by
// process group.
func groupsOf(stable, candidate []Machine) []group {
	by := map[string]*group{}
	var names []string
	add := func(m Machine, cand bool) {
		if !m.Config.HasServices() {
			return
		}
		name := processGroup(m)
		g := by[name]
		if g == nil {
			g = &group{name: name}
			by[name] = g
			names = append(names, name)
		}
		if cand {
			g.candidate = append(g.candidate, m)
		} else {
			g.stable = append(g.stable, m)
		}
	}
	for _, m := range stable {
		add(m, false)
	}
	for _, m := range candidate {
		add(m, true)
	}
	slices.Sort(names)
	out := make([]group, len(names))
	for i, n := range names {
		out[i] = *by[n]
	}
	return out
}

// processGroup is the machine's process group ("app" when unnamed, as
// flyctl names it).
func processGroup(m Machine) string {
	if g := m.Config.Metadata()["fly_process_group"]; g != "" {
		return g
	}
	return "app"
}

// checkWeights refuses, naming every one at once, the weights some
// process group cannot give with n stable and as many candidate machines,
// and names the weights it can, the smallest step first.
func checkWeights(groups []group, weights ...int) error {
	var bad []string
	for _, g := range groups {
		n, m := len(g.stable), len(g.candidate)
		if m == 0 {
			m = n // a deploy starts one candidate machine per stable one
		}
		var cannot []string
		for _, w := range weights {
			if _, _, ok := layout(w, n, m); !ok {
				cannot = append(cannot, strconv.Itoa(w)+"%")
			}
		}
		if len(cannot) == 0 {
			continue
		}
		can := expressible(n, m)
		list := make([]string, len(can))
		for i, w := range can {
			list[i] = strconv.Itoa(w)
		}
		smallest := "none between 0 and 100%"
		if len(can) > 0 {
			smallest = fmt.Sprintf("%d%%", can[0])
		}
		bad = append(bad, fmt.Sprintf("process group %s has %d stable and %d candidate machines, whose routable ratios cannot give %s; the smallest step it can is %s (all: %s%%)",
			g.name, n, m, strings.Join(cannot, ", "), smallest, strings.Join(list, ", ")))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: the fly-proxy has no weights, so the candidate's share is its share of routable machines: %s; pick steps from those, or run more machines",
			providers.ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}
