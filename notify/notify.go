package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/webhook"
)

// How one notification is sent: it never holds a rollout up for long.
const (
	// Timeout bounds one attempt.
	Timeout = 5 * time.Second
	// Retries is how many times a failed attempt (no answer, 408, 429,
	// 5xx) is retried, after a second, then two.
	Retries = 2
	// queueSize bounds the messages waiting for step messages; past it,
	// they are dropped (the others never are).
	queueSize = 64
)

// Options configure a Notifier.
type Options struct {
	// Specs are the notifications, validated (Spec.Validate).
	Specs []Spec
	// Service names the service when no Started event does (a command
	// from another process).
	Service string
	// Getenv resolves $NAME URLs when a message is sent; nil is no
	// environment.
	Getenv func(string) string
	// RunURL links the CI run (see RunURL).
	RunURL string
	// Secret signs the generic webhook's messages (X-Ramp-Signature, as
	// webhooks are signed); Slack messages are never signed.
	Secret string
	// Client sends; nil is a client of its own.
	Client *http.Client
	// Warn hears of every message not sent, from the Notifier's goroutine;
	// nil drops them.
	Warn func(string)
}

// Notifier sends a rollout's notifications. Its Event method is an
// engine.Sink that never blocks on the network: messages are queued and
// sent in order by a goroutine of its own, each bounded by Timeout and
// Retries. Close waits for them.
type Notifier struct {
	opts   Options
	wake   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	pending []Message
	current Message         // the rollout as the events so far show it
	total   int             // steps in the plan
	acted   map[string]bool // the events this process made happen
	missing map[string]bool // the variables already warned about
	dropped int
}

// New starts a Notifier; Close it.
func New(o Options) *Notifier {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	n := &Notifier{opts: o, wake: make(chan struct{}, 1), done: make(chan struct{}),
		acted: map[string]bool{}, missing: map[string]bool{}}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.current = Message{Service: o.Service, RunURL: o.RunURL}
	go n.run()
	return n
}

// Event turns the engine's events into messages; it is an engine.Sink.
func (n *Notifier) Event(ev engine.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	m, ok := n.track(ev)
	if !ok || !n.wanted(m.Event) {
		return
	}
	if m.Event == EventStep && len(n.pending) >= queueSize {
		n.dropped++
		return
	}
	m.Time = ev.Time()
	n.pending = append(n.pending, m)
	n.signal()
}

// signal wakes the sending goroutine.
func (n *Notifier) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// wanted reports whether any notification is sent on event.
func (n *Notifier) wanted(event string) bool {
	for _, s := range n.opts.Specs {
		if slices.Contains(s.events(), event) {
			return true
		}
	}
	return false
}

// track follows the rollout through ev and returns the message it calls
// for, if any. A run ends in a message only for what this process did: a
// rollout another process promoted, rolled back or paused was announced
// by that process.
func (n *Notifier) track(ev engine.Event) (Message, bool) {
	c := &n.current
	switch e := ev.(type) {
	case *engine.Started:
		c.Service, c.RolloutID, c.Candidate, c.Stable, c.Weight = e.Service, e.ID, e.Candidate, e.Stable, 0
		n.total = len(e.Plan.Steps)
		m := *c
		m.Event, m.Verdict = EventStarted, fmt.Sprintf("%s, %d steps, checks every %s", e.Strategy, len(e.Plan.Steps), e.Plan.Interval)
		if e.Resumed {
			m.Verdict = "resumed: " + m.Verdict
		}
		return m, true
	case *engine.StepStarted:
		n.total = e.Total
	case *engine.Shifted:
		c.Weight = e.Weight
	case *engine.Holding:
		c.Weight = e.Weight
	case *engine.StepDone:
		m := *c
		m.Event, m.Verdict = EventStep, fmt.Sprintf("step %d/%d done: %s", e.Index+1, n.total, e.Step)
		return m, true
	case *engine.Promoted:
		n.acted[EventPromoted] = true
	case *engine.RolledBack:
		n.acted[EventRolledBack] = true
	case *engine.Paused:
		c.Weight = e.Weight
		n.acted[EventPaused] = n.acted[EventPaused] || !e.Elsewhere
	case *engine.Finished:
		return n.finished(e.Result)
	}
	return Message{}, false
}

