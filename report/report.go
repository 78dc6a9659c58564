// Package report turns the engine's events into what people and scripts
// read: progress lines on a terminal or CI log (Console), JSON Lines for
// scripts (JSON), and a Markdown summary with a traffic chart and a table of
// steps for a CI job summary or a pull-request comment (Summary).
//
// Every reporter has an Event method that is an engine.Sink; Multi fans one
// stream of events out to several of them. Reporters are safe for
// concurrent use and never fail a rollout: write errors are dropped.
package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/engine"
)

// Multi returns a sink that hands every event to each of sinks in order.
// Nil sinks are skipped.
func Multi(sinks ...engine.Sink) engine.Sink {
	var live []engine.Sink
	for _, s := range sinks {
		if s != nil {
			live = append(live, s)
		}
	}
	return func(ev engine.Event) {
		for _, s := range live {
			s(ev)
		}
	}
}

// clock formats an elapsed time as mm:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	d = max(d, 0)
	secs := int64(d / time.Second)
	h, m, s := secs/3600, secs/60%60, secs%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", m, s)
}

// human formats a duration briefly: "250ms", "45s", "2m10s", "1h5m".
func human(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	secs := int64(d.Round(time.Second) / time.Second)
	h, m, s := secs/3600, secs/60%60, secs%60
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// outcomeWords names an outcome for people.
func outcomeWords(o engine.Outcome) string {
	switch o {
	case engine.OutcomeRolledBack:
		return "rolled back"
	case "":
		return "unknown"
	}
	return string(o)
}

// errNote returns the result's error when the reason does not already say it.
func errNote(r engine.Result) string {
	if r.Err == nil || strings.Contains(r.Reason, r.Err.Error()) {
		return ""
	}
	return r.Err.Error()
}
