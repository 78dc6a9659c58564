package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/hooks"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/notify"
	"github.com/ramp-deploy/ramp/providers"
)

// withHooks gives e the webhooks of the rollout rec (specs, as its record
// stores them, so that every process acting on the rollout calls the same
// ones): e calls them at each phase, and the rollout webhooks join its
// gates. Calls are signed with webhook-secret when it is set.
func (a *app) withHooks(e *engine.Engine, specs []gates.WebhookSpec, rec providers.Rollout) *engine.Engine {
	if len(specs) == 0 {
		return e
	}
	set := hooks.New(specs, hooks.Rollout{Service: a.cfg.Target.Service, ID: rec.ID, Commit: rec.Commit},
		hooks.Options{Secret: a.cfg.WebhookSecret})
	e.Hooks = set
	e.Gates = append(slices.Clip(e.Gates), set.Gates()...)
	return e
}

// storedWebhooks are the webhooks the record of the rollout on st stores;
// none when it stores no settings it can read (the command then reports
// what it finds, as without webhooks).
func storedWebhooks(st providers.Status) []gates.WebhookSpec {
	if len(st.Rollout.Spec) == 0 {
		return nil
	}
	r, err := config.DecodeRollout(st.Rollout.Spec)
	if err != nil {
		return nil
	}
	return r.Gates.Webhooks
}

// notifyTimeout bounds the wait for the last notifications before exit;
// cancelNotifyTimeout replaces it when the run was cancelled.
const (
	notifyTimeout       = 15 * time.Second
	cancelNotifyTimeout = 2 * time.Second
)

// attachNotify adds the configuration file's notifications to the output:
// sent as the rollout goes, never holding it up; what could not be sent is
// a warning.
func (o *output) attachNotify(ctx context.Context) {
	a := o.a
	if len(a.cfg.Notifications) == 0 {
		return
	}
	n := notify.New(notify.Options{Specs: a.cfg.Notifications, Service: a.cfg.Target.Service, Getenv: a.env.Getenv,
		RunURL: notify.RunURL(a.env.Getenv), Secret: a.cfg.WebhookSecret, Warn: o.warn})
	o.extra = append(o.extra, n.Event)
	o.closers = append(o.closers, func() {
		timeout := notifyTimeout
		if ctx.Err() != nil { // cancelled: the runner kills the step ~10 s after its signal
			timeout = cancelNotifyTimeout
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			o.warn(err.Error())
		}
	})
	o.rebuild()
}

// notificationNotes says which notifications will not be sent from here
// because the variable their URL names is not set.
func (a *app) notificationNotes() []string {
	var out []string
	for _, s := range a.cfg.Notifications {
		if v := s.EnvVar(); v != "" && a.env.Getenv(v) == "" {
			out = append(out, fmt.Sprintf("notification %s: $%s is not set here, so nothing will be sent to it", s.Name, v))
		}
	}
	return out
}
