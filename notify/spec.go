// Package notify tells people how a rollout went where they already look:
// Slack-compatible incoming webhooks and generic JSON webhooks, on start,
// each step (optional), promotion, rollback and pause.
package notify

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
)

// The notification types.
const (
	// TypeSlack posts a Slack-compatible incoming-webhook message.
	TypeSlack = "slack"
	// TypeWebhook posts a JSON document describing the event.
	TypeWebhook = "webhook"
)

// The events a notification can be sent on.
const (
	EventStarted    = "started"
	EventStep       = "step"
	EventPromoted   = "promoted"
	EventRolledBack = "rolled-back"
	EventPaused     = "paused"
	EventFailed     = "failed"
)

// Events lists every event, in the order a rollout meets them.
var Events = []string{EventStarted, EventStep, EventPromoted, EventRolledBack, EventPaused, EventFailed}

// DefaultEvents are the events sent when a notification names none: every
// one but each step.
var DefaultEvents = []string{EventStarted, EventPromoted, EventRolledBack, EventPaused, EventFailed}

// envRef is a URL written as a reference to an environment variable:
// $NAME or ${NAME}.
var envRef = regexp.MustCompile(`^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$`)

// Spec is one notification (a notifications entry in ramp.yaml).
type Spec struct {
	// Name names the notification in warnings.
	Name string `yaml:"name" json:"name"`
	// Type is slack or webhook.
	Type string `yaml:"type" json:"type"`
	// URL is where it is posted: an http(s) URL, or $NAME / ${NAME} to read
	// it from the environment when sent (an incoming-webhook URL is a
	// secret: keep it out of the file).
	URL string `yaml:"url" json:"url"`
	// Events are the events it is sent on; empty is DefaultEvents.
	Events []string `yaml:"events" json:"events,omitempty"`
}

// EnvVar is the environment variable the URL names, "" when the URL is
// written out.
func (s Spec) EnvVar() string {
	if !envRef.MatchString(s.URL) {
		return ""
	}
	return strings.Trim(s.URL, "${}")
}

// Validate names every bad field.
func (s Spec) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, input.Invalid("name", "", "is required"))
	}
	if s.Type != TypeSlack && s.Type != TypeWebhook {
		errs = append(errs, input.Invalid("type", s.Type, "must be %s or %s", TypeSlack, TypeWebhook))
	}
	if s.EnvVar() == "" {
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, input.Invalid("url", s.URL, "must be an http(s) URL, or $NAME to read it from the environment"))
		}
	}
	for _, e := range s.Events {
		if !slices.Contains(Events, e) {
			errs = append(errs, input.Invalid("events", e, "is not an event; the events are %s", strings.Join(Events, ", ")))
		}
	}
	return errors.Join(errs...)
}
