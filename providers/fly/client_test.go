package fly

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
)

// TestClientAuthScheme checks the Authorization the fake receives for each
// kind of token, and that the token never shows in an error.
func TestClientAuthScheme(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, scheme string
	}{
		{"plain token", "fo1_secret", "Bearer"},
		{"macaroon", "FlyV1 fm2_secret", "FlyV1"},
		{"surrounding spaces", "  fo1_secret\n", "Bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := fake.NewWorld()
			w.CreateApp("web", "acme")
			w.RequireToken(strings.TrimPrefix(strings.TrimSpace(tc.token), "FlyV1 "))
			c, err := NewClient("http://fake.invalid", tc.token, fake.Doer{W: w})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.App(t.Context(), "web"); err != nil {
				t.Fatal(err)
			}
			if got := w.AuthSchemes(); len(got) != 1 || got[0] != tc.scheme {
				t.Errorf("schemes %q, want %s", got, tc.scheme)
			}
			w.RequireToken("another")
			_, err = c.App(t.Context(), "web")
			if !errors.Is(err, providers.ErrPermission) || strings.Contains(err.Error(), "secret") {
				t.Errorf("wrong token: %v", err)
			}
		})
	}
}

// TestClientBadSetup names a missing token and a bad base URL.
func TestClientBadSetup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base, token string
		want        error
	}{
		{"", "", providers.ErrPermission},
		{"ftp://x", "t", providers.ErrInvalid},
		{"api.machines.dev", "t", providers.ErrInvalid},
	} {
		if _, err := NewClient(tc.base, tc.token, nil); !errors.Is(err, tc.want) {
			t.Errorf("NewClient(%q, %q): %v, want %v", tc.base, tc.token, err, tc.want)
		}
	}
}

// TestClientRetries retries 408, 429 and 5xx with backoff and gives up on
// any other failure at once.
func TestClientRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		statuses []int
		calls    int
		want     error
		took     time.Duration
	}{
		{"transient then success", []int{503, 429, 408}, 4, nil, 3500 * time.Millisecond},
		{"not found at once", []int{404}, 1, providers.ErrNotFound, 0},
		{"conflict at once", []int{409}, 1, providers.ErrConflict, 0},
		{"five 502s give up", []int{502, 502, 502, 502, 502}, 5, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				w := fake.NewWorld()
				w.CreateApp("web", "acme")
				w.Fail("machines.list", tc.statuses...)
				c, _ := NewClient("", "tok", fake.Doer{W: w})
				start := time.Now()
				_, err := c.List(t.Context(), "web")
				if got := w.Calls()["machines.list"]; got != tc.calls {
					t.Errorf("%d calls, want %d", got, tc.calls)
				}
				var ae *APIError
				switch {
				case tc.name == "five 502s give up":
					if !errors.As(err, &ae) || ae.Status != 502 {
						t.Errorf("err %v, want the last 502", err)
					}
				case !errors.Is(err, tc.want) || (tc.want == nil && err != nil):
					t.Errorf("err %v, want %v", err, tc.want)
				}
				if tc.took > 0 && time.Since(start) != tc.took {
					t.Errorf("took %s, want %s", time.Since(start), tc.took)
				}
			})
		})
	}
}

// TestClientWaitLoopsOn408 waits past several of the API's 60s wait
// timeouts for a machine that takes three minutes to start.
func TestClientWaitLoopsOn408(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := fake.NewWorld()
		w.CreateApp("web", "acme")
		w.SetDelays(3*time.Minute, time.Second)
		c, _ := NewClient("", "tok", fake.Doer{W: w})
		m, err := c.Create(t.Context(), "web", LaunchInput{Config: Config(fake.Config("img:v2", "app")), Region: "ams"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := c.Wait(t.Context(), "web", m.ID, m.InstanceID, "started"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 3*time.Minute {
			t.Errorf("waited %s, want 3m", d)
		}
		if n := w.Calls()["wait"]; n != 3 {
			t.Errorf("%d wait calls, want 3 (two 408s)", n)
		}
		if err := c.Destroy(t.Context(), "web", m.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := c.Destroy(t.Context(), "web", m.ID, ""); err != nil {
			t.Errorf("destroy again: %v", err)
		}
	})
}

// TestClientLeases takes a lease, is refused a second one, writes with the
// nonce, and releases it.
func TestClientLeases(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := fake.NewWorld()
		w.CreateApp("web", "acme")
		id, _ := w.Launch("web", "ams", fake.Config("img:v1", "app"))
		c, _ := NewClient("", "tok", fake.Doer{W: w})
		ctx := t.Context()
		l, err := c.AcquireLease(ctx, "web", id, "", time.Minute)
		if err != nil || l.Nonce == "" || !l.ExpiresAt.After(time.Now()) {
			t.Fatalf("lease %+v, %v", l, err)
		}
		if _, err := c.AcquireLease(ctx, "web", id, "", time.Minute); !errors.Is(err, providers.ErrConflict) {
			t.Errorf("second lease: %v", err)
		}
		if err := c.Cordon(ctx, "web", id, ""); !errors.Is(err, providers.ErrConflict) {
			t.Errorf("cordon without the nonce: %v", err)
		}
		for _, err := range []error{c.Cordon(ctx, "web", id, l.Nonce), c.SetMetadata(ctx, "web", id, l.Nonce, "k", "v"),
			c.ReleaseLease(ctx, "web", id, l.Nonce), c.Uncordon(ctx, "web", id, "")} {
			if err != nil {
				t.Error(err)
			}
		}
		m, err := c.Get(ctx, "web", id)
		if err != nil || m.Config.Metadata()["k"] != "v" || m.Cordoned || len(m.Checks) != 1 || m.Checks[0].Status != "passing" {
			t.Errorf("machine %+v, %v", m, err)
		}
		if w.Calls()["cordon"] != 2 {
			t.Errorf("calls %v", w.Calls())
		}
	})
}