// finished is the message that ends a run, if any.
func (n *Notifier) finished(r engine.Result) (Message, bool) {
	c := &n.current
	c.Weight, c.Outcome, c.Verdict = r.Weight, string(r.Outcome), string(r.Outcome)
	if r.Reason != "" {
		c.Verdict += ": " + r.Reason
	}
	if r.Candidate != "" {
		c.Candidate = r.Candidate
	}
	if r.Rollout.ID != "" {
		c.RolloutID, c.Commit = r.Rollout.ID, r.Rollout.Commit
	}
	if r.Stable != "" && r.Stable != c.Candidate {
		c.Stable = r.Stable
	}
	m := *c
	switch {
	case r.Outcome == engine.OutcomePromoted && n.acted[EventPromoted]:
		m.Event = EventPromoted
	case (r.Outcome == engine.OutcomeRolledBack || r.Outcome == engine.OutcomeCancelled) && n.acted[EventRolledBack]:
		m.Event = EventRolledBack
	case r.Outcome == engine.OutcomePaused && n.acted[EventPaused]:
		m.Event = EventPaused
	case (r.Outcome == engine.OutcomeFailed || r.Outcome == engine.OutcomeCancelled) && r.Rollout.ID != "":
		m.Event = EventFailed // a command that found nothing to act on is no rollout's failure
	default:
		return Message{}, false
	}
	return m, true
}

// Close stops taking messages and waits until the queued ones are sent or
// ctx ends; then it gives up on the rest and says how many were not sent.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	dropped := n.dropped
	n.mu.Unlock()
	n.signal()
	select {
	case <-n.done:
	case <-ctx.Done():
		n.cancel()
		<-n.done
		n.mu.Lock()
		left := len(n.pending)
		n.mu.Unlock()
		return fmt.Errorf("notifications: gave up on the last ones (%d left unsent): %w", left, context.Cause(ctx))
	}
	n.cancel()
	if dropped > 0 {
		return fmt.Errorf("notifications: %d step messages dropped (too many queued)", dropped)
	}
	return nil
}

// run sends the queued messages in order until Close.
func (n *Notifier) run() {
	defer close(n.done)
	for n.ctx.Err() == nil {
		n.mu.Lock()
		if len(n.pending) == 0 {
			closed := n.closed
			n.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-n.wake:
			case <-n.ctx.Done():
			}
			continue
		}
		m := n.pending[0]
		n.pending = n.pending[1:]
		n.mu.Unlock()
		for _, s := range n.opts.Specs {
			if slices.Contains(s.events(), m.Event) {
				n.send(s, m)
			}
		}
	}
}

// send posts m to s, warning when it could not.
func (n *Notifier) send(s Spec, m Message) {
	url := s.URL
	if v := s.EnvVar(); v != "" {
		if url = n.opts.Getenv(v); url == "" {
			n.mu.Lock()
			first := !n.missing[v]
			n.missing[v] = true
			n.mu.Unlock()
			if first {
				n.warn(fmt.Sprintf("notification %s: $%s is not set; nothing is sent to it", s.Name, v))
			}
			return
		}
	}
	body, err := json.Marshal(m)
	sender := webhook.Sender{Client: n.opts.Client, Timeout: Timeout, Retries: Retries, UserAgent: "ramp-notify"}
	if s.Type == TypeSlack {
		body, err = m.slackBody()
	} else {
		sender.Secret = n.opts.Secret
	}
	if err != nil { // strings and numbers only: cannot happen
		n.warn(fmt.Sprintf("notification %s: encode the %s message: %v", s.Name, m.Event, err))
		return
	}
	if res := sender.Send(n.ctx, url, body); res.Err != nil {
		n.warn(fmt.Sprintf("notification %s: the %s message was not sent: %v", s.Name, m.Event, res.Err))
	}
}

func (n *Notifier) warn(msg string) {
	if n.opts.Warn != nil {
		n.opts.Warn(msg)
	}
}

// events are the events s is sent on.
func (s Spec) events() []string {
	if len(s.Events) == 0 {
		return DefaultEvents
	}
	return s.Events
}
