package ghub

import (
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/ramp-deploy/ramp/internal/ghub/ghubtest"
)

// testToken is the token the fake expects; it must never show up in a
// warning or a reply.
const testToken = ghubtest.Token

// callTimeout bounds each API call of the tests that talk to the fake over
// loopback, instead of DefaultTimeout (5s): it bounds a hang, not a slow
// answer on a loaded machine. (FindDeployment always uses DefaultTimeout.)
const callTimeout = time.Minute

// newClient returns the real go-github client, made by NewClient, pointed
// at the fake the way GITHUB_API_URL points it at a GitHub Enterprise
// Server.
func newClient(t *testing.T, f *ghubtest.Fake) *github.Client {
	t.Helper()
	c, err := NewClient(nil, testToken, f.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
