package aws

import (
	"maps"
	"slices"
	"time"
)

// load is what one target group serves from some instant on: requests a
// second, the share answered 5xx and the response time of each part of
// them (by latency, the requests a second answered that fast).
type load struct {
	rps    float64
	errors float64 // 5xx a second
	byLat  map[time.Duration]float64
}

// segment is the load of every target group from at until the next
// segment.
type segment struct {
	at   time.Time
	load map[string]load // by target group ARN
}

// sample appends the current load to the timeline when it changed: every
// call that may move traffic or health ends with one.
func (w *World) sample() {
	cur := w.currentLoad()
	if n := len(w.timeline); n > 0 && sameLoad(w.timeline[n-1].load, cur) {
		return
	}
	w.timeline = append(w.timeline, segment{at: w.now(), load: cur})
}

func sameLoad(a, b map[string]load) bool {
	return maps.EqualFunc(a, b, func(x, y load) bool {
		return x.rps == y.rps && x.errors == y.errors && maps.Equal(x.byLat, y.byLat)
	})
}

// currentLoad splits rps for each forwarding rule of every listener by the
// rule's weights; a target group's share goes to its task sets with
// healthy targets in proportion of their tasks, and is lost (the load
// balancer answers 503 itself) when it has none. A rule matching by header
// or query string takes none of it (see hasCohortCondition).
func (w *World) currentLoad() map[string]load {
	out := map[string]load{}
	for _, r := range sortedValues(w.rules) {
		if hasCohortCondition(r) {
			continue
		}
		for _, a := range r.actions {
			an, _ := a.(node)
			if str(an, "Type") != "forward" {
				continue
			}
			tuples := targetTuples(an)
			total := 0
			for _, t := range tuples {
				total += t.weight
			}
			for _, t := range tuples {
				if total > 0 && t.weight > 0 {
					w.serve(out, t.arn, w.rps*float64(t.weight)/float64(total))
				}
			}
			break
		}
	}
	return out
}

// serve adds rps requests a second sent to the target group to out.
func (w *World) serve(out map[string]load, tgArn string, rps float64) {
	tasks := 0
	var ready []member
	for _, m := range w.members(tgArn) {
		if w.healthy(m.set) && m.set.count(m.svc) > 0 {
			ready = append(ready, m)
			tasks += m.set.count(m.svc)
		}
	}
	if tasks == 0 {
		return
	}
	l := out[tgArn]
	if l.byLat == nil {
		l.byLat = map[time.Duration]float64{}
	}
	for _, m := range ready {
		share := rps * float64(m.set.count(m.svc)) / float64(tasks)
		b := w.behave(w.image(m.set))
		l.rps += share
		l.errors += share * b.ErrorRatio
		l.byLat[b.Latency] += share
	}
	out[tgArn] = l
}

// tally is what a target group served over some time.
type tally struct {
	requests, errors float64
	byLat            map[time.Duration]float64 // requests by response time
}

// served integrates the target group's load over [from, to).
func (w *World) served(tgArn string, from, to time.Time) tally {
	t := tally{byLat: map[time.Duration]float64{}}
	for i, seg := range w.timeline {
		end := to
		if i+1 < len(w.timeline) && w.timeline[i+1].at.Before(to) {
			end = w.timeline[i+1].at
		}
		start := seg.at
		if start.Before(from) {
			start = from
		}
		if !end.After(start) {
			continue
		}
		secs := end.Sub(start).Seconds()
		l := seg.load[tgArn]
		t.requests += l.rps * secs
		t.errors += l.errors * secs
		for lat, rps := range l.byLat {
			t.byLat[lat] += rps * secs
		}
	}
	return t
}

// quantile is the response time at or under which a q share of the
// requests were answered, in seconds.
func (t tally) quantile(q float64) float64 {
	lats := slices.Sorted(maps.Keys(t.byLat))
	seen := 0.0
	for _, lat := range lats {
		seen += t.byLat[lat]
		if seen >= q*t.requests {
			return lat.Seconds()
		}
	}
	if len(lats) == 0 {
		return 0
	}
	return lats[len(lats)-1].Seconds()
}

// mean is the mean response time in seconds.
func (t tally) mean() float64 {
	sum := 0.0
	for lat, n := range t.byLat {
		sum += lat.Seconds() * n
	}
	return sum / t.requests
}

// atMost counts the requests answered in at most secs seconds.
func (t tally) atMost(secs float64) float64 {
	n := 0.0
	for lat, c := range t.byLat {
		if lat.Seconds() <= secs {
			n += c
		}
	}
	return n
}
