package flag

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// Webhook drives a flag kept by any other service through one JSON
// endpoint (flag-url), which must answer three requests, each naming the
// flag and the environment:
//
//	GET  <url>?flag=<flag>&environment=<env>
//	     200 {"percentage": 25, "record": "<the record last stored, or empty>"}
//	     (404 for an unknown flag)
//	POST <url> {"flag": "...", "environment": "...", "percentage": 25}
//	     2xx once the flag serves that percentage
//	PUT  <url> {"flag": "...", "environment": "...", "record": "<new>", "previous": "<expected>"}
//	     2xx once stored; 409 (nothing stored) when the stored record is
//	     not "previous": the compare-and-set that keeps two processes from
//	     overwriting each other
//
// The record is an opaque string to the webhook, kept verbatim. With a
// token, every request carries Authorization: Bearer <token>.
type Webhook struct {
	api       api
	flag, env string
}

var _ Backend = (*Webhook)(nil)

func newWebhook(f providers.FlagTarget, hc *http.Client) (Backend, error) {
	return NewWebhook(f, hc), nil
}

// NewWebhook is the webhook backend for f.
func NewWebhook(f providers.FlagTarget, hc *http.Client) *Webhook {
	token := f.Token
	return &Webhook{
		api: api{name: "flag webhook", base: strings.TrimRight(f.URL, "/"), hc: hc, auth: func(r *http.Request) {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
		}},
		flag: f.Name, env: f.Environment,
	}
}

// webhookFlag is the webhook's answer to GET.
type webhookFlag struct {
	Percentage *int   `json:"percentage"`
	Record     string `json:"record"`
}

// Read asks the webhook for the flag's percentage and record.
func (w *Webhook) Read(ctx context.Context) (Flag, error) {
	var out webhookFlag
	q := "?flag=" + url.QueryEscape(w.flag) + "&environment=" + url.QueryEscape(w.env)
	if err := w.api.do(ctx, http.MethodGet, q, "", nil, &out); err != nil {
		return Flag{}, err
	}
	if out.Percentage == nil {
		return Flag{}, fmt.Errorf("%w: the flag webhook's answer has no percentage", providers.ErrInvalid)
	}
	return Flag{Percent: *out.Percentage, Record: out.Record}, nil
}

// SetPercent posts the percentage.
func (w *Webhook) SetPercent(ctx context.Context, pct int) error {
	return w.api.do(ctx, http.MethodPost, "", "application/json", map[string]any{"flag": w.flag, "environment": w.env, "percentage": pct}, nil)
}

// StoreRecord puts the record, compare-and-set against previous.
func (w *Webhook) StoreRecord(ctx context.Context, prev, next string) error {
	err := w.api.do(ctx, http.MethodPut, "", "application/json", map[string]any{"flag": w.flag, "environment": w.env, "record": next, "previous": prev}, nil)
	if errors.Is(err, providers.ErrConflict) {
		return fmt.Errorf("%w: %w", providers.ErrStale, err)
	}
	return err
}
