package hooks_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/hooks"
	"github.com/ramp-deploy/ramp/internal/pipenet"
	"github.com/ramp-deploy/ramp/internal/webhook"
	"github.com/ramp-deploy/ramp/providers"
)

// verify is the receiver's check, as the README shows it (a test below
// holds the README to this very text).
func verify(r *http.Request, secret []byte) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	ts := r.Header.Get("X-Ramp-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return nil, errors.New("missing or stale timestamp")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Ramp-Signature"))) {
		return nil, errors.New("bad signature")
	}
	return body, nil
}

func TestTheREADMEShowsThisReceiver(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("hooks_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(src, []byte("func verify("))
	end := start + bytes.Index(src[start:], []byte("\n}\n")) + 3
	if !bytes.Contains(readme, src[start:end]) {
		t.Errorf("README.md does not show the receiver's check verbatim:\n%s", src[start:end])
	}
}

// signed is a request as a receiver got it.
type signed struct {
	header http.Header
	body   []byte
}

func (s signed) request(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header = s.header.Clone()
	return r
}

func TestReceiverVerifiesTheSignature(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	var mu sync.Mutex
	var got []signed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, signed{r.Header.Clone(), raw})
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if _, err := verify(r, secret); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	specs := []gates.WebhookSpec{{Name: "approve", Type: gates.HookConfirmPromotion, URL: srv.URL + "/approve"}}
	at := hooks.Target{Candidate: "v2", Stable: "v1", Weight: 50, Next: 100}

	a := hooks.New(specs, hooks.Rollout{Service: "web", ID: "r1"}, hooks.Options{Secret: string(secret)}).Call(t.Context(), gates.HookConfirmPromotion, at)
	if len(a) != 1 || !a[0].OK {
		t.Fatalf("signed with the shared secret: %+v, want accepted", a)
	}
	a = hooks.New(specs, hooks.Rollout{Service: "web", ID: "r1"}, hooks.Options{Secret: "other"}).Call(t.Context(), gates.HookConfirmPromotion, at)
	if len(a) != 1 || a[0].OK || a[0].Status != http.StatusUnauthorized || a[0].Attempts != 1 || a[0].Message != "bad signature" {
		t.Fatalf("signed with another secret: %+v, want refused at once (401 is final)", a)
	}

	mu.Lock()
	good := got[0]
	mu.Unlock()
	old := strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10)
	replayed := signed{good.header.Clone(), good.body}
	replayed.header.Set("X-Ramp-Timestamp", old)
	replayed.header.Set("X-Ramp-Signature", webhook.Sign(string(secret), old, good.body))
	cases := []struct {
		name string
		req  *http.Request
		err  string
	}{
		{"as sent", good.request(good.body), ""},
		{"tampered body", good.request(bytes.Replace(good.body, []byte(`"weight":50`), []byte(`"weight":51`), 1)), "bad signature"},
		{"stale timestamp, signed anew", replayed.request(good.body), "missing or stale timestamp"},
		{"no signature", signed{http.Header{}, good.body}.request(good.body), "missing or stale timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := verify(c.req, secret)
			if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
				t.Errorf("verify: %v, want %q", err, c.err)
			}
		})
	}
}

