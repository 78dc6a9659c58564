package flag

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// unleashNameMax is the longest name Unleash takes for a context field.
const unleashNameMax = 100

// lockName is the context field that is the lock:
// ramp-lock.<feature>.<environment>, or a digest of the two when that is
// longer than Unleash allows.
func (u *Unleash) lockName() string {
	if name := "ramp-lock." + u.flag + "." + u.env; len(name) <= unleashNameMax {
		return name
	}
	return fmt.Sprintf("ramp-lock.%x", sha256.Sum256([]byte(u.flag+"\n"+u.env)))[:len("ramp-lock.")+40]
}

// lock creates the lock's context field, which fails for all writers but
// one. A lock held past its time (its holder died mid-write) is broken by
// one waiter only (breakExpired); while a live one is held, it waits up
// to a lock's time. unlock removes the field only while it is still this
// writer's.
func (u *Unleash) lock(ctx context.Context) (unlock func(), err error) {
	name := u.lockName()
	deadline := u.now().Add(u.lockTTL + 5*time.Second)
	for {
		until := u.now().Add(u.lockTTL).UTC()
		mine := "ramp: " + u.holder + " writes the rollout record of " + u.flag + " until " + until.Format(time.RFC3339)
		took, err := u.createField(ctx, name, mine)
		if err != nil {
			return nil, fmt.Errorf("take the lock (context field %s): %w", name, err)
		}
		if took {
			return func() { u.release(context.WithoutCancel(ctx), name, mine) }, nil
		}
		held, gerr := u.fieldDescription(ctx, name)
		if gerr == nil {
			if at, ok := lockUntil(held); ok && u.now().After(at) {
				broke, err := u.breakExpired(ctx, name, held, at)
				if err != nil {
					return nil, err
				}
				if broke {
					continue
				}
			}
		}
		if !u.now().Before(deadline) {
			return nil, fmt.Errorf("%w: the lock on the rollout record (context field %s) is held by another writer (%s) for over %s",
				providers.ErrConflict, name, held, u.lockTTL)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(u.lockPoll):
		}
	}
}

// lockUntil is the time a lock's description says it is held until.
func lockUntil(desc string) (time.Time, bool) {
	_, at, _ := strings.Cut(desc, " until ")
	t, err := time.Parse(time.RFC3339, at)
	return t, err == nil
}

// breakExpired removes the lock name, held past at with description held,
// when this writer wins the right to: it creates a break marker named for
// that very lock and for the lock's time since it expired, which only one
// writer can create. Deleting the expired field directly let two writers
// that found it at once both take the lock: the second deleted the one
// the first had just created. The winner removes the lock only if it is
// still the expired one, then its marker; a marker left by a writer that
// died meanwhile is passed over a lock's time later (the next period has
// another name). It reports whether this writer broke the lock.
func (u *Unleash) breakExpired(ctx context.Context, name, held string, at time.Time) (bool, error) {
	period := int64(u.now().Sub(at) / u.lockTTL)
	marker := fmt.Sprintf("ramp-lock-break.%x.%d", sha256.Sum256([]byte(name+"\n"+held)), period)
	desc := "ramp: " + u.holder + " breaks " + name + ", held past its time: " + held
	switch took, err := u.createField(ctx, marker, desc); {
	case err != nil:
		return false, fmt.Errorf("break the expired lock (context field %s): %w", name, err)
	case !took:
		return false, nil // another writer breaks it
	}
	defer u.deleteField(context.WithoutCancel(ctx), marker)
	now, err := u.fieldDescription(ctx, name)
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("break the expired lock (context field %s): %w", name, err)
	case now == held:
		u.deleteField(ctx, name)
	}
	return true, nil
}

// createField creates context field name with description desc and
// reports whether this writer created it; false when it exists already.
// Unleash checks for the name, then inserts: of two writers creating it
// at once, the second gets a 500 from its database's unique key, not a
// 409. After a 5xx the field is read: there with desc, this writer made
// it; there with another, the other writer did.
func (u *Unleash) createField(ctx context.Context, name, desc string) (bool, error) {
	err := u.api.do(ctx, http.MethodPost, "/api/admin/context", "application/json", map[string]any{"name": name, "description": desc}, nil)
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status >= http.StatusInternalServerError {
		if now, gerr := u.fieldDescription(ctx, name); gerr == nil {
			return now == desc, nil
		}
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, providers.ErrConflict):
		return false, nil
	}
	return false, err
}

// release removes the lock name if it still has description mine: a
// writer whose lock expired and was taken leaves the new holder's alone.
func (u *Unleash) release(ctx context.Context, name, mine string) {
	if held, err := u.fieldDescription(ctx, name); err == nil && held == mine {
		u.deleteField(ctx, name) // one left behind expires
	}
}

// fieldDescription reads a context field's description.
func (u *Unleash) fieldDescription(ctx context.Context, name string) (string, error) {
	var f struct {
		Description string `json:"description"`
	}
	err := u.api.do(ctx, http.MethodGet, "/api/admin/context/"+url.PathEscape(name), "", nil, &f)
	return f.Description, err
}

// deleteField removes a context field; a failure leaves it to expire.
func (u *Unleash) deleteField(ctx context.Context, name string) {
	_ = u.api.do(ctx, http.MethodDelete, "/api/admin/context/"+url.PathEscape(name), "", nil, nil)
}
