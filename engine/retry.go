package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// Backoff retries provider calls with exponential backoff and full jitter.
type Backoff struct {
	// Attempts is the most calls made, the first included.
	Attempts int
	// Base is the first wait's upper bound; it doubles up to Max.
	Base time.Duration
	Max  time.Duration
}

// DefaultBackoff tries 5 times over about 6 s at most.
var DefaultBackoff = Backoff{Attempts: 5, Base: 200 * time.Millisecond, Max: 3 * time.Second}

// do calls fn until it succeeds, fails permanently, runs out of attempts or
// ctx ends; warn hears of every failed attempt that will be retried.
func (b Backoff) do(ctx context.Context, what string, warn func(string), fn func(context.Context) error) error {
	wait := b.Base
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(ctx)
		if err == nil || providers.Permanent(err) || attempt >= max(b.Attempts, 1) || ctx.Err() != nil {
			break
		}
		d := rand.N(wait) + time.Millisecond
		warn(fmt.Sprintf("%s failed (attempt %d of %d), retrying in %s: %v", what, attempt, b.Attempts, d.Round(time.Millisecond), err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, err)
		case <-time.After(d):
		}
		wait = min(2*wait, b.Max)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
