// Package webhook posts JSON documents to HTTP endpoints the way ramp's
// webhooks and notifications both need: signed with a shared secret when
// one is set, each attempt bounded by a timeout, and retried with
// exponential backoff and jitter on the failures worth retrying (no
// answer, 408, 429, 5xx), so that the whole send is bounded too.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The signature headers: X-Ramp-Timestamp is the Unix time of the attempt,
// in seconds; X-Ramp-Signature is "sha256=" and the hex HMAC-SHA256, keyed
// with the shared secret, of the timestamp, a '.' and the body.
const (
	SignatureHeader = "X-Ramp-Signature"
	TimestampHeader = "X-Ramp-Timestamp"
)

// Sign returns the X-Ramp-Signature value of body sent at timestamp (Unix
// seconds, as in X-Ramp-Timestamp) with secret.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Sender posts JSON bodies. Its zero value sends unsigned, once, with
// DefaultTimeout and http.DefaultClient.
type Sender struct {
	// Client makes the requests; nil is http.DefaultClient.
	Client *http.Client
	// Secret signs each attempt when set.
	Secret string
	// Timeout bounds one attempt; zero is DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a retryable failure is retried.
	Retries int
	// Backoff is the longest first wait between attempts (zero is
	// DefaultBackoff); it doubles up to MaxBackoff (zero: DefaultMaxBackoff).
	// Each wait is drawn between half and all of it (jitter).
	Backoff, MaxBackoff time.Duration
	// UserAgent is sent when set.
	UserAgent string
}

// Defaults of a Sender.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 10 * time.Second
)

// maxBody bounds how much of an answer is read and kept.
const maxBody = 512

// Response is how a send ended.
type Response struct {
	// Status is the last answer's HTTP status; 0 when none came.
	Status int
	// Body is the start of the last answer's body.
	Body string
	// Attempts counts the requests made.
	Attempts int
	// Took is the time from the first attempt to the end.
	Took time.Duration
	// Err says why the send did not get a 2xx answer; nil when it did.
	Err error
}

// OK reports whether the endpoint answered 2xx.
func (r Response) OK() bool { return r.Err == nil }

// Bound is the longest a send takes: every attempt timing out and the
// longest backoff between each.
func (s Sender) Bound() time.Duration {
	total := time.Duration(s.Retries+1) * s.timeout()
	wait := s.backoff()
	for range s.Retries {
		total += wait
		wait = min(2*wait, s.maxBackoff())
	}
	return total
}

// Send posts body to endpoint as JSON until it answers 2xx, a failure is
// final (a 4xx other than 408 and 429, or a malformed URL), the retries
// run out or ctx ends. Errors never contain the endpoint's path or
// query, which may hold a secret (an incoming-webhook URL).
func (s Sender) Send(ctx context.Context, endpoint string, body []byte) Response {
	start := time.Now()
	var res Response
	wait := s.backoff()
	for {
		res.Attempts++
		res.Status, res.Body, res.Err = s.attempt(ctx, endpoint, body)
		if res.Err == nil || !retryable(res.Status, res.Err) || res.Attempts > s.Retries || ctx.Err() != nil {
			break
		}
		d := wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		if ctx.Err() != nil {
			break
		}
		wait = min(2*wait, s.maxBackoff())
	}
	res.Took = time.Since(start)
	if res.Err != nil {
		res.Err = fmt.Errorf("POST %s: %w (%d attempts)", Redact(endpoint), res.Err, res.Attempts)
	}
	return res
}

// errBadURL is an endpoint no request can be made to; never retried.
var errBadURL = errors.New("not a valid URL")

// errStatus is a non-2xx answer.
type errStatus struct {
	status int
	body   string
}

func (e errStatus) Error() string {
	if e.body == "" {
		return fmt.Sprintf("answered %d", e.status)
	}
	return fmt.Sprintf("answered %d: %s", e.status, e.body)
}

// attempt makes one request under the per-attempt timeout.
func (s Sender) attempt(ctx context.Context, endpoint string, body []byte) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", errBadURL
	}
	req.Header.Set("Content-Type", "application/json")
	if s.UserAgent != "" {
		req.Header.Set("User-Agent", s.UserAgent)
	}
	if s.Secret != "" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(s.Secret, ts, body))
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok { // its message holds the whole URL
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", s.timeout(), err)
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	text := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, text, errStatus{resp.StatusCode, oneLine(text, 200)}
	}
	return resp.StatusCode, text, nil
}

// retryable says whether a failed attempt is worth another: no answer
// (but a malformed URL), 408, 429 or 5xx.
func retryable(status int, err error) bool {
	switch {
	case status == 0:
		return !errors.Is(err, errBadURL)
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// Redact shortens endpoint to its scheme and host: an incoming-webhook
// URL carries its secret in the path.
func Redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "(a malformed URL)"
	}
	if u.Path == "" || u.Path == "/" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (s Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func (s Sender) backoff() time.Duration {
	if s.Backoff > 0 {
		return min(s.Backoff, s.maxBackoff())
	}
	return min(DefaultBackoff, s.maxBackoff())
}

func (s Sender) maxBackoff() time.Duration {
	if s.MaxBackoff > 0 {
		return s.MaxBackoff
	}
	return DefaultMaxBackoff
}