// server starts handler on an in-memory server inside a synctest bubble;
// its URL is http://hooks.test.
func server(t *testing.T, handler http.Handler) *http.Client {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	_ = srv.Listener.Close() // the loopback listener is not used
	l := pipenet.Listen("hooks.test")
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{DialContext: l.Dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &http.Client{Transport: tr}
}

// counting answers every call with status (0 hangs) and keeps the payloads.
type counting struct {
	status int
	mu     sync.Mutex
	calls  []hooks.Payload
	header []http.Header
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p hooks.Payload
	_ = json.NewDecoder(r.Body).Decode(&p)
	c.mu.Lock()
	c.calls, c.header = append(c.calls, p), append(c.header, r.Header.Clone())
	c.mu.Unlock()
	if c.status == 0 {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(c.status)
	_, _ = w.Write([]byte("  not\nyet  "))
}

// seen returns the payloads and headers so far.
func (c *counting) seen() ([]hooks.Payload, []http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls), slices.Clone(c.header)
}

func TestRolloutWebhookIsAGate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		retries  int
		outcome  gates.Outcome
		attempts int
		message  string
	}{
		{"2xx passes", http.StatusNoContent, 2, gates.Successful, 1, ""},
		{"5xx after the retries fails the check", http.StatusBadGateway, 2, gates.Failed, 3, "not yet"},
		{"4xx fails the check at once", http.StatusNotFound, 2, gates.Failed, 1, "not yet"},
		{"no answer is an error", 0, 1, gates.Error, 2, "no answer within 2s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := &counting{status: c.status}
				spec := gates.WebhookSpec{Name: "smoke", Type: gates.HookRollout, URL: "http://hooks.test/smoke/SECRET", Timeout: 2 * time.Second,
					Retries: &c.retries, Metadata: map[string]string{"suite": "smoke"}}
				set := hooks.New([]gates.WebhookSpec{spec, {Name: "other", Type: gates.HookPreRollout, URL: "http://hooks.test/x"}},
					hooks.Rollout{Service: "web", ID: "r1", Commit: "abc"}, hooks.Options{Client: server(t, h)})
				gs := set.Gates()
				if len(gs) != 1 || gs[0].Name() != "webhook smoke" {
					t.Fatalf("gates %v, want the one rollout webhook", gs)
				}
				start := time.Now()
				res := gs[0].Check(t.Context(), gates.Target{Candidate: providers.Revision{ID: "v2"}, Stable: &providers.Revision{ID: "v1"},
					Weight: 10, Window: time.Minute})
				calls, header := h.seen()
				if res.Outcome != c.outcome || res.Samples != int64(c.attempts) || len(calls) != c.attempts || !strings.Contains(res.Message, c.message) {
					t.Errorf("result %+v after %d calls, want %s after %d (%q)", res, len(calls), c.outcome, c.attempts, c.message)
				}
				bound := time.Duration(c.retries+1)*spec.Timeout + time.Duration(c.retries)*webhook.DefaultBackoff*2
				if took := time.Since(start); took > bound {
					t.Errorf("took %s, more than timeout x attempts + backoff (%s)", took, bound)
				}
				if strings.Contains(gates.Explain(res), "SECRET") {
					t.Errorf("the result shows the URL's path: %s", gates.Explain(res))
				}
				p := calls[0]
				want := hooks.Payload{Name: "smoke", Type: gates.HookRollout, Service: "web", RolloutID: "r1", Commit: "abc",
					Candidate: "v2", Stable: "v1", Weight: 10, Metadata: map[string]string{"suite": "smoke"}, Timestamp: p.Timestamp}
				if !p.Timestamp.Equal(start.UTC()) || !equalPayload(p, want) {
					t.Errorf("payload %+v, want %+v", p, want)
				}
				if sig := header[0].Get("X-Ramp-Signature"); sig != "" {
					t.Errorf("signed (%s) without a secret", sig)
				}
			})
		})
	}
}

func equalPayload(a, b hooks.Payload) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestCallsOnlyTheWebhooksOfTheType(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := &counting{status: http.StatusOK}
		specs := []gates.WebhookSpec{
			{Name: "a", Type: gates.HookPostRollout, URL: "http://hooks.test/a"},
			{Name: "b", Type: gates.HookRollback, URL: "http://hooks.test/b"},
			{Name: "c", Type: gates.HookPostRollout, URL: "http://hooks.test/c"},
		}
		set := hooks.New(specs, hooks.Rollout{Service: "web", ID: "r1"}, hooks.Options{Client: server(t, h)})
		got := set.Call(t.Context(), gates.HookPostRollout, hooks.Target{Candidate: "v2"})
		if calls, _ := h.seen(); len(got) != 2 || got[0].Hook != "a" || got[1].Hook != "c" || len(calls) != 2 {
			t.Errorf("answers %+v, %d calls; want a then c", got, len(calls))
		}
		if got := set.Call(t.Context(), gates.HookConfirmRollout, hooks.Target{}); len(got) != 0 {
			t.Errorf("answers %+v for a type no webhook has", got)
		}
	})
}
