// Package hooks calls a rollout's webhooks, Flagger's set (see
// gates.HookTypes): it posts a JSON payload describing the rollout to each
// webhook of a type, signed with the shared secret when one is set, each
// call bounded by the webhook's timeout and retries, and returns their
// answers. What an answer means (go, hold, roll back, nothing) is the
// engine's to decide; the rollout webhooks are gates (see Gates).
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/webhook"
)

// Payload is the JSON document every webhook receives.
type Payload struct {
	// Name is the webhook's name; Type its type (when it is called).
	Name string `json:"name"`
	Type string `json:"type"`
	// Service and RolloutID identify the rollout; Commit is the commit
	// its candidate was built from.
	Service   string `json:"service"`
	RolloutID string `json:"rollout_id"`
	Commit    string `json:"commit,omitempty"`
	// Candidate and Stable are the revisions; Stable is empty on a first
	// deploy.
	Candidate string `json:"candidate"`
	Stable    string `json:"stable,omitempty"`
	// Weight is the candidate's share of the traffic now, in percent;
	// NextWeight the share a confirm-traffic-increase or
	// confirm-promotion asks to go to.
	Weight     int `json:"weight"`
	NextWeight int `json:"next_weight,omitempty"`
	// Metadata is the webhook's metadata, as configured.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Timestamp is when the call was made.
	Timestamp time.Time `json:"timestamp"`
}

// Rollout identifies the rollout the webhooks are told about.
type Rollout struct {
	Service, ID, Commit string
}

// Target is where the rollout stands when its webhooks are called.
type Target struct {
	Candidate, Stable string
	Weight            int
	// Next is the weight a confirm-traffic-increase or confirm-promotion
	// asks to go to; 0 for the other types.
	Next int
}

// Answer is one webhook's answer to one call.
type Answer struct {
	// Hook is the webhook's name; Type its type.
	Hook string `json:"hook"`
	Type string `json:"type"`
	// OK is set when it answered 2xx.
	OK bool `json:"ok"`
	// Status is the last answer's HTTP status; 0 when none came.
	Status int `json:"status,omitempty"`
	// Attempts counts the requests made; Took the time they took.
	Attempts int           `json:"attempts"`
	Took     time.Duration `json:"took"`
	// Message is the start of the answer's body, on one line, or why no
	// answer came.
	Message string `json:"message,omitempty"`
}

// Explain is the answer in a few words, e.g. "answered 403 after 1
// attempt: not yet".
func (a Answer) Explain() string {
	what := "no answer"
	if a.Status != 0 {
		what = fmt.Sprintf("answered %d", a.Status)
	}
	s := fmt.Sprintf("%s after %d attempt", what, a.Attempts)
	if a.Attempts != 1 {
		s += "s"
	}
	if !a.OK && a.Message != "" {
		s += ": " + a.Message
	}
	return s
}

// Options configure a Set.
type Options struct {
	// Client makes the requests; nil is a client of its own.
	Client *http.Client
	// Secret signs every call (the webhook-secret option); empty sends
	// them unsigned.
	Secret string
	// Backoff is the longest first wait between retries; zero is
	// webhook.DefaultBackoff.
	Backoff time.Duration
}

// Set is a rollout's webhooks. It is safe for concurrent use.
type Set struct {
	specs   []gates.WebhookSpec
	rollout Rollout
	opts    Options
}

// New returns the webhooks of specs (validated already: see
// gates.Spec.Validate) for rollout r.
func New(specs []gates.WebhookSpec, r Rollout, o Options) *Set {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	return &Set{specs: specs, rollout: r, opts: o}
}

// Call calls every webhook of type kind, in order, about the rollout at
// t, and returns their answers; none when no webhook has that type. Each
// call is bounded by its webhook's timeout and retries.
func (s *Set) Call(ctx context.Context, kind string, t Target) []Answer {
	var out []Answer
	for _, w := range s.specs {
		if w.Type == kind {
			out = append(out, s.call(ctx, w, t))
		}
	}
	return out
}

// call calls one webhook.
func (s *Set) call(ctx context.Context, w gates.WebhookSpec, t Target) Answer {
	p := Payload{Name: w.Name, Type: w.Type, Service: s.rollout.Service, RolloutID: s.rollout.ID, Commit: s.rollout.Commit,
		Candidate: t.Candidate, Stable: t.Stable, Weight: t.Weight, NextWeight: t.Next, Metadata: w.Metadata,
		Timestamp: time.Now().UTC()}
	body, err := json.Marshal(p)
	if err != nil { // strings and numbers only: cannot happen
		return Answer{Hook: w.Name, Type: w.Type, Message: fmt.Sprintf("encode the payload: %v", err)}
	}
	res := s.sender(w).Send(ctx, w.URL, body)
	a := Answer{Hook: w.Name, Type: w.Type, OK: res.OK(), Status: res.Status, Attempts: res.Attempts, Took: res.Took,
		Message: oneLine(res.Body, 200)}
	if res.Err != nil && res.Status == 0 { // no answer: why
		a.Message = errors.Unwrap(res.Err).Error()
	}
	return a
}

// sender is the webhook's sender: its timeout and retries.
func (s *Set) sender(w gates.WebhookSpec) webhook.Sender {
	timeout, retries := w.Timeout, gates.DefaultHookRetries
	if timeout <= 0 {
		timeout = gates.DefaultHookTimeout
	}
	if w.Retries != nil {
		retries = *w.Retries
	}
	return webhook.Sender{Client: s.opts.Client, Secret: s.opts.Secret, Timeout: timeout, Retries: retries,
		Backoff: s.opts.Backoff, UserAgent: "ramp-webhook"}
}

// Gates are the rollout webhooks as gates, in order: each is called at
// every check of an analyze or bake step. A 2xx passes; any other answer
// after the retries fails the check (counted against failure-threshold);
// no answer at all is an error (counted against error-threshold).
func (s *Set) Gates() []gates.Gate {
	var out []gates.Gate
	for _, w := range s.specs {
		if w.Type == gates.HookRollout {
			out = append(out, Gate{set: s, spec: w})
		}
	}
	return out
}

// Gate is a rollout webhook checked as a gate.
type Gate struct {
	set  *Set
	spec gates.WebhookSpec
}

var _ gates.Gate = Gate{}

// Name names the gate "webhook <name>".
func (g Gate) Name() string { return "webhook " + g.spec.Name }

// Check calls the webhook once, with its retries.
func (g Gate) Check(ctx context.Context, t gates.Target) gates.Result {
	at := Target{Candidate: t.Candidate.ID, Weight: t.Weight}
	if t.Stable != nil {
		at.Stable = t.Stable.ID
	}
	a := g.set.call(ctx, g.spec, at)
	r := gates.Result{Gate: g.Name(), Value: float64(a.Status), Threshold: "2xx", Query: "POST " + webhook.Redact(g.spec.URL),
		Window: t.Window, Samples: int64(a.Attempts), Outcome: gates.Successful}
	switch {
	case a.OK:
	case a.Status != 0:
		r.Outcome, r.Message = gates.Failed, a.Message
	default:
		r.Outcome, r.Message = gates.Error, a.Message
	}
	return r
}

// oneLine is s on one line, cut to at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
